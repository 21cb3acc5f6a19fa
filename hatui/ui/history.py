"""What changed between two snapshots: state events, active-role moves, sync speed.

Pure functions over the model (no Textual), so the console's event log and
timing log are derived from exactly what :func:`hatui.layers.node_layers`
shows. The timing rows are generic (step, node, start, T+, budget) so the
actions runner can push its own steps into the same pane.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hatui.auto_timeline import journal_timeline
from hatui.layers import node_layers
from hatui.model import ClusterSnapshot, Layer
from hatui.states import ReplicationState, Role, Severity
from hatui.timeline import TimelineRow

# A quiet gap longer than this closes a failover sequence; the next move starts a new T+0.
SEQUENCE_GAP = 120.0


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

    @property
    def text(self) -> str:
        who = f"{self.node} " if self.node else ""
        tail = f"  ({self.detail})" if self.detail else ""
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
    return events


@dataclass(frozen=True)
class TimingRow:
    """One step of a sequence: observed here, or pushed by an action runner later."""

    step: str
    node: str | None
    start: float  # epoch seconds
    t_plus: float | None = None  # seconds after the sequence's T+0
    budget: float | None = None  # documented seconds after T+0 (config [timing])
    note: str = ""
    pending: bool = False  # still running: no over/under verdict yet

    @property
    def over(self) -> bool | None:
        if self.pending or self.t_plus is None or self.budget is None:
            return None
        return self.t_plus > self.budget


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


class RoleTracker:
    """Detects who holds the VIP / DRBD Primary and when that moves (automatic failover)."""

    def __init__(self) -> None:
        self.roles: _Roles | None = None
        self.t0: float | None = None
        self.last: float | None = None

    def update(self, snap: ClusterSnapshot) -> list[TimingRow]:
        roles = _roles(snap)
        prev, self.roles = self.roles, roles
        at = snap.taken_at
        if prev is None:
            note = f"VIP {_names(roles.vip)}, DRBD Primary {_names(roles.primary)}"
            return [TimingRow("active at start", _names(roles.vip or roles.primary), at, note=note)]
        timing = snap.config.timing
        changes: list[tuple[str, str | None, float | None, str]] = []
        lost = [n for n in roles.active_down if n not in prev.active_down and (n in prev.vip or n in prev.primary)]
        for name in lost:
            changes.append(("active node unreachable", name, None, "T+0: failover expected"))
        # A node that just became unreachable did not "release" anything we can see.
        if roles.vip != prev.vip and not (not roles.vip and set(prev.vip) <= set(lost)):
            if roles.vip:
                changes.append((f"VIP → {_names(roles.vip)}", _names(roles.vip), timing.vip, f"was {_names(prev.vip)}"))
            else:
                changes.append(("VIP released", _names(prev.vip), None, "nobody holds it"))
        if roles.primary != prev.primary and not (not roles.primary and set(prev.primary) <= set(lost)):
            if roles.primary:
                changes.append((f"DRBD Primary → {_names(roles.primary)}", _names(roles.primary), timing.promote,
                                f"was {_names(prev.primary)}"))
            else:
                changes.append(("DRBD demoted", _names(prev.primary), None, "no Primary"))
        if not changes:
            return []
        if self.t0 is None or self.last is None or at - self.last > SEQUENCE_GAP:
            self.t0 = at
        self.last = at
        return [TimingRow(step, node, at, at - self.t0, budget, note) for step, node, budget, note in changes]


_STATUS = {"running": ("…", "running"), "ok": ("✔", "done"), "skipped": ("✔", "already so"),
           "failed": ("✖", "FAILED")}


def action_row(row: TimelineRow) -> TimingRow:
    """A runner's timeline row (step start or end) as the timing pane shows it.

    The glyph leads the step text so the outcome shows even when the pane is too
    narrow for the note column."""
    again = f" (attempt {row.attempt})" if row.attempt > 1 else ""
    undo = "undo: " if row.phase == "rollback" else ""
    glyph, note = _STATUS.get(row.status, ("?", row.status))
    if row.duration is not None:
        note += f" in {row.duration:.1f}s"
    if row.detail and row.status != "ok":
        note += f": {row.detail}"
    t_plus = row.t_end if row.t_end is not None else row.t_start
    return TimingRow(f"{glyph} {row.index + 1}. {undo}{row.description}{again}", row.node, row.started_at, t_plus,
                     row.budget, note, pending=row.t_end is None)


class JournalTracker:
    """Rows of the latest automatic takeover in each node's journal, each entry shown once.

    The node kit appends its steps as they happen, so a takeover can show up
    over several polls; entries are deduplicated by (node, time stamp, step) and
    a separator row opens each takeover the first time one of its entries is seen.
    """

    def __init__(self) -> None:
        self.seen: set[tuple[str, float, str]] = set()
        self.takeovers: set[tuple[str, float]] = set()

    def update(self, snap: ClusterSnapshot, during: Callable[[float], str | None] | None = None) -> list[TimingRow]:
        """New rows. ``during(t)`` names the console's action running at local epoch ``t``, if any:
        a takeover that began then is the node kit's side of that action, not an automatic failover."""
        out: list[TimingRow] = []
        for node in snap.nodes:
            if not (node.reachable and node.journal):
                continue
            prio = node.vrrp.effective_priority if node.vrrp else None
            rows = journal_timeline(node.journal, snap.config.timing, priority=prio)
            fresh = [r for r in rows if (node.name, r.started_at, r.phase) not in self.seen]
            if not fresh:
                continue
            first = rows[0]
            start = first.started_at - first.t_start  # the estimated T+0
            if (node.name, start) not in self.takeovers:
                self.takeovers.add((node.name, start))
                what = "automatic failover" if first.phase == "detect" else "keepalived takeover"
                note = "T+0 = estimated loss of the master" if first.phase == "detect" else ""
                # The node's clock may differ from ours: correct by what this poll saw.
                skew = node.clock - node.polled_at if node.clock and node.polled_at else 0.0
                action = during(first.started_at - skew) if during else None
                if action:
                    what, note = f"node kit on {node.name} during the {action}", "keepalived's notify script"
                out.append(TimingRow(f"── {what} (node journal)", node.name, start, 0.0, note=note))
            for r in fresh:
                self.seen.add((node.name, r.started_at, r.phase))
                ok = r.status == "ok"
                out.append(TimingRow(f"{'✔' if ok else '✖'} {r.phase}", node.name, r.started_at, r.t_end, r.budget,
                                     r.description if ok else f"FAILED: {r.description}"))
        return out


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


_SOURCE_SIDE = (ReplicationState.SYNC_SOURCE, ReplicationState.PAUSED_SYNC_S, ReplicationState.STARTING_SYNC_S,
                ReplicationState.WF_BITMAP_S)


def sync_view(snap: ClusterSnapshot, resource: str) -> SyncView | None:
    """Direction, % and ETA of a running sync of ``resource`` (either side may report it)."""
    found: list[SyncView] = []
    for node in snap.nodes:
        res = node.resource(resource) if node.reachable else None
        if res is None:
            continue
        for conn in res.connections:
            for dev in conn.peer_devices:
                repl = dev.replication
                if repl is None or not getattr(repl, "is_syncing", False):
                    continue
                peer = conn.peer or snap.peer_of(node.name).name
                src, dst = (node.name, peer) if repl in _SOURCE_SIDE else (peer, node.name)
                found.append(SyncView(resource, src, dst, str(repl), dev.sync_percent, dev.eta_seconds,
                                      dev.speed_kib_s))
    if not found:
        return None
    # Prefer the side that knows the most (speed and ETA are derived per node).
    return max(found, key=lambda v: (v.speed_kib_s is not None, v.eta_seconds is not None, v.percent is not None))


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
