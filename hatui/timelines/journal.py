"""The node kit's journal as timing rows: what keepalived's notify script did, step by step.

When keepalived fails the pair over on its own, hatui is not the one acting:
the survivor's notify script is. Its journal lines (detect, vip, promote,
mount, nfs, dag, available; release on the side that steps down) are read by
every poll. :func:`journal_entries` turns them into :class:`~hatui.timelines.incident.Entry`
rows for the incident story (:mod:`hatui.timelines.incident`), which merges them with
the console's observations and hatui's own steps; :func:`journal_timeline`
keeps the latest takeover alone, for the node kit's tests.

A step the kit found already done ("already Primary", "already mounted",
"already active": the detail starts with "already") is a success
(:attr:`Outcome.ALREADY`): in a planned switchover hatui does every step before
the VIP moves, and the notify script that keepalived then runs finds nothing
to do.

T+0 is the crash itself, which the survivor cannot observe; it is estimated as
the moment keepalived declared the master down minus VRRP's master-down
interval (3 × advert_int + (256 − priority)/256 s: 3.61 s at advert_int 1 and
priority 100), which is exactly how long the survivor waited without adverts.
"""

from __future__ import annotations

from collections.abc import Callable

from hatui.config import TimingConfig
from hatui.timelines.incident import Cue, Entry, Kind, Outcome, Source
from hatui.probes.journal import JournalEntry
from hatui.timelines.saved import StepStatus, TimelineRow

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
# Steps of the side that steps down: a clean release means the peer did not crash.
RELEASE_STEPS = ("release", "stop", "backup")
OTHER_STEPS = (*RELEASE_STEPS, "rejoin", "notify")


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
            t_end=t, ended_at=entry.ts, status=StepStatus.OK if entry.ok else StepStatus.FAILED,
        ))
    return rows


def journal_outcome(entry: JournalEntry) -> Outcome:
    """FAILED, ALREADY (the kit found it done: its detail starts with "already") or OK."""
    if not entry.ok:
        return Outcome.FAILED
    return Outcome.ALREADY if entry.detail.lower().startswith("already") else Outcome.OK


def _takeover_starts(entries: tuple[JournalEntry, ...]) -> set[int]:
    return {i for i, e in enumerate(entries)
            if e.step == "detect" or (e.step == "vip" and (i == 0 or entries[i - 1].step != "detect"))}


def _released(peer: tuple[JournalEntry, ...], start: float, end: float) -> bool:
    return any(e.step in RELEASE_STEPS and start <= e.ts <= end for e in peer)


def journal_entries(
    entries: tuple[JournalEntry, ...], timing: TimingConfig, *, peer: str | None = None,
    peer_entries: tuple[JournalEntry, ...] = (), priority: int | None = None, skew: float = 0.0,
    during: Callable[[float], str | None] | None = None, since: float | None = None,
) -> list[Entry]:
    """Story rows for one node's journal (times moved to the console's clock by ``skew``).

    A takeover opens an incident. Its T+0: the peer's clean release when the
    peer's journal has one just before (a handover, not a crash), else the loss
    of the master, estimated as the detect line minus the master-down interval.
    A takeover while one of the console's actions ran (``during(t)`` names it)
    is that action's side effect and opens nothing. ``since`` drops older lines.
    """
    out: list[Entry] = []
    starts = _takeover_starts(entries)
    mdi = master_down_interval(priority)
    for i, entry in enumerate(entries):
        known = entry.step in STEP_PHASE or entry.step in OTHER_STEPS
        if not known or (since is not None and entry.ts < since):
            continue
        at = entry.ts - skew
        phase = STEP_PHASE.get(entry.step)
        outcome = journal_outcome(entry)
        cue, kind, note = Cue.NONE, None, entry.detail
        if outcome is Outcome.FAILED:
            note = f"FAILED: {entry.detail}"
        if i in starts:
            action = during(at) if during else None
            if action:
                note = f"{note} (keepalived's notify script during the {action})"
            elif _released(peer_entries, entry.ts - mdi - 2.0, entry.ts):
                cue, kind = Cue.OPENS, Kind.ROLE_CHANGE
            elif entry.step == "detect":
                out.append(Entry(f"{peer or 'the master'} lost (estimated)", peer, at - mdi, source=Source.JOURNAL,
                                 cue=Cue.OPENS, kind=Kind.TAKEOVER, key=f"{entry.node}:{entry.ts}:lost",
                                 note=f"T+0 = {entry.node}'s detect line − the master-down interval {mdi:.2f} s"))
                kind = Kind.TAKEOVER
            else:
                cue, kind = Cue.OPENS, Kind.ROLE_CHANGE
        elif entry.step in RELEASE_STEPS and entry.ok and "nothing to release" not in entry.detail:
            cue, kind = Cue.OPENS, Kind.ROLE_CHANGE
        out.append(Entry(f"{outcome.glyph} {entry.step}", entry.node, at,
                         budget=float(getattr(timing, phase)) if phase else None, note=note,
                         source=Source.JOURNAL, outcome=outcome, phase=phase, cue=cue, kind=kind,
                         key=f"{entry.node}:{entry.ts}:{entry.step}"))
    return out
