"""The lab DRBD daemon's ``drbdadm``/``drbdsetup``: the emulator's commands on the daemon's machine.

The demo pair and the lab answer these commands with one implementation
(:class:`hatui.emulator.drbd_commands.DrbdCommands`, formats in
:mod:`hatui.emulator.drbd_formats`), so hatui's parsers cannot tell them apart.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hatui.emulator.drbd_machine import DrbdMachine
from hatui.emulator.drbd_commands import DrbdCommands


class Sim:
    """What the emulator's formats read (:class:`~hatui.emulator.drbd_formats.MachineView`)."""

    def __init__(self, machine: DrbdMachine) -> None:
        self.drbd = machine

    def wall(self) -> float:
        return time.time()


class Shell:
    """drbdadm/drbdsetup on the lab daemon's machine."""

    def __init__(self, sim: Sim, node: str) -> None:
        self.commands = DrbdCommands(sim, node)

    def run(self, argv: list[str]) -> dict[str, Any]:
        prog, args = os.path.basename(argv[0]), list(argv[1:])
        if prog == "drbdadm":
            out, err, rc = self.commands.drbdadm(args)
        elif prog == "drbdsetup":
            out, err, rc = self.commands.drbdsetup(args)
        else:
            out, err, rc = "", f"{prog}: command not found\n", 127
        return {"rc": rc, "stdout": out, "stderr": err}
