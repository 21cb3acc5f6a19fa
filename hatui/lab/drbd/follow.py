"""The streaming request of the DRBD emulator's local API: ``drbdsetup events2`` that stays open.

Real ``drbdsetup events2`` (without ``--now``) prints the initial dump, ``exists -``,
and then a ``change``/``create``/``destroy``/``call``/``response`` line as each state
change happens, until it is killed. The lab's front end asks for that with::

    {"op":"follow","argv":["drbdsetup","events2","--timestamps","r0"]}

(``--timestamps``/``-T``, ``--statistics``/``-s``, ``--full``/``-f``: statistics and every
field group on each change line.)

and the daemon answers with one JSON header line, then plain text:

* the command is refused (``r9: No such resource``, exit 10 …): the header is the
  reply ``cmd`` would give (``{"rc":10,"stdout":"","stderr":"..."}``) and the
  connection closes;
* else ``{"rc":0,"follow":true}``, the dump's lines, and each new events2 line as
  the node's machine changes (:meth:`~hatui.emulator.drbd_events.Events2Stream.subscribe`,
  taken in the same step as the dump, so no change falls between them).

The stream ends when the client closes its end (the daemon then unsubscribes) or
the daemon stops.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

from hatui.emulator.drbd_events import Events2Stream

TIMESTAMPS, STATISTICS, FULL = ("--timestamps", "-T"), ("--statistics", "-s"), ("--full", "-f")  # as the demo's
MAX_QUEUED = 10_000  # lines a client that does not read may fall behind before it is dropped


def wants_follow(argv: list[str]) -> bool:
    """``drbdsetup events2`` without ``--now``: the command that keeps printing changes."""
    pos = [a for a in argv[1:] if not a.startswith("-")]
    return bool(argv) and argv[0].rsplit("/", 1)[-1] == "drbdsetup" and pos[:1] == ["events2"] \
        and "--now" not in argv


async def follow_events2(events: Events2Stream, node: str, argv: list[str], reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter, *, check: Callable[[list[str]], dict[str, Any]]) -> None:
    """Serve one follow request: ``check`` runs the command once (its refusal, if any, is the answer)."""
    reply = check(argv)
    if reply.get("rc") != 0:
        writer.write((json.dumps(reply) + "\n").encode())
        await writer.drain()
        return
    flags = set(argv[1:])
    timestamps, statistics, full = (bool(flags & set(f)) for f in (TIMESTAMPS, STATISTICS, FULL))
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def take(line: str) -> None:
        if queue.qsize() >= MAX_QUEUED:
            queue.put_nowait(None)  # the stream ends here ...
            raise OverflowError("events2 client does not read")  # ... and the machine drops this subscriber
        queue.put_nowait(line)

    unsubscribe = events.subscribe(take, node=node, timestamps=timestamps, statistics=statistics, full=full)
    dump = events.dump(node, statistics=statistics or full, timestamps=timestamps)
    gone = asyncio.create_task(_closed(reader, queue))
    try:
        writer.write((json.dumps({"rc": 0, "follow": True}) + "\n" + "".join(f"{line}\n" for line in dump)).encode())
        await writer.drain()
        while True:
            lines = [await queue.get()]
            while not queue.empty():
                lines.append(queue.get_nowait())
            if None in lines:
                return
            writer.write("".join(f"{line}\n" for line in lines).encode())
            await writer.drain()
    except (ConnectionError, OSError):
        return
    finally:
        unsubscribe()
        gone.cancel()


async def _closed(reader: asyncio.StreamReader, queue: asyncio.Queue) -> None:
    """The client sends nothing after its request: end of input means it went away."""
    try:
        while await reader.read(4096):
            pass
    except (ConnectionError, OSError):
        pass
    queue.put_nowait(None)
