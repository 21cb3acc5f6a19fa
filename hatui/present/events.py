"""What changed between two snapshots, as the console shows it: state events, the sync view, sync speeds.

Pure functions over the model, so the console's event log is derived from exactly what
:func:`hatui.present.layers.node_layers` shows (the same words ``hatui status`` and the
history use), plus one event per DRBD helper call or response a node newly shows
(:mod:`hatui.present.helper_calls`). The incident story's rows come from
:mod:`hatui.timelines.trackers`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hatui.model import ClusterSnapshot, Layer
from hatui.model.drbd9 import helper_text
from hatui.present.helper_calls import helper_at, helper_severity, new_calls, shown_calls
from hatui.present.layers import node_layers
from hatui.states import Severity, is_syncing


@dataclass(frozen=True)
class StateEvent:
    """One observed transition, e.g. vm2 DRBD r0: Secondary → Primary."""

    at: float  # epoch seconds (the snapshot's time)
    node: str | None  # None: cluster-wide
    subject: str
    before: str
    after: str
    health: Severity
    detail: str = ""
    message: str = ""  # a whole sentence instead of "subject: before → after" (a helper call)

    @property
    def text(self) -> str:
        who = f"{self.node} " if self.node else ""
        tail = f"  ({self.detail})" if self.detail else ""
        if self.message:
            return f"{self.message}{tail}"
        change = f"{self.before} → {self.after}" if self.before else self.after
        return f"{who}{self.subject}: {change}{tail}"


def _subject(layer: Layer, resource: str | None, multi: bool) -> str:
    return f"{layer.value} {resource}" if resource and multi else layer.value


def transitions(prev: ClusterSnapshot | None, cur: ClusterSnapshot) -> list[StateEvent]:
    """Every state change from ``prev`` to ``cur`` (none for the first snapshot)."""
    if prev is None:
        return []
    at = cur.taken_at
    events: list[StateEvent] = []
    if prev.verdict != cur.verdict:
        events.append(StateEvent(at, None, "verdict", str(prev.verdict), str(cur.verdict), cur.verdict))
    multi = len(cur.config.drbd) > 1
    for node in cur.nodes:
        try:
            before = prev.node(node.name)
        except KeyError:
            continue
        if before.reachable and not node.reachable:
            # One event, not one per layer: every layer just became "unreachable".
            events.append(StateEvent(at, node.name, "node", "reachable", "UNREACHABLE", Severity.CRITICAL,
                                     node.error or ""))
            continue
        if not before.reachable and node.reachable:
            events.append(StateEvent(at, node.name, "node", "unreachable", "reachable", Severity.OK))
            continue
        if not node.reachable:
            continue
        old = {(r.layer, r.resource): r for r in node_layers(prev, node.name)}
        for row in node_layers(cur, node.name):
            was = old.get((row.layer, row.resource))
            if was is None or (was.state, was.health) == (row.state, row.health):
                continue
            subject = _subject(row.layer, row.resource, multi)
            if was.state == row.state:  # same word, different verdict: say what changed
                events.append(StateEvent(at, node.name, subject, "", f"{row.state}, now {row.health}", row.health,
                                         row.detail))
            else:
                events.append(StateEvent(at, node.name, subject, was.state, row.state, row.health, row.detail))
    return events + helper_events(prev, cur)


def helper_events(prev: ClusterSnapshot, cur: ClusterSnapshot) -> list[StateEvent]:
    """One event per helper call or response each node shows in ``cur`` and did not in ``prev``
    (a node that did not answer in ``prev``: compared with its last answer)."""
    events: list[StateEvent] = []
    for node in cur.nodes:
        if not node.reachable:
            continue
        try:
            before = shown_calls(prev.node(node.name))
        except KeyError:
            continue
        for call in new_calls(before, shown_calls(node)):
            subject = f"{call.helper} handler {call.resource}".rstrip()
            after = "response" if call.response else "call"
            events.append(StateEvent(helper_at(node, call, cur.taken_at), node.name, subject, "", after,
                                     helper_severity(call), message=helper_text(node.name, call)))
    return events



@dataclass(frozen=True)
class SyncView:
    """The sync of one resource, as the replication link shows it."""

    resource: str
    source: str
    target: str
    replication: str
    percent: float | None
    eta_seconds: float | None
    speed_kib_s: float | None


def sync_view(snap: ClusterSnapshot, resource: str) -> SyncView | None:
    """Direction, % and ETA of a running sync of ``resource``: the direction is the one fact
    (:attr:`hatui.model.facts.ResourceFacts.resync`); speed comes from whichever side measured it."""
    rf = snap.facts.resources.get(resource)
    sync = rf.resync if rf is not None else None
    if sync is None:
        return None
    speeds = [d.speed_kib_s for n in snap.nodes if n.reachable and (r := n.resource(resource)) is not None
              for c in r.connections for d in c.peer_devices if d.speed_kib_s is not None]
    etas = [d.eta_seconds for n in snap.nodes if n.reachable and (r := n.resource(resource)) is not None
            for c in r.connections for d in c.peer_devices if d.eta_seconds is not None and is_syncing(d.replication)]
    return SyncView(resource, sync.source, sync.target, sync.state, sync.percent,
                    sync.eta_seconds if sync.eta_seconds is not None else (etas[0] if etas else None),
                    speeds[0] if speeds else None)


class SpeedHistory:
    """The last few sync speeds per resource, for the sparkline; reset when a sync ends."""

    def __init__(self, size: int = 40) -> None:
        self.size = size
        self.samples: dict[str, deque[float]] = {}

    def update(self, resource: str, view: SyncView | None) -> list[float]:
        if view is None:
            self.samples.pop(resource, None)
            return []
        series = self.samples.setdefault(resource, deque(maxlen=self.size))
        if view.speed_kib_s is not None:
            series.append(view.speed_kib_s)
        return list(series)
