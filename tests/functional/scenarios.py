"""Cluster pictures for the console tests, built from records (tests/builders.py), at fixed times."""

from __future__ import annotations

import dataclasses

from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, UnitActiveState, VrrpState
from tests import builders as b

T0 = 1_700_000_000.0  # 22:13:20 UTC: every snapshot and the console clock are fixed to this


def at(snap: ClusterSnapshot, t: float) -> ClusterSnapshot:
    """The same picture, taken (and every reachable node polled) at ``t``."""
    nodes = tuple(dataclasses.replace(n, polled_at=t, last_seen=t) if n.reachable else n for n in snap.nodes)
    return dataclasses.replace(snap, nodes=nodes, taken_at=t)


def pair(a: NodeSnapshot, c: NodeSnapshot, t: float = T0) -> ClusterSnapshot:
    return at(b.cluster(a, c), t)


def vm2(active: bool = True) -> NodeSnapshot:
    return b.node("vm2", active=active, peer="vm12", now=T0)


def vm12(active: bool = False) -> NodeSnapshot:
    return b.node("vm12", active=active, peer="vm2", now=T0)


def healthy(t: float = T0) -> ClusterSnapshot:
    return pair(vm2(), vm12(), t)


def down(name: str, *, since: float, last_seen: float, t: float, error: str = "connection refused") -> NodeSnapshot:
    return NodeSnapshot(name=name, reachable=False, polled_at=t, error=error, unreachable_since=since,
                        last_seen=last_seen)


def node_down(t: float = T0 + 12) -> ClusterSnapshot:
    """vm2 crashed 12 s ago; vm12 has taken over (VIP, Primary, services)."""
    survivor = b.set_drbd(vm12(active=True), connection=ConnectionState.CONNECTING, peer_disk=DiskState.DUNKNOWN,
                          peer_role=Role.UNKNOWN, replication=ReplicationState.OFF)
    return pair(down("vm2", since=T0 + 2, last_seen=T0, t=t), survivor, t)


def crashed_before_failover(t: float = T0 + 2) -> ClusterSnapshot:
    survivor = b.set_drbd(vm12(), connection=ConnectionState.CONNECTING, peer_disk=DiskState.DUNKNOWN,
                          peer_role=Role.UNKNOWN, replication=ReplicationState.OFF)
    return pair(down("vm2", since=t, last_seen=T0, t=t), survivor, t)


def link_cut(t: float = T0 + 2) -> ClusterSnapshot:
    kw = dict(connection=ConnectionState.CONNECTING, peer_disk=DiskState.DUNKNOWN, peer_role=Role.UNKNOWN,
              replication=ReplicationState.OFF)
    return pair(b.set_drbd(vm2(), **kw), b.set_drbd(vm12(), **kw), t)


def _syncing(n: NodeSnapshot, repl: ReplicationState, pct: float, eta: float | None, speed: float | None,
             disk: DiskState, peer_disk: DiskState) -> NodeSnapshot:
    n = b.set_drbd(n, replication=repl, sync_percent=pct, disk=disk, peer_disk=peer_disk)
    res = n.drbd.resources[0]
    conn = res.connections[0]
    dev = dataclasses.replace(conn.peer_devices[0], eta_seconds=eta, speed_kib_s=speed,
                              out_of_sync_kib=int((100 - pct) / 100 * 2097152))
    res = dataclasses.replace(res, connections=(dataclasses.replace(conn, peer_devices=(dev,)),))
    return dataclasses.replace(n, drbd=dataclasses.replace(n.drbd, resources=(res,)))


def syncing(pct: float = 42.5, speed: float = 40960.0, t: float = T0 + 4) -> ClusterSnapshot:
    """vm2 (Primary) resyncs vm12 after the link came back."""
    eta = (100 - pct) / 100 * 2097152 / speed
    return pair(
        _syncing(vm2(), ReplicationState.SYNC_SOURCE, pct, eta, speed, DiskState.UPTODATE, DiskState.INCONSISTENT),
        _syncing(vm12(), ReplicationState.SYNC_TARGET, pct, None, None, DiskState.INCONSISTENT, DiskState.UPTODATE),
        t,
    )


def split_brain(t: float = T0 + 6) -> ClusterSnapshot:
    """Both Primary, both StandAlone, both holding the VIP."""
    kw = dict(connection=ConnectionState.STANDALONE, peer_disk=DiskState.DUNKNOWN, peer_role=Role.UNKNOWN,
              replication=ReplicationState.OFF, role=Role.PRIMARY)
    return pair(b.set_drbd(vm2(), **kw), b.set_drbd(vm12(active=True), **kw), t)


def vip_moved(t: float = T0 + 8) -> ClusterSnapshot:
    """Clean switchover: vm12 active, vm2 standby."""
    return pair(vm2(active=False), vm12(active=True), t)


def nfs_stopped(t: float = T0 + 2) -> ClusterSnapshot:
    return pair(b.set_unit(vm2(), "nfs-server.service", UnitActiveState.INACTIVE), vm12(), t)


def keepalived_fault(t: float = T0 + 2) -> ClusterSnapshot:
    n = vm12()
    return pair(vm2(), dataclasses.replace(n, vrrp=dataclasses.replace(n.vrrp, state=VrrpState.FAULT)), t)


class ScriptedPoller:
    """Stands in for ClusterPoller: returns the given snapshots in order, then repeats the last."""

    def __init__(self, *snapshots: ClusterSnapshot) -> None:
        self.snapshots = list(snapshots)
        self.polls = 0
        self.closed = False
        self.last: ClusterSnapshot | None = None

    def push(self, snap: ClusterSnapshot) -> None:
        self.snapshots.append(snap)

    async def poll(self) -> ClusterSnapshot:
        snap = self.snapshots[min(self.polls, len(self.snapshots) - 1)]
        self.polls += 1
        self.last = snap
        return snap

    async def close(self) -> None:
        self.closed = True


def split_brain_resolved(t: float = T0 + 20) -> ClusterSnapshot:
    """After `hatui resync split-brain` with vm12 as the victim: vm2 resyncs vm12, one VIP, one Primary."""
    return syncing(pct=12.5, t=t)


def vrrp_split(t: float = T0 + 6) -> ClusterSnapshot:
    """VRRP adverts lost: vm12 became MASTER and holds the VIP too; vm2 is still the DRBD Primary."""
    standby = vm12()
    standby = dataclasses.replace(standby, vip_interfaces=("eth0",),
                                  vrrp=dataclasses.replace(standby.vrrp, state=VrrpState.MASTER))
    return pair(vm2(), standby, t)


def vrrp_split_fixed(t: float = T0 + 20) -> ClusterSnapshot:
    """The finding's hint followed: keepalived stopped on vm12, the VIP only on the DRBD Primary vm2."""
    standby = b.set_unit(vm12(), "keepalived.service", UnitActiveState.INACTIVE)
    return pair(vm2(), dataclasses.replace(standby, vrrp=None), t)
