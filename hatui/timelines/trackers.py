"""The console's incident-story rows: the active role moving, the node kit's journal, DRBD's helper calls,
the runner's steps.

Pure functions over the model. The rows are the incident story's rows
(:class:`hatui.timelines.incident.Entry`): the role tracker and the journal tracker
produce them (the journal tracker with DRBD's helper calls, :mod:`hatui.timelines.helpers`:
both are what the nodes themselves report), the actions runner's steps become them (:func:`action_row`), and
:mod:`hatui.timelines.incident` merges them into one story per incident.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from hatui.model import ClusterSnapshot
from hatui.states import Role, Severity
from hatui.timelines.helpers import HelperTracker
from hatui.timelines.incident import Cue, Entry, Kind, Source
from hatui.timelines.journal import journal_entries
from hatui.timelines.saved import TimelineRow, list_timelines, saved_entries, step_entry

# The timing pane's rows are the incident story's rows (hatui.timelines.incident.Entry).
TimingRow = Entry

# The node journal's lines older than this are not replayed by a console that opens later.
JOURNAL_WINDOW = 24 * 3600.0
SPLIT_BRAIN_CODES = ("split-brain", "drbd-both-primary")
SAVED_SLACK = 2.0  # seconds either side of a saved action in which a journal takeover is its side effect


@dataclass(frozen=True)
class _Roles:
    vip: tuple[str, ...]
    primary: tuple[str, ...]
    active_down: tuple[str, ...]


def _roles(snap: ClusterSnapshot) -> _Roles:
    first = snap.config.drbd[0].resource
    primary = tuple(n.name for n in snap.nodes if n.reachable and n.drbd_role(first) == Role.PRIMARY)
    return _Roles(snap.vip_holders, primary, tuple(n.name for n in snap.nodes if not n.reachable))


def _names(names: tuple[str, ...]) -> str:
    return " + ".join(names) if names else "nobody"


def _verdict_entry(snap: ClusterSnapshot, step: str, key: str) -> Entry:
    ok = snap.verdict == Severity.OK
    worst = [f for f in snap.findings if f.severity == snap.verdict]
    split = any(f.code in SPLIT_BRAIN_CODES for f in snap.findings)
    return Entry(step, None, snap.taken_at, note="" if ok or not worst else worst[0].message,
                 source=Source.OBSERVED, cue=Cue.HEALTHY if ok else Cue.UNHEALTHY,
                 kind=Kind.SPLIT_BRAIN if split else Kind.DEGRADED, key=key)


class RoleTracker:
    """The console's own observations for the incident story: the verdict and the active role moving.

    Each entry says whether it opens an incident (the active role moved, the
    verdict left OK) or shows the pair healthy again (:class:`~hatui.timelines.incident.Cue`);
    :func:`hatui.timelines.incident.build_incidents` does the rest.
    """

    def __init__(self) -> None:
        self.roles: _Roles | None = None
        self.verdict: Severity | None = None

    def update(self, snap: ClusterSnapshot) -> list[Entry]:
        """The observations this snapshot adds (the first one: who is active, and the verdict)."""
        roles = _roles(snap)
        prev, self.roles = self.roles, roles
        verdict, self.verdict = self.verdict, snap.verdict
        at = snap.taken_at
        if prev is None:
            first = _verdict_entry(snap, "active at start", f"first:{at}")
            note = f"VIP {_names(roles.vip)}, DRBD Primary {_names(roles.primary)}, verdict {snap.verdict}"
            return [dataclasses.replace(first, node=_names(roles.vip or roles.primary),
                                        note=f"{note}; {first.note}" if first.note else note)]
        out: list[Entry] = []
        if verdict is not None and verdict != snap.verdict:
            out.append(_verdict_entry(snap, f"verdict {verdict} → {snap.verdict}", f"verdict:{at}"))
        timing = snap.config.timing

        def move(step: str, node: str | None, phase: str | None, budget: float | None, note: str,
                 kind: Kind = Kind.ROLE_CHANGE) -> None:
            out.append(Entry(step, node, at, budget=budget, note=note, source=Source.OBSERVED, phase=phase,
                             cue=Cue.OPENS, kind=kind, key=f"{step}:{node}:{at}"))

        lost = [n for n in roles.active_down if n not in prev.active_down and (n in prev.vip or n in prev.primary)]
        for name in lost:  # not yet a role change: it may come back still holding the role
            move("active node unreachable", name, None, None, "failover expected", Kind.DEGRADED)
        # A node that just became unreachable did not "release" anything we can see.
        if roles.vip != prev.vip and not (not roles.vip and set(prev.vip) <= set(lost)):
            if len(roles.vip) == 2:  # a split, not a move: no budget applies
                move(f"VIP on BOTH {_names(roles.vip)}", _names(roles.vip), None, None,
                     f"VRRP split; was {_names(prev.vip)}", Kind.DEGRADED)
            elif roles.vip:
                move(f"VIP → {_names(roles.vip)}", _names(roles.vip), "vip", timing.vip, f"was {_names(prev.vip)}")
            else:
                move("VIP released", _names(prev.vip), None, None, "nobody holds it")
        if roles.primary != prev.primary and not (not roles.primary and set(prev.primary) <= set(lost)):
            if len(roles.primary) == 2:
                move(f"DRBD Primary on BOTH {_names(roles.primary)}", _names(roles.primary), None, None,
                     f"diverging data; was {_names(prev.primary)}", Kind.SPLIT_BRAIN)
            elif roles.primary:
                move(f"DRBD Primary → {_names(roles.primary)}", _names(roles.primary), "promote", timing.promote,
                     f"was {_names(prev.primary)}")
            else:
                move("DRBD demoted", _names(prev.primary), None, None, "no Primary")
        return out


def action_row(row: TimelineRow) -> Entry:
    """A runner's timeline row (step start or end) as a story row (the glyph leads the step text,
    so the outcome shows even when the pane is too narrow for the note column)."""
    return step_entry(row)


class JournalTracker:
    """The node kit's journal lines as story rows, each line once (:func:`~hatui.timelines.journal.journal_entries`),
    and DRBD's helper calls (:class:`~hatui.timelines.helpers.HelperTracker`): what the nodes report themselves.

    The node kit appends its steps as they happen, so a takeover shows up over
    several polls; lines are deduplicated by (node, time stamp, step). A console
    that opens later replays the last :data:`JOURNAL_WINDOW` of each journal.
    """

    def __init__(self, saved: Callable[[], list[dict[str, object]]] | None = None) -> None:
        self.seen: set[str] = set()
        self.helpers = HelperTracker()
        self._load_saved = saved if saved is not None else _saved_timelines
        self._saved: list[dict[str, object]] | None = None

    def _saved_action(self, at: float, out: list[Entry]) -> str | None:
        """The saved action timeline (one run before this console started) covering ``at``; its rows
        join the story once, so a planned switchover never reads as an automatic failover."""
        if self._saved is None:
            self._saved = self._load_saved()
        for doc in self._saved:
            header, result = doc["header"], doc["result"] or {}
            start = float(header.get("started_at", 0.0))  # type: ignore[union-attr]
            end = float(result.get("ended_at") or start)  # type: ignore[union-attr]
            if start - SAVED_SLACK <= at <= end + SAVED_SLACK:
                for e in saved_entries(doc):
                    if e.key not in self.seen:
                        self.seen.add(e.key)
                        out.append(e)
                return str(header.get("action", "action"))  # type: ignore[union-attr]
        return None

    def update(self, snap: ClusterSnapshot, during: Callable[[float], str | None] | None = None) -> list[Entry]:
        """New rows. ``during(t)`` names the console's action running at local epoch ``t``, if any:
        a takeover that began then is the node kit's side of that action, not an automatic failover
        (and so is one that began during an action saved before this console started)."""
        out: list[Entry] = []

        def action_at(at: float) -> str | None:
            return (during(at) if during else None) or self._saved_action(at, out)

        for node in snap.nodes:
            if not (node.reachable and node.journal):
                continue
            peer = snap.peer_of(node.name)
            # The node's clock may differ from ours: correct by what this poll saw.
            skew = node.clock - node.polled_at if node.clock and node.polled_at else 0.0
            since = (node.clock or snap.taken_at) - JOURNAL_WINDOW
            entries = journal_entries(node.journal, snap.config.timing, peer=peer.name,
                                      peer_entries=peer.journal if peer.reachable else (),
                                      priority=node.vrrp.effective_priority if node.vrrp else None,
                                      skew=skew, during=action_at, since=since)
            for e in entries:
                if e.key not in self.seen:
                    self.seen.add(e.key)
                    out.append(e)
        return out + self.helpers.update(snap)


def _saved_timelines() -> list[dict[str, object]]:
    try:
        return list_timelines()
    except OSError:
        return []
