"""Preflight: every reason not to run a plan now, each with what to do instead.

Guards run on a fresh snapshot before anything changes (and again inside the
runner after the operator confirmed, because the pair may have moved while
they typed). They follow DRBD's own refusals (domain.md) but say them before
DRBD has to: promoting a node that is not UpToDate, Connected and done syncing
can lose data, and hatui never uses ``primary --force``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from hatui.actions import checks as c
from hatui.actions.lock import LockStatus
from hatui.actions.plan import Plan
from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.states import (
    ConnectionState,
    DiskState,
    ReplicationState,
    Role,
    UnitActiveState,
    VrrpState,
    is_syncing,
)

SWITCHOVER = ("failover", "failback")


@dataclass(frozen=True)
class Refusal:
    """Why a plan may not run (``reason``) and what the operator should do (``hint``)."""

    code: str
    reason: str
    hint: str

    def __str__(self) -> str:
        return f"{self.reason}. {self.hint}" if self.hint else self.reason


def preflight(plan: Plan, snapshot: ClusterSnapshot, *, read_only: bool,
              locks: Mapping[str, LockStatus] | None = None,
              acknowledged: Iterable[str] = ()) -> list[Refusal]:
    """All refusals for running ``plan`` on the pair as ``snapshot`` shows it (empty: go).

    ``locks`` is the lock status of each node (from
    :meth:`~hatui.actions.lock.NodeLocks.status_all`); ``acknowledged`` holds the
    codes of plan warnings the operator accepted (e.g. ``recent-role-change``).
    """
    out: list[Refusal] = []
    if read_only:
        out.append(Refusal("read-only", "hatui runs with --read-only: actions are off",
                           "Run without --read-only to change the cluster."))
    unreachable = [n for n in snapshot.nodes if not n.reachable]
    for n in unreachable:
        out.append(Refusal("unreachable", f"{n.name} is unreachable ({n.error})",
                           "An action needs both nodes: fix SSH or the node first (hatui status)."))
    for status in (locks or {}).values():
        if status.held or status.error is not None:
            hint = ("Wait for it to finish." if status.held and not status.stale
                    else f"If no action is running any more: hatui lock break --confirm {status.node}")
            if status.error is not None:
                hint = "Check the node (hatui lock status)."
            out.append(Refusal("locked", f"another action may be running: {status.describe()}", hint))
    ok_ack = set(acknowledged)
    for w in plan.warnings:
        if w.code not in ok_ack:
            out.append(Refusal(w.code, w.message, w.hint))
    if unreachable:
        return out  # DRBD guards on half a picture would only add noise
    if plan.kind in SWITCHOVER:
        out += _switchover(plan, snapshot)
    elif plan.kind == "resync-split-brain":
        out += _split_brain_present(plan, snapshot)
    else:
        out += _no_split_brain(snapshot)
        if plan.kind in ("resync-full", "resync-verify"):
            out += _connected_idle(plan, snapshot)
    return out


def _split_brain_findings(snapshot: ClusterSnapshot) -> list[str]:
    return [f.message for f in snapshot.findings if f.code in ("split-brain", "drbd-both-primary")]


def _no_split_brain(snapshot: ClusterSnapshot) -> Iterator[Refusal]:
    for message in _split_brain_findings(snapshot):
        yield Refusal("split-brain", message,
                      "Resolve it first: hatui resync split-brain (it shows both sides and asks for the victim).")


def _reconnect_hint(snapshot: ClusterSnapshot, res: str,
                    connected: str = "DRBD is Connected: wait for it to resync (hatui status shows progress).") -> str:
    """What brings the connection back, as the health findings say it: a StandAlone node never
    reconnects by itself (hatui resync reconnect); otherwise DRBD reconnects once the link is back."""
    standalone = [n.name for n in snapshot.nodes
                  if n.reachable and c.connection_state(n, res) == ConnectionState.STANDALONE]
    if standalone:
        return (f"DRBD {res} is StandAlone on {' and '.join(standalone)} and will not reconnect by itself: "
                "hatui resync reconnect.")
    down = [n.name for n in snapshot.nodes if n.reachable and c.connection_state(n, res) not in (
        ConnectionState.CONNECTED, ConnectionState.STANDALONE)]
    if down:
        return ("DRBD reconnects by itself once the replication link is back: fix the link and wait for "
                "Connected (hatui status shows it).")
    return connected


def _syncing(node: NodeSnapshot, resource: str) -> c.DrbdPeerDevice | None:
    for d in c.peer_devices(node, resource):
        if is_syncing(d.replication):
            return d
    return None


def _switchover(plan: Plan, snapshot: ClusterSnapshot) -> Iterator[Refusal]:
    yield from _no_split_brain(snapshot)
    source, target = snapshot.node(plan.source or ""), snapshot.node(plan.target)
    for res in plan.resources:
        if target.resource(res) is None:
            yield Refusal("drbd-down", f"DRBD {res} is not up on {target.name}",
                          f"Bring it up (drbdadm up {res}) and let it sync first.")
            continue
        disk = c.local_disk(target, res)
        sync = _syncing(target, res) or _syncing(source, res)
        if sync is not None:
            pct = f"{sync.sync_percent:.1f}% in sync" if sync.sync_percent is not None else "progress unknown"
            eta = f", ETA {int(sync.eta_seconds)}s" if sync.eta_seconds is not None else ""
            yield Refusal("syncing", f"DRBD {res} is resyncing ({pct}{eta}): {target.name} is not a "
                          "complete copy until it finishes", "Wait for the sync to finish (hatui status shows it).")
        elif disk != DiskState.UPTODATE:
            yield Refusal("peer-not-uptodate", f"DRBD {res} on {target.name} is {disk}, not UpToDate: "
                          "promoting it would lose the writes it missed",
                          _reconnect_hint(snapshot, res, "Resync it (hatui resync full if no resync runs) "
                                          "and wait for UpToDate."))
        conn = c.connection_state(target, res)
        if conn != ConnectionState.CONNECTED:
            yield Refusal("not-connected", f"DRBD {res} on {target.name} is {conn}, not Connected to "
                          f"{source.name}: its data may be stale", _reconnect_hint(snapshot, res))
        if plan.kind == "failback":
            yield from _fully_resynced(snapshot, res, target.name, source.name)
    yield from _keepalived(plan, source, target)


def _fully_resynced(snapshot: ClusterSnapshot, res: str, target: str, source: str) -> Iterator[Refusal]:
    if c.in_sync(res, (target, source))(snapshot):
        return
    details = []
    for n in (snapshot.node(target), snapshot.node(source)):
        for d in c.peer_devices(n, res):
            details.append(f"{n.name}: {d.replication}, peer {d.peer_disk}, out of sync {d.out_of_sync_kib} KiB")
    yield Refusal("not-resynced", f"{target} is not fully resynced on DRBD {res} "
                  f"({'; '.join(details) or 'no peer state'}): failback needs UpToDate, Established and "
                  "0 out of sync", "Wait for the resync to finish (hatui status shows progress).")


def _keepalived(plan: Plan, source: NodeSnapshot, target: NodeSnapshot) -> Iterator[Refusal]:
    unit = plan.meta.get("keepalived_unit")
    t_vrrp, s_vrrp = target.vrrp, source.vrrp
    if unit and (st := target.unit(str(unit))) is not None and st.active not in (
            UnitActiveState.ACTIVE, UnitActiveState.RELOADING):
        yield Refusal("target-keepalived-down", f"keepalived is not running on {target.name}: nobody would "
                      "take the VIP", f"Start it first: systemctl start {unit} on {target.name}.")
    if t_vrrp is not None and t_vrrp.state == VrrpState.FAULT:
        yield Refusal("target-keepalived-fault", f"keepalived on {target.name} is in FAULT: it will not take "
                      "the VIP", "Fix its track script / interface first (see its journal).")
    if s_vrrp is not None and t_vrrp is not None and s_vrrp.nopreempt is False:
        s_prio = s_vrrp.base_priority or s_vrrp.effective_priority
        t_prio = t_vrrp.base_priority or t_vrrp.effective_priority
        if s_prio is not None and t_prio is not None and s_prio > t_prio:
            yield Refusal("preempt", f"keepalived on {source.name} has nopreempt off and priority {s_prio} > "
                          f"{t_prio} on {target.name}: when it starts again it would take the VIP straight back",
                          "Configure `nopreempt` with `state BACKUP` on both nodes (the kit's default).")


def _split_brain_present(plan: Plan, snapshot: ClusterSnapshot) -> Iterator[Refusal]:
    for res in plan.resources:
        states = {n.name: c.connection_state(n, res) for n in snapshot.nodes}
        if not any(s == ConnectionState.STANDALONE for s in states.values()) and not _split_brain_findings(snapshot):
            yield Refusal("no-split-brain", f"no split brain on DRBD {res} (connection: "
                          f"{', '.join(f'{k} {v}' for k, v in states.items())}): nothing to resolve",
                          _reconnect_hint(snapshot, res, "DRBD is Connected on both nodes: nothing to resolve."))


def _connected_idle(plan: Plan, snapshot: ClusterSnapshot) -> Iterator[Refusal]:
    for res in plan.resources:
        for n in snapshot.nodes:
            conn = c.connection_state(n, res)
            if conn != ConnectionState.CONNECTED:
                yield Refusal("not-connected", f"DRBD {res} on {n.name} is {conn}: DRBD needs a connection "
                              "for this", _reconnect_hint(snapshot, res))
            sync = _syncing(n, res)
            if sync is not None or any(d.replication in (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T)
                                       for d in c.peer_devices(n, res)):
                yield Refusal("syncing", f"DRBD {res} is already resyncing or verifying on {n.name}",
                              "Wait for it to finish (hatui status shows progress).")
                break
        if plan.kind == "resync-full":
            primaries = [n for n in snapshot.nodes if n.drbd_role(res) == Role.PRIMARY]
            for p in primaries:
                if c.local_disk(p, res) != DiskState.UPTODATE:
                    yield Refusal("source-not-uptodate", f"DRBD {res} on Primary {p.name} is "
                                  f"{c.local_disk(p, res)}: a full resync would copy bad data",
                                  "Check the Primary's backing disk first.")
