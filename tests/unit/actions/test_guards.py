"""Every guard refuses in its situation, with its own message and a next step."""

from __future__ import annotations

import dataclasses

from hatui.actions import plan_failback, plan_failover, plan_resync, preflight
from hatui.actions.failover import last_role_change
from hatui.actions.lock import LockOwner, LockStatus
from hatui.probes.records import DrbdPeerDevice
from hatui.states import ConnectionState, DiskState, ReplicationState, Role
from tests import builders as b


def codes(refusals):
    return [r.code for r in refusals]


def healthy_plan():
    snap = b.healthy()
    return snap, plan_failover(snap, snap.config)


def test_healthy_pair_passes():
    snap, plan = healthy_plan()
    assert preflight(plan, snap, read_only=False) == []


def test_read_only():
    snap, plan = healthy_plan()
    (r,) = preflight(plan, snap, read_only=True)
    assert r.code == "read-only" and "--read-only" in r.reason and r.hint


def test_peer_outdated():
    snap = b.healthy()
    peer = b.set_drbd(snap.nodes[1], disk=DiskState.OUTDATED)
    s = b.cluster(snap.nodes[0], peer)
    (r,) = preflight(plan_failover(s, s.config), s, read_only=False)
    assert r.code == "peer-not-uptodate"
    assert r.reason == ("DRBD r0 on vm12 is Outdated, not UpToDate: promoting it would lose the writes it missed")
    assert "hatui resync" in r.hint


def test_peer_syncing():
    snap = b.healthy()
    a = b.set_drbd(snap.nodes[0], replication=ReplicationState.SYNC_SOURCE, peer_disk=DiskState.INCONSISTENT,
                   sync_percent=42.0)
    peer = b.set_drbd(snap.nodes[1], disk=DiskState.INCONSISTENT, replication=ReplicationState.SYNC_TARGET,
                      sync_percent=42.0)
    s = b.cluster(a, peer)
    refusals = preflight(plan_failover(s, s.config), s, read_only=False)
    assert codes(refusals) == ["syncing"]
    assert "42.0% in sync" in refusals[0].reason and "Wait for the sync" in refusals[0].hint


def test_peer_not_connected():
    snap = b.healthy()
    peer = b.set_drbd(snap.nodes[1], connection=ConnectionState.CONNECTING)
    s = b.cluster(snap.nodes[0], peer)
    refusals = preflight(plan_failover(s, s.config), s, read_only=False)
    assert "not-connected" in codes(refusals)
    assert "Connecting, not Connected" in refusals[codes(refusals).index("not-connected")].reason


def test_split_brain_refuses_failover_and_points_to_the_resolution():
    snap = b.healthy()
    a = b.set_drbd(snap.nodes[0], connection=ConnectionState.STANDALONE)
    c = b.set_drbd(snap.nodes[1], connection=ConnectionState.STANDALONE, role=Role.PRIMARY)
    s = b.cluster(a, c)
    plan = plan_failover(s, s.config, target="vm12")
    refusals = preflight(plan, s, read_only=False)
    assert "split-brain" in codes(refusals)
    sb = refusals[codes(refusals).index("split-brain")]
    assert "hatui resync split-brain" in sb.hint


def test_unreachable_node():
    snap = b.healthy()
    down = dataclasses.replace(snap.nodes[1], reachable=False, error="connect to 127.0.0.1:2 timed out after 3s")
    s = b.cluster(snap.nodes[0], down)
    plan = plan_failover(snap, snap.config)
    refusals = preflight(plan, s, read_only=False)
    assert codes(refusals) == ["unreachable"]
    assert refusals[0].reason == "vm12 is unreachable (connect to 127.0.0.1:2 timed out after 3s)"


def test_locked_and_stale_lock():
    snap, plan = healthy_plan()
    owner = LockOwner("ops", "laptop", 4242, "failover", snap.taken_at - 20, "t")
    locks = {"vm2": LockStatus("vm2", True, owner, 20.0), "vm12": LockStatus("vm12", False)}
    (r,) = preflight(plan, snap, read_only=False, locks=locks)
    assert r.code == "locked" and "held by ops@laptop pid 4242 (failover) for 20s" in r.reason
    assert r.hint == "Wait for it to finish."
    stale = {"vm2": LockStatus("vm2", True, None, None), "vm12": LockStatus("vm12", False)}
    (r,) = preflight(plan, snap, read_only=False, locks=stale)
    assert "unknown owner" in r.reason and "hatui lock break --confirm vm2" in r.hint


def test_failback_recent_role_change_needs_acknowledgement():
    snap = b.healthy()
    a = b.node("vm2", active=False, peer="vm12")
    c = b.node("vm12", active=True, peer="vm2")
    c = dataclasses.replace(c, vrrp=dataclasses.replace(c.vrrp, last_transition=snap.taken_at - 12))
    s = b.cluster(a, c)
    plan = plan_failback(s, s.config, min_age=300)
    (r,) = preflight(plan, s, read_only=False)
    assert r.code == "recent-role-change" and "flip-flopping" in r.reason and "--yes-recent" in r.hint
    assert preflight(plan, s, read_only=False, acknowledged={"recent-role-change"}) == []


