"""The lab DRBD daemon's ``drbdadm``/``drbdsetup``: the demo node shell's commands on the daemon's machine.

The demo pair and the lab answer these commands with one implementation
(:class:`hatui.demo.node_commands.CommandsMixin`, formats in
:mod:`hatui.demo.formats`), so hatui's parsers cannot tell them apart.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hatui.emulator.drbd_machine import DrbdMachine
from hatui.demo.node_commands import DRBD_VERBS, CommandsMixin

VERBS = frozenset(DRBD_VERBS)


class Sim:
    """What :mod:`hatui.demo.formats` reads from a simulator: ``drbd`` and ``wall()``."""

    def __init__(self, machine: DrbdMachine) -> None:
        self.drbd = machine

    def wall(self) -> float:
        return time.time()


class Shell(CommandsMixin):
    """The demo node shell's drbdadm/drbdsetup, on the lab daemon's machine."""

    def __init__(self, sim: Sim, node: str) -> None:
        self.sim, self.node = sim, node  # type: ignore[assignment]

    def run(self, argv: list[str]) -> dict[str, Any]:
        prog, args = os.path.basename(argv[0]), list(argv[1:])
        if prog == "drbdadm":
            out, err, rc = self.cmd_drbdadm(args, "")
        elif prog == "drbdsetup":
            out, err, rc = self.cmd_drbdsetup(args, "")
        else:
            out, err, rc = "", f"{prog}: command not found\n", 127
        return {"rc": rc, "stdout": out, "stderr": err}


def is_mutating(argv: list[str]) -> bool:
    pos = [a for a in argv[1:] if not a.startswith("-")]
    return bool(pos) and pos[0] in VERBS
