"""Small pieces shared by the demo's command mixins."""

from __future__ import annotations

from hatui.probes.catalog import NODE_JOURNAL_PATH as JOURNAL_PATH

__all__ = ["JOURNAL_PATH", "KA_SIGNUM", "TOOLS", "Result", "ShellPart", "UsageError", "ok", "opt"]

Result = tuple[str, str, int]
KA_SIGNUM = "36"  # what `keepalived --signum=JSON` prints on Debian 12 (SIGRTMIN+2)
TOOLS = ("drbdadm", "drbdsetup", "ip", "systemctl", "mount", "umount", "findmnt", "lsblk", "exportfs",
          "pgrep", "keepalived", "airflow", "date", "cat", "kill")


class ShellPart:
    """One group of a node shell's commands (a component of :class:`~hatui.demo.node_shell.NodeShell`).

    Its ``cmd_NAME(args, stdin)`` methods go into the shell's command table; the
    node, the simulator and the shell's little state are read through the shell.
    """

    def __init__(self, shell) -> None:
        self.shell = shell

    @property
    def sim(self):
        return self.shell.sim

    @property
    def node(self) -> str:
        return self.shell.node

    @property
    def pid_file(self) -> str:
        return self.shell.pid_file

    @property
    def json_file(self) -> str:
        return self.shell.json_file

    @property
    def json_dumped(self) -> bool:
        return self.shell.json_dumped

    @json_dumped.setter
    def json_dumped(self, value: bool) -> None:
        self.shell.json_dumped = value

    def commands(self) -> dict[str, object]:
        """Command name → handler, for every ``cmd_*`` method (``cmd_hatui_sim`` answers ``hatui-sim``)."""
        return {name[4:]: getattr(self, name) for name in dir(type(self)) if name.startswith("cmd_")}


class UsageError(Exception):
    """Bad arguments: printed as ``NAME: message`` with exit code ``rc``."""

    def __init__(self, message: str, rc: int = 1) -> None:
        super().__init__(message)
        self.rc = rc


def ok(out: str = "") -> Result:
    return out, "", 0


def opt(args: list[str], *names: str) -> str | None:
    """Value of ``-o X`` / ``--output=X`` style options (last one wins)."""
    value = None
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                value = args[i + 1]
            elif n.startswith("--") and a.startswith(n + "="):
                value = a.split("=", 1)[1]
    return value
