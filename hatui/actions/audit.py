"""The audit log: append-only JSONL of every action, refused or run.

One file, ``paths.state_dir()/audit.jsonl``, one JSON object per line, each
with the local user and host, the time, the action and an ``action_id``
grouping the lines of one run:

* ``refused``: the plan and every refusal (guards, confirmation mismatch, lock);
* ``start``: the plan (every step and command) and the confirmation typed;
* ``command``: each command run, its node, exit code and an output excerpt
  (or the transport error when the node could not be asked);
* ``result``: how it ended (succeeded, failed at step N, rolled back, …).

Lines are only ever appended (``O_APPEND``), so concurrent hatui processes do
not overwrite each other and a crash loses at most the line being written.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import time
from pathlib import Path

from hatui import paths

EXCERPT = 400


def audit_path() -> Path:
    return paths.state_dir() / "audit.jsonl"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The end of a command's output (where errors are), bounded."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


class AuditLog:
    """Appends records for one action; every record carries who, where and when."""

    def __init__(self, action: str, *, path: Path | None = None, action_id: str | None = None) -> None:
        self.action = action
        self.path = path if path is not None else audit_path()
        self.action_id = action_id or f"{int(time.time())}-{secrets.token_hex(3)}"
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid{os.getuid()}"
        self.user, self.host = user, socket.gethostname()

    def record(self, event: str, **fields: object) -> None:
        """Append one line (never raises: auditing must not break an action half-way)."""
        rec = {"ts": time.time(), "user": self.user, "host": self.host, "action": self.action,
               "action_id": self.action_id, "event": event, **fields}
        line = json.dumps(rec, sort_keys=True, default=str) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError:
            pass

    def command(self, node: str, command: str, *, exit_status: int | None, stdout: str = "",
                stderr: str = "", error: str | None = None, duration: float | None = None) -> None:
        self.record("command", node=node, command=command, exit_status=exit_status,
                    output=excerpt((stdout + "\n" + stderr).strip()), error=error, duration=duration)


def read_audit(path: Path | None = None) -> list[dict[str, object]]:
    """Every record (tests, ``hatui`` tooling); unreadable lines are skipped."""
    p = path if path is not None else audit_path()
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
