"""Commands that keep running on a simulated node: ``drbdsetup events2`` and ``tail -F`` on the kit journal.

The demo's SSH server (:mod:`hatui.demo.server`) asks the node's shell for a
:class:`Follow` before it runs a command the ordinary way. When there is one it
writes ``first`` at once, then, every tick, whatever :meth:`Follow.take`
returns, until the client closes the channel (or the node dies), and then
calls :meth:`Follow.close`. Everything else (``events2 --now``, ``tail -n N``)
stays a one-shot command of :class:`~hatui.demo.node_shell.NodeShell`.

* ``drbdsetup events2 [--timestamps] [--statistics] [--full] [all|RES]``: the
  dump, then the machine's change lines (:mod:`hatui.emulator.drbd_events`).
* ``tail [-n N] -F|-f|--follow[=name|descriptor] [--retry] JOURNAL``: the
  last N journal lines (10 by default, as tail), then each line the node kit
  (:mod:`hatui.demo.notify_kit`) appends, such as a keepalived transition.
"""

from __future__ import annotations

import json
import os
from typing import Protocol

from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.cmdutil import JOURNAL_PATH

EVENTS2_FLAGS = ("--timestamps", "--statistics", "--full", "-T", "-s", "-f")
TAIL_FOLLOW = ("-F", "-f", "--follow", "--follow=name", "--follow=descriptor")


class Follow(Protocol):
    """A running command's output: ``first`` at once, then what :meth:`take` returns, until :meth:`close`."""

    first: str

    def take(self) -> str: ...
    def close(self) -> None: ...


class Events2Follow:
    """``drbdsetup events2`` kept open: the dump, then every change line as the machine emits it."""

    def __init__(self, sim: ClusterSim, node: str, *, timestamps: bool, statistics: bool, full: bool) -> None:
        events = sim.drbd.events
        dump = events.dump(node, statistics=statistics or full, timestamps=timestamps, wall=sim.wall())
        self.first = "".join(line + "\n" for line in dump)
        self._lines: list[str] = []
        self._stop = events.subscribe(self._lines.append, node=node, timestamps=timestamps,
                                      statistics=statistics, full=full, wall=sim.wall)

    def take(self) -> str:
        text = "".join(line + "\n" for line in self._lines)
        self._lines.clear()  # in place: the subscription appends to this very list
        return text

    def close(self) -> None:
        self._stop()


class JournalFollow:
    """``tail -F`` on the node kit's journal: the last ``count`` entries, then each one appended."""

    def __init__(self, sim: ClusterSim, node: str, count: int) -> None:
        self._journal = sim.node(node).journal  # the list the kit appends to (trimmed in place)
        self.first = _lines(self._journal[-count:] if count else [])
        self._last = self._journal[-1] if self._journal else None

    def take(self) -> str:
        entries, start = self._journal, 0
        if self._last is not None:
            start = next((i + 1 for i in range(len(entries) - 1, -1, -1) if entries[i] is self._last), 0)
        new = entries[start:]
        if new:
            self._last = new[-1]
        return _lines(new)

    def close(self) -> None:
        return None


def _lines(entries: list) -> str:
    return "".join(json.dumps(e) + "\n" for e in entries)


def follow_command(sim: ClusterSim, node: str, argv: list[str]) -> Follow | None:
    """The :class:`Follow` for ``argv`` (prefixes already stripped), None for a one-shot command."""
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name == "drbdsetup" and argv[1:2] == ["events2"]:
        return _events2(sim, node, argv[2:])
    if name == "tail":
        return _tail(sim, node, argv[1:])
    return None


def _events2(sim: ClusterSim, node: str, args: list[str]) -> Follow | None:
    flags = [a for a in args if a.startswith("-")]
    pos = [a for a in args if not a.startswith("-")]
    if "--now" in flags or any(f not in EVENTS2_FLAGS for f in flags) or len(pos) > 1:
        return None  # --now is one-shot; anything else is drbdsetup's error, answered the ordinary way
    if pos and pos[0] not in ("all", sim.drbd.resource):
        return None
    return Events2Follow(sim, node, timestamps="--timestamps" in flags or "-T" in flags,
                         statistics="--statistics" in flags or "-s" in flags, full="--full" in flags or "-f" in flags)


def _tail(sim: ClusterSim, node: str, args: list[str]) -> Follow | None:
    count, files, follow, it = 10, [], False, iter(args)
    for arg in it:
        if arg in TAIL_FOLLOW:
            follow = True
        elif arg == "--retry":
            continue
        elif arg == "-n" or arg.startswith("-n"):
            value = next(it, "") if arg == "-n" else arg[2:]
            if not value.isdigit():
                return None  # tail's own error, answered the ordinary way
            count = int(value)
        elif arg.startswith("-"):
            return None
        else:
            files.append(arg)
    if not follow or files != [JOURNAL_PATH]:
        return None
    return JournalFollow(sim, node, count)