def test_failback_requires_the_returning_node_fully_resynced():
    a = b.node("vm2", active=False, peer="vm12")
    c = b.node("vm12", active=True, peer="vm2")
    res = c.drbd.resources[0]
    conn = res.connections[0]
    pdev = DrbdPeerDevice(0, ReplicationState.ESTABLISHED, DiskState.UPTODATE, 99.9, 8192)
    c = dataclasses.replace(c, drbd=dataclasses.replace(c.drbd, resources=(dataclasses.replace(
        res, connections=(dataclasses.replace(conn, peer_devices=(pdev,)),)),)))
    s = b.cluster(a, c)
    refusals = preflight(plan_failback(s, s.config), s, read_only=False)
    assert codes(refusals) == ["not-resynced"]
    assert "out of sync 8192 KiB" in refusals[0].reason
    # a failover does not insist on a zero bitmap (only UpToDate/Connected/not syncing)
    assert preflight(plan_failover(s, s.config, target="vm2"), s, read_only=False) == []


def test_keepalived_without_nopreempt_and_higher_priority_would_take_the_vip_back():
    snap = b.healthy()
    a = snap.nodes[0]
    a = dataclasses.replace(a, vrrp=dataclasses.replace(a.vrrp, nopreempt=False, base_priority=110))
    c = snap.nodes[1]
    c = dataclasses.replace(c, vrrp=dataclasses.replace(c.vrrp, base_priority=100))
    s = b.cluster(a, c)
    (r,) = preflight(plan_failover(s, s.config), s, read_only=False)
    assert r.code == "preempt" and "take the VIP straight back" in r.reason and "nopreempt" in r.hint


def test_resync_guards():
    snap = b.healthy()
    # no split brain: nothing to resolve
    a = b.set_drbd(snap.nodes[0], connection=ConnectionState.STANDALONE)
    s = b.cluster(a, snap.nodes[1])
    plan = plan_resync("split-brain", b.cluster(a, b.set_drbd(snap.nodes[1], connection=ConnectionState.STANDALONE)),
                       snap.config, victim="vm12")
    assert codes(preflight(plan, snap, read_only=False)) == ["no-split-brain"]
    # verify needs a connection
    verify = plan_resync("verify", snap, snap.config)
    refusals = preflight(verify, s, read_only=False)
    assert "not-connected" in codes(refusals)
    # full resync while syncing
    syncing = b.cluster(b.set_drbd(snap.nodes[0], replication=ReplicationState.SYNC_SOURCE), snap.nodes[1])
    assert "syncing" in codes(preflight(plan_resync("full", snap, snap.config), syncing, read_only=False))


def test_flip_flop_guard_counts_only_real_changes_of_the_active_role():
    """A hang/unhang (or restart) of the node that is not active changes its keepalived, not the role."""
    snap = b.healthy()
    active, standby = snap.nodes
    active = dataclasses.replace(active, vrrp=dataclasses.replace(active.vrrp, last_transition=snap.taken_at - 3600))
    standby = dataclasses.replace(standby, vrrp=dataclasses.replace(standby.vrrp, last_transition=snap.taken_at - 62))
    s = b.cluster(active, standby)
    assert last_role_change(s) == snap.taken_at - 3600
    plan = plan_failover(s, s.config, min_age=300, now=snap.taken_at)
    assert plan.warnings == () and preflight(plan, s, read_only=False) == []
    # the active node itself became MASTER 62 s ago: that is a role change
    moved = dataclasses.replace(active, vrrp=dataclasses.replace(active.vrrp, last_transition=snap.taken_at - 62))
    s2 = b.cluster(moved, standby)
    (w,) = plan_failover(s2, s2.config, min_age=300, now=snap.taken_at).warnings
    assert w.code == "recent-role-change" and "62s ago" in w.message


def test_a_cut_link_hint_says_drbd_reconnects_by_itself_unless_standalone():
    snap = b.healthy()
    cut = b.cluster(b.set_drbd(snap.nodes[0], connection=ConnectionState.CONNECTING),
                    b.set_drbd(snap.nodes[1], connection=ConnectionState.CONNECTING))
    refusals = [r for r in preflight(plan_failover(cut, cut.config), cut, read_only=False) if r.code == "not-connected"]
    assert refusals and all("reconnects by itself once the replication link is back" in r.hint for r in refusals)
    assert not any("hatui resync reconnect" in r.hint for r in refusals)
    finding = next(f for f in cut.findings if f.code == "replication-down")
    assert "reconnects by itself" in finding.hint  # the refusal agrees with the finding
    alone = b.cluster(snap.nodes[0], b.set_drbd(snap.nodes[1], connection=ConnectionState.STANDALONE))
    (r,) = [r for r in preflight(plan_failover(alone, alone.config), alone, read_only=False)
            if r.code == "not-connected"]
    assert "StandAlone on vm12 and will not reconnect by itself: hatui resync reconnect" in r.hint
