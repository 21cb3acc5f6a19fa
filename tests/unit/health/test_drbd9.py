"""DRBD 9 states in the model, the findings, the cells, the JSON and the metrics.

Quorum lost, I/O suspended and why, "can take over" from may_promote and the disk,
intentional diskless clients (not failures), blocked I/O, congestion, a paused resync.
"""

from __future__ import annotations

import dataclasses

from hatui.model import Layer
from hatui.model.drbd9 import can_take_over
from hatui.present.layers import node_layers
from hatui.present.status_json import status_document
from hatui.probes.drbd import parse_drbd_status_text
from hatui.probes.events2 import drbd_report_from_events2
from hatui.service.metrics import snapshot_samples
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, Severity
from tests import builders as b


def pair():
    return b.node("vm2", active=True, peer="vm12"), b.node("vm12", active=False, peer="vm2")


def change(node, res=None, dev=None, conn=None, pd=None):
    """``node`` with fields of its first resource / device / connection / peer device replaced."""
    r = node.drbd.resources[0]
    c = r.connections[0]
    c = dataclasses.replace(c, **(conn or {}),
                            peer_devices=(dataclasses.replace(c.peer_devices[0], **(pd or {})),))
    r = dataclasses.replace(r, **(res or {}), devices=(dataclasses.replace(r.devices[0], **(dev or {})),),
                            connections=(c,))
    return dataclasses.replace(node, drbd=dataclasses.replace(node.drbd, resources=(r,)))


def codes(snap):
    return {f.code: f for f in snap.findings}


def cell(snap, node, layer=Layer.DRBD):
    return next(r for r in node_layers(snap, node) if r.layer == layer)


def test_quorum_lost_on_the_primary_is_critical_and_explains_its_frozen_io():
    a, c = pair()
    a = change(a, res={"suspended": True, "suspended_reason": "quorum"}, dev={"quorum": False})
    snap = b.cluster(a, c)
    found = codes(snap)
    lost = found["quorum-lost"]
    assert lost.severity == Severity.CRITICAL and lost.root and lost.node == "vm2"
    assert found["io-suspended"].caused_by == "quorum-lost"
    assert "promote" not in lost.hint.lower() and lost.acts is None
    assert "NO QUORUM" in cell(snap, "vm2").detail and cell(snap, "vm2").health == Severity.CRITICAL
    assert "resumes by itself once quorum returns" in found["io-suspended"].hint
    doc = status_document(snap)["nodes"][0]["drbd"][0]
    assert doc["volumes"][0]["quorum"] is False and doc["suspended_reason"] == "quorum"
    quorum = [s for s in snapshot_samples("p", snap) if s[0] == "drbd_device_quorum"]
    assert [(s[1][1], s[2]) for s in quorum] == [("vm2", 0.0)]  # vm12's quorum is not reported: no sample


def test_quorum_lost_on_the_standby_is_explained_by_the_broken_link():
    a, c = pair()
    cut = dict(connection=ConnectionState.CONNECTING, peer_disk=DiskState.DUNKNOWN, peer_role=Role.UNKNOWN,
               replication=ReplicationState.OFF)
    a, c = b.set_drbd(a, **cut), change(b.set_drbd(c, **cut), dev={"quorum": False})
    snap = b.cluster(a, c)
    lost = codes(snap)["quorum-lost"]
    assert lost.severity == Severity.WARNING and lost.caused_by == "replication-down"
    assert can_take_over(snap, "vm12").can is False and "quorum" in can_take_over(snap, "vm12").why


def test_intentional_diskless_client_is_not_a_failure():
    a, c = pair()
    c = change(b.set_drbd(c, disk=DiskState.DISKLESS), dev={"client": True})
    a = change(b.set_drbd(a, peer_disk=DiskState.DISKLESS), pd={"peer_client": True})
    snap = b.cluster(a, c)
    found = codes(snap)
    assert "peer-disk-not-uptodate" not in found and snap.verdict == Severity.OK
    assert found["drbd-diskless-client"].severity == Severity.OK
    drbd = cell(snap, "vm12")
    assert "Diskless (client)" in drbd.detail and drbd.health == Severity.OK
    assert "takeover UNSAFE (it is a diskless client of r0" in drbd.detail
    link = cell(snap, "vm2", Layer.REPLICATION)
    assert link.health == Severity.OK and "(client)" in link.detail
    # A Primary client serves through its peer: no bad-disk finding either.
    p = change(b.set_drbd(a, disk=DiskState.DISKLESS), dev={"client": True})
    assert "primary-disk-bad" not in codes(b.cluster(p, c))
    # Diskless without client:yes is a lost disk, as before.
    lost = b.set_drbd(a, disk=DiskState.DISKLESS)
    assert codes(b.cluster(lost, c))["primary-disk-bad"].severity == Severity.CRITICAL


