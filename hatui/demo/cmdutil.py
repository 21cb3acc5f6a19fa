"""Small pieces shared by the demo's command mixins."""

from __future__ import annotations

from hatui.probes.catalog import NODE_JOURNAL_PATH as JOURNAL_PATH

__all__ = ["JOURNAL_PATH", "KA_SIGNUM", "TOOLS", "Result", "UsageError", "ok", "opt"]

Result = tuple[str, str, int]
KA_SIGNUM = "36"  # what `keepalived --signum=JSON` prints on Debian 12 (SIGRTMIN+2)
TOOLS = ("drbdadm", "drbdsetup", "ip", "systemctl", "mount", "umount", "findmnt", "lsblk", "exportfs",
          "pgrep", "keepalived", "airflow", "date", "cat", "kill")


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
