"""The audit log: append-only JSONL of every action, refused or run.

One file, ``paths.state_dir()/audit.jsonl``, one JSON object per line, each
with the local user and host, the time, the action, the pair acted on
(``cluster``: its ``cluster.name``) and an ``action_id`` grouping the lines of one run:

* ``refused``: the plan and every refusal (guards, confirmation mismatch, lock);
* ``start``: the plan (every step and command) and the confirmation typed;
* ``command``: each command run, its node, exit code and an output excerpt
  (or the transport error when the node could not be asked);
* ``result``: how it ended (succeeded, failed at step N, rolled back, …).

Lines are only ever appended (``O_APPEND``), so concurrent hatui processes do
not overwrite each other. Each record is one ``os.write`` of the whole line,
then ``fsync`` (and the folder's too when the file is new) before
:meth:`AuditLog.record` returns. The runner writes ``start`` (the whole plan,
every command) before the first command runs, so after a crash or power cut
the log still says what was about to happen; each ``command`` record follows
its command. A line torn by a power cut (the disk, not hatui), or by a kill -9
in the middle of a large record (Linux may stop a write between pages when the
process is killed), is closed before the next record, so it never swallows
it; readers skip it. The file is 0600 in a 0700
folder: it names users, hosts and commands.
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
    """``paths.state_dir()/audit.jsonl``."""
    return paths.state_dir() / "audit.jsonl"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The end of a command's output (where errors are), bounded."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


class AuditLog:
    """Appends records for one action; every record carries who, where and when."""

    def __init__(self, action: str, *, cluster: str | None = None, path: str | os.PathLike[str] | None = None,
                 action_id: str | None = None) -> None:
        self.action = action
        self.cluster = cluster  # the pair acted on (its cluster.name): ties the run to a pair in a fleet
        self.path = Path(path) if path is not None else audit_path()
        self.action_id = action_id or f"{int(time.time())}-{secrets.token_hex(3)}"
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid{os.getuid()}"
        self.user, self.host = user, socket.gethostname()

    def record(self, event: str, **fields: object) -> bool:
        """Append one line and fsync it; True once it is on disk.

        Never raises: auditing must not break an action half-way (False says
        the record could not be written).
        """
        rec = {"ts": time.time(), "user": self.user, "host": self.host, "action": self.action,
               "action_id": self.action_id, "event": event, **fields}
        if self.cluster is not None:
            rec["cluster"] = self.cluster
        line = (json.dumps(rec, sort_keys=True, default=str) + "\n").encode("utf-8")
        try:
            fd, created = paths.open_private(self.path, os.O_RDWR | os.O_APPEND)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # close a line torn by a power cut
                written = os.write(fd, line)  # one write: whole, or (killed mid-write, disk full) cut short
                if written < len(line):
                    os.write(fd, b"\n")  # disk full mid-line: end it, the next record stays readable
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                paths.fsync_dir(self.path.parent)
        except OSError:
            return False
        return written == len(line)

    def command(self, node: str, command: str, *, exit_status: int | None, stdout: str = "",
                stderr: str = "", error: str | None = None, duration: float | None = None) -> bool:
        """Record one command that ran (or could not be run), with an output excerpt."""
        return self.record("command", node=node, command=command, exit_status=exit_status,
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