def test_suspended_reasons_give_their_own_next_step():
    a, c = pair()
    user = b.cluster(change(a, res={"suspended": True, "suspended_reason": "user"}), c)
    assert "`drbdadm resume-io r0` on vm2" in codes(user)["io-suspended"].hint
    nodata = b.cluster(change(a, res={"suspended": True, "suspended_reason": "no-data"}), c)
    assert "reattach its disk" in codes(nodata)["io-suspended"].hint
    text = parse_drbd_status_text("r0 role:Primary suspended:user,fencing\n  disk:UpToDate\n"
                                  "  vm12 role:Secondary\n    peer-disk:UpToDate\n")
    assert text.resources[0].suspended is True and text.resources[0].suspended_reason == "user,fencing"


def test_blocked_io_and_congestion_are_warnings_under_their_cause():
    a, c = pair()
    snap = b.cluster(change(a, dev={"blocked": "lower"}, conn={"congested": True}), c)
    found = codes(snap)
    assert found["io-blocked"].severity == Severity.WARNING and "backing disk" in found["io-blocked"].message
    assert found["replication-congested"].severity == Severity.WARNING
    assert "I/O blocked (lower)" in cell(snap, "vm2").detail
    assert "congested" in cell(snap, "vm2", Layer.REPLICATION).detail
    frozen = b.cluster(change(a, res={"suspended": True, "suspended_reason": "user"}, dev={"blocked": "upper"}), c)
    assert codes(frozen)["io-blocked"].caused_by == "io-suspended"


def test_paused_resync_says_why_under_the_resync():
    a, c = pair()
    a = change(b.set_drbd(a, replication=ReplicationState.PAUSED_SYNC_S, peer_disk=DiskState.INCONSISTENT,
                          sync_percent=40.0), pd={"resync_suspended": "user"})
    c = change(b.set_drbd(c, replication=ReplicationState.PAUSED_SYNC_T, disk=DiskState.INCONSISTENT,
                          sync_percent=40.0), pd={"resync_suspended": "peer"})
    snap = b.cluster(a, c)
    assert [f.node for f in snap.findings if f.code == "resync-paused"] == ["vm2"]  # said once, where paused
    paused = codes(snap)["resync-paused"]
    assert paused.caused_by == "sync-in-progress" and "resume-sync r0` on vm2" in paused.hint
    assert "paused (user)" in cell(snap, "vm2", Layer.REPLICATION).detail
    # A pause flag with no resync due is no finding.
    idle = b.cluster(change(pair()[0], pd={"resync_suspended": "dependency"}), pair()[1])
    assert "resync-paused" not in codes(idle)


def test_can_take_over_reads_may_promote():
    a, c = pair()
    snap = b.cluster(a, change(c, res={"may_promote": False, "promotion_score": 10101}))
    assert can_take_over(snap, "vm12").can is True  # may_promote is always no while the peer is Primary
    both_secondary = b.cluster(b.set_drbd(a, role=Role.SECONDARY),
                               change(c, res={"may_promote": False, "promotion_score": 101}))
    refused = can_take_over(both_secondary, "vm12")
    assert refused.can is False and "may_promote no, promotion score 101" in refused.why
    doc = status_document(both_secondary)["nodes"][1]
    assert doc["can_take_over"] == {"value": False, "why": refused.why}
    assert can_take_over(snap, "vm2").can is None  # the Primary itself


def test_helper_calls_ride_on_the_report_and_the_json():
    report = drbd_report_from_events2([
        "exists resource name:r0 role:Primary suspended:no",
        "exists -",
        "call helper name:r0 peer-node-id:1 conn-name:vm12 volume:0 minor:0 helper:split-brain",
        "response helper name:r0 peer-node-id:1 conn-name:vm12 volume:0 minor:0 helper:split-brain status:0",
    ])
    a, c = pair()
    snap = b.cluster(dataclasses.replace(a, drbd=dataclasses.replace(a.drbd, helper_calls=report.helper_calls)), c)
    calls = status_document(snap)["nodes"][0]["drbd_helper_calls"]
    assert [(x["helper"], x["response"], x["exit_code"]) for x in calls] == [("split-brain", False, None),
                                                                             ("split-brain", True, 0)]


def test_a_survivor_without_quorum_is_said_not_to_take_over():
    import time

    from hatui.errors import FailureKind
    from hatui.snapshot.assemble import unreachable_node

    a, c = pair()
    cut = dict(connection=ConnectionState.CONNECTING, peer_disk=DiskState.DUNKNOWN, peer_role=Role.UNKNOWN,
               replication=ReplicationState.OFF)
    c = change(b.set_drbd(c, **cut), dev={"quorum": False})
    gone = unreachable_node("vm2", "connection refused", polled_at=time.time(), previous=a,
                            failure=FailureKind.REFUSED, hint="check its power")
    snap = b.cluster(gone, c)
    root = snap.findings[0]
    assert root.node == "vm2" and "vm12 cannot take over: it has no quorum for r0" in root.message
    assert codes(snap)["quorum-lost"].caused_by == root.code
