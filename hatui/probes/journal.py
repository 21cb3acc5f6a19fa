"""The node kit's journal: one JSON object per line, appended by the notify scripts.

Each line is ``{"ts": EPOCH, "node": NAME, "step": STEP, "detail": TEXT, "ok": BOOL}``
with steps such as detect, vip, promote, mount, nfs, dag, available (takeover)
and release/stop/backup (the reverse). Lines that are not such objects are
skipped, so a half-written last line never breaks a poll.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class JournalEntry:
    ts: float
    node: str
    step: str
    detail: str = ""
    ok: bool = True


def parse_journal(text: str) -> tuple[JournalEntry, ...]:
    """Parse journal lines; never raises, skips what it cannot read."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
            entry = JournalEntry(
                ts=float(obj["ts"]),
                node=str(obj.get("node", "")),
                step=str(obj["step"]),
                detail=str(obj.get("detail", "")),
                ok=bool(obj.get("ok", True)),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        entries.append(entry)
    return tuple(entries)
