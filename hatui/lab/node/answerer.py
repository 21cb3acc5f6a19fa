"""A lab node's resident answerer: the poll's read-only stand-in calls without a Python start each.

hatui's poll runs ``drbdsetup``, ``systemctl`` and ``exportfs`` on every node in
every cycle. On a real node those are C programs costing a few milliseconds; in
the lab they are Python programs (:mod:`hatui.lab.drbd.cli`,
:mod:`hatui.lab.node.systemctl`, :mod:`hatui.lab.node.exportfs`), each ~20–30 ms
of CPU just to start, and three at once on a 2-core machine cost their sum: the
lab's poll measured 1.75–2.7× its target for that reason alone.

So one resident process per node (``python -m hatui.lab.node.answerer``, started
at the node's boot beside the DRBD emulator) answers the read-only calls, with
the very same code those programs run. The stand-in wrappers
(:func:`hatui.lab.host.node_setup.write_wrappers`) send their argv with one
``nc -U`` and ``eval`` the reply; any call the answerer does not take, or no
answerer at all (the node still booting, the answerer killed), runs the Python
program as before. Only read-only calls are taken, and a call is refused before
anything runs, so running the program after a refusal never does anything twice.

Protocol, one call per connection on ``{run_dir}/answer.sock``:

* request: the argv, program name first (``drbdsetup``, ``drbdadm``,
  ``systemctl``, ``exportfs``), each word NUL-terminated, then EOF;
* reply: nothing (not taken here), or an ``sh`` script that prints the
  program's stdout and stderr (each quoted with :func:`shlex.quote`) and ends
  with the line ``exit RC # hatui-answer``; the wrapper evaluates only a reply
  that ends with that marker, so a reply cut short is never half-printed.

Taken:

* ``drbdadm``/``drbdsetup`` with a read-only verb (:data:`DRBD_READ_VERBS`;
  ``events2`` only with ``--now``): forwarded to the node's DRBD emulator as the
  same ``cmd`` request ``drbd_cli`` sends. With the emulator down or silent,
  not taken: the program prints DRBD's own "no module" error.
* ``systemctl`` with a read-only verb (:data:`SYSTEMCTL_READ_VERBS`):
  :func:`hatui.lab.node.systemctl.run`.
* ``exportfs`` listing (``-v`` or no option): :func:`hatui.lab.node.exportfs.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sys

from hatui.lab.drbd.api import request
from hatui.lab.node import exportfs, systemctl
from hatui.lab.node_env import NodeEnv, load_node_env

SOCKET_NAME = "answer.sock"
END = "# hatui-answer"
REQUEST_LIMIT = 64 * 1024
DRBD_TIMEOUT = 2.0  # as drbd_cli's for every read-only verb
DRBD_READ_VERBS = frozenset({"status", "show", "dump", "role", "cstate", "dstate", "events2", "show-gi", "get-gi",
                             "sh-resources", "sh-resource"})
SYSTEMCTL_READ_VERBS = frozenset({"show", "is-active", "is-failed", "status", "list-units"})

Result = tuple[str, str, int]


def socket_path(run_dir: str) -> str:
    return os.path.join(run_dir, SOCKET_NAME)


def _positional(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


def taken(argv: list[str]) -> bool:
    """Whether the answerer answers ``argv`` (program name first) rather than the program itself."""
    if not argv:
        return False
    prog, args = argv[0], argv[1:]
    verb = (_positional(args) or [""])[0]
    if prog in ("drbdadm", "drbdsetup"):
        return verb in DRBD_READ_VERBS and (verb != "events2" or "--now" in args)
    if prog == "systemctl":
        return verb in SYSTEMCTL_READ_VERBS
    if prog == "exportfs":
        return exportfs.lists(args)
    return False


def reply_script(result: Result) -> bytes:
    """The ``sh`` text the wrapper evaluates: the program's output, its exit code, the end marker."""
    out, err, rc = result
    lines = []
    if out:
        lines.append(f"printf '%s' {shlex.quote(out)}")
    if err:
        lines.append(f"printf '%s' {shlex.quote(err)} >&2")
    lines.append(f"exit {int(rc)} {END}")
    return ("\n".join(lines) + "\n").encode()


class Answerer:
    """Answers the read-only calls of one node (see the module docstring)."""

    def __init__(self, env: NodeEnv) -> None:
        self.env = env

    async def answer(self, argv: list[str]) -> Result | None:
        """The program's (stdout, stderr, rc) for ``argv``, or None when the program must run itself."""
        if not taken(argv):
            return None
        prog, args = argv[0], argv[1:]
        if prog == "systemctl":
            return systemctl.run(self.env, args)
        if prog == "exportfs":
            return exportfs.run(self.env, args)
        return await self._drbd(argv)

    async def _drbd(self, argv: list[str]) -> Result | None:
        try:  # the DRBD API's own client (blocking, bounded by its timeout), off the event loop
            reply = await asyncio.to_thread(request, self.env.drbd_socket, {"op": "cmd", "argv": argv}, DRBD_TIMEOUT)
        except OSError:  # DrbdApiError included: not running, silent, or a reply that is not an object
            return None
        if not isinstance(reply.get("rc"), int):
            return None
        return str(reply.get("stdout") or ""), str(reply.get("stderr") or ""), reply["rc"]

    async def serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = b""
        try:
            data = await asyncio.wait_for(reader.read(REQUEST_LIMIT + 1), 5.0)
            words = data.split(b"\0")
            if len(data) <= REQUEST_LIMIT and words[-1] == b"" and len(words) > 1:
                result = await self.answer([w.decode("utf-8", "surrogateescape") for w in words[:-1]])
                if result is not None:
                    writer.write(reply_script(result))
                    await writer.drain()
        except (OSError, asyncio.TimeoutError, UnicodeError):
            pass
        except Exception as exc:  # noqa: BLE001 - one bad call must not stop the node's answerer
            print(f"answerer: {argv_text(data)}: {exc!r}", file=sys.stderr, flush=True)
        finally:
            with contextlib.suppress(OSError):
                writer.close()


def argv_text(data: bytes) -> str:
    return " ".join(w.decode("utf-8", "replace") for w in data.split(b"\0") if w)[:200]


async def serve(env: NodeEnv) -> None:
    path = socket_path(env.run_dir)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = await asyncio.start_unix_server(Answerer(env).serve_one, path)
    async with server:
        await server.serve_forever()


def main() -> int:
    try:
        env = load_node_env()
    except (OSError, ValueError) as exc:
        print(f"answerer: no node settings: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
