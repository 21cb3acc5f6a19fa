from __future__ import annotations

import dataclasses

from hatui.model import Layer
from hatui.snapshot.assemble import unreachable_node
from hatui.probes.records import ProcessEntry, ProcessReport, UnitStatus
from hatui.states import (ConnectionState, DiskState, ReplicationState, Role, Severity, UnitActiveState,
                          UnknownState, VrrpState)
from tests.builders import cluster, healthy, node, set_drbd, set_unit


def codes(snap) -> set[str]:
    return {f.code for f in snap.findings}


def pair():
    return node("vm2", active=True, peer="vm12"), node("vm12", active=False, peer="vm2")


def test_healthy_pair_is_ok_with_no_problem_findings() -> None:
    snap = healthy()
    assert snap.verdict == Severity.OK
    assert [f for f in snap.findings if f.severity != Severity.OK] == []
    assert snap.active_nodes == ("vm2",)


def test_vip_on_both_nodes_is_critical() -> None:
    a, b = pair()
    snap = cluster(a, dataclasses.replace(b, vip_interfaces=("eth0",)))
    assert snap.verdict == Severity.CRITICAL
    assert {"vip-on-both", "vip-on-secondary"} <= codes(snap)


def test_vip_on_neither() -> None:
    a, b = pair()
    snap = cluster(dataclasses.replace(a, vip_interfaces=()), b)
    assert "vip-on-neither" in codes(snap)
    assert snap.verdict == Severity.CRITICAL


def test_vip_on_the_drbd_secondary() -> None:
    a, b = pair()
    snap = cluster(dataclasses.replace(a, vip_interfaces=()), dataclasses.replace(b, vip_interfaces=("eth0",)))
    finding = next(f for f in snap.findings if f.code == "vip-on-secondary")
    assert finding.node == "vm12" and finding.layer == Layer.VIP and "Secondary" in finding.message


def test_services_running_on_secondary() -> None:
    a, b = pair()
    b = set_unit(b, "nfs-server.service", UnitActiveState.ACTIVE)
    b = set_unit(b, "airflow-dag-processor.service", UnitActiveState.ACTIVE)
    assert {"nfs-on-secondary", "dag-on-secondary"} <= codes(cluster(a, b))


def test_both_primary_and_split_brain() -> None:
    a, b = pair()
    b = set_drbd(b, role=Role.PRIMARY)
    assert "drbd-both-primary" in codes(cluster(a, b))
    a2 = set_drbd(a, connection=ConnectionState.STANDALONE)
    b2 = set_drbd(b, connection=ConnectionState.STANDALONE)
    snap = cluster(a2, b2)
    assert "split-brain" in codes(snap)
    assert next(f for f in snap.findings if f.code == "split-brain").severity == Severity.CRITICAL


def test_peer_outdated_and_sync_progress() -> None:
    a, b = pair()
    snap = cluster(set_drbd(a, peer_disk=DiskState.OUTDATED), b)
    assert "peer-disk-not-uptodate" in codes(snap)
    a3 = set_drbd(a, replication=ReplicationState.SYNC_SOURCE, peer_disk=DiskState.INCONSISTENT, sync_percent=45.2)
    a3 = dataclasses.replace(a3)
    snap = cluster(a3, b)
    sync = next(f for f in snap.findings if f.code == "sync-in-progress")
    assert "45.2%" in sync.message and "vm2 → vm12" in sync.message
    assert snap.verdict == Severity.WARNING


def test_keepalived_master_on_both() -> None:
    a, b = pair()
    b = dataclasses.replace(b, vrrp=dataclasses.replace(b.vrrp, state=VrrpState.MASTER))
    assert "keepalived-master-both" in codes(cluster(a, b))


def test_filesystem_not_mounted_on_primary() -> None:
    a, b = pair()
    snap = cluster(dataclasses.replace(a, mounts={"r0": None}), b)
    assert "fs-not-mounted" in codes(snap)


def test_nfs_up_but_exports_missing() -> None:
    a, b = pair()
    snap = cluster(dataclasses.replace(a, exports=dataclasses.replace(a.exports, exports=())), b)
    f = next(f for f in snap.findings if f.code == "exports-missing")
    assert "/srv/ha/export" in f.message


def test_dag_processor_down_on_active() -> None:
    a, b = pair()
    snap = cluster(set_unit(a, "airflow-dag-processor.service", UnitActiveState.FAILED), b)
    assert "dag-down-active" in codes(snap)
    assert snap.verdict == Severity.CRITICAL


def test_node_unreachable_keeps_the_other_node() -> None:
    a, b = pair()
    down = unreachable_node("vm2", "connect timed out", polled_at=b.polled_at, previous=a)
    snap = cluster(down, b)
    assert "node-unreachable" in codes(snap)
    assert snap.verdict == Severity.CRITICAL
    assert down.last_seen == a.last_seen
    both = cluster(down, unreachable_node("vm12", "refused", polled_at=b.polled_at, previous=b))
    assert both.verdict == Severity.UNKNOWN


def test_pacemaker_present_warns() -> None:
    a, b = pair()
    b = dataclasses.replace(b, cluster_stack=ProcessReport((ProcessEntry(1, "corosync"),)))
    snap = cluster(a, b)
    assert "pacemaker-present" in codes(snap) and snap.verdict == Severity.WARNING


def test_unknown_state_words_do_not_crash_and_are_not_ok() -> None:
    a, b = pair()
    a = set_drbd(a, connection=UnknownState("Wobbly"))
    snap = cluster(a, b)
    assert "replication-down" in codes(snap)
    assert any("Wobbly" in f.message for f in snap.findings)
