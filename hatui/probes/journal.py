"""The node kit's journal: one JSON object per line, appended by the notify scripts.

Each line is ``{"ts": EPOCH, "node": NAME, "step": STEP, "detail": TEXT, "ok": BOOL}``
with steps such as detect, vip, promote, mount, nfs, dag, available (takeover)
and release/stop/backup (the reverse). Lines that are not such objects are
skipped, so a half-written last line never breaks a poll.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hatui.states import VrrpState


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


# What the node kit's notify handler journals first for each keepalived state (scripts/node/hatui-notify):
# MASTER: a `detect` step "keepalived INSTANCE: MASTER (priority P)" before anything else; BACKUP, FAULT
# and STOP: a `release` step "STATE: what it did" once the release ended.
_RELEASED = {"BACKUP": VrrpState.BACKUP, "FAULT": VrrpState.FAULT, "STOP": VrrpState.STOP}


def kit_vrrp_state(entries: tuple[JournalEntry, ...], instance: str, after: float) -> VrrpState | None:
    """The VRRP state keepalived told the node kit after ``after`` (the node's own clock), newest first;
    None when the kit journaled no transition of ``instance`` since then."""
    for entry in reversed(entries):
        if entry.ts <= after:
            return None
        if entry.step == "detect" and entry.detail.startswith(f"keepalived {instance}: MASTER"):
            return VrrpState.MASTER
        if entry.step == "release" and (state := _RELEASED.get(entry.detail.split(":", 1)[0])) is not None:
            return state
    return None
