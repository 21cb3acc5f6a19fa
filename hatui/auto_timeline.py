"""The timing log of an *automatic* failover, from the node kit's journal.

When keepalived fails the pair over on its own, hatui is not the one acting:
the survivor's notify script is. Its journal lines (detect, vip, promote,
mount, nfs, dag, available) are read by every poll, and this module turns the
latest takeover into timeline rows compared with the seed's sequence.

T+0 is the crash itself, which the survivor cannot observe; it is estimated as
the moment keepalived declared the master down minus VRRP's master-down
interval (3 × advert_int + (256 − priority)/256 s: 3.61 s at advert_int 1 and
priority 100), which is exactly how long the survivor waited without adverts.
"""

from __future__ import annotations

from hatui.config import TimingConfig
from hatui.probes.journal import JournalEntry
from hatui.timeline import TimelineRow

# Journal step → the seed's phase whose budget applies.
STEP_PHASE = {
    "detect": "detect",
    "vip": "vip",
    "promote": "promote",
    "mount": "mount",
    "nfs": "services",
    "dag": "services",
    "available": "available",
}
TAKEOVER_START = ("detect", "vip")


def master_down_interval(priority: int | None, advert_int: float = 1.0) -> float:
    """VRRP's master-down interval for the waiting backup (RFC 3768 skew)."""
    prio = 100 if priority is None else max(1, min(255, priority))
    return 3 * advert_int + (256 - prio) / 256 * advert_int


def latest_takeover(entries: tuple[JournalEntry, ...]) -> tuple[JournalEntry, ...]:
    """The entries of the most recent takeover (from its detect/vip line on)."""
    start = None
    for i, entry in enumerate(entries):
        if entry.step == "detect" or (entry.step == "vip" and (i == 0 or entries[i - 1].step != "detect")):
            start = i
    if start is None:
        return ()
    return tuple(e for e in entries[start:] if e.step in STEP_PHASE)


def journal_timeline(
    entries: tuple[JournalEntry, ...], timing: TimingConfig, *, priority: int | None = None
) -> list[TimelineRow]:
    """Rows for the latest automatic takeover, with T+ from the estimated crash."""
    steps = latest_takeover(entries)
    if not steps:
        return []
    first = steps[0]
    t0 = first.ts - (master_down_interval(priority) if first.step == "detect" else 0.0)
    rows = []
    for index, entry in enumerate(steps):
        phase = STEP_PHASE[entry.step]
        t = entry.ts - t0
        rows.append(TimelineRow(
            index=index, attempt=1, node=entry.node, phase=phase, description=entry.detail or entry.step,
            command=None, t_start=t, started_at=entry.ts, budget=float(getattr(timing, phase)),
            t_end=t, ended_at=entry.ts, status="ok" if entry.ok else "failed",
        ))
    return rows
