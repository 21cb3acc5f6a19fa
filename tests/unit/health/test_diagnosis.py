"""Facts derived once, the root-cause tree, the safety gate and independent polling."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

from hatui.errors import FailureKind
from hatui.present.layers import node_layers, vip_text
from hatui.model import Act, Finding, Layer
from hatui.snapshot.assemble import unreachable_node
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, Severity
from hatui.present.status_json import status_document
from tests import builders as b
from tests.sim_pair import SimPair


def pair():
    return b.node("vm2", active=True, peer="vm12"), b.node("vm12", active=False, peer="vm2")


def test_sync_direction_is_named_once_and_agrees_everywhere() -> None:
    # WFBitMapS on vm2 (the source) used to be named "vm12 → vm2" by the finding and
    # "vm2 → vm12" by the link; now every reader takes the one fact.
    a, c = pair()
    a = b.set_drbd(a, replication=ReplicationState.WF_BITMAP_S, peer_disk=DiskState.INCONSISTENT, sync_percent=3.0)
    c = b.set_drbd(c, replication=ReplicationState.WF_BITMAP_T, disk=DiskState.INCONSISTENT, sync_percent=3.0)
    snap = b.cluster(a, c)
    sync = snap.facts.main.resync
    assert (sync.source, sync.target) == ("vm2", "vm12")
    finding = next(f for f in snap.findings if f.code == "sync-in-progress")
    assert "vm2 → vm12" in finding.message and finding.node == "vm12"
    assert sum(f.code == "sync-in-progress" for f in snap.findings) == 1  # one per resource, not per side


def test_hung_active_node_keeps_its_role_via_the_peers_drbd_view() -> None:
    a, c = pair()
    hung = unreachable_node("vm2", "no answer within 5s", polled_at=time.time(), previous=a,
                            failure=FailureKind.HUNG, hint="check its console")
    snap = b.cluster(hung, c)
    assert snap.facts.main.roles["vm2"] == Role.PRIMARY  # vm12's DRBD sees it Connected and Primary
    assert snap.facts.vip == {"vm2": None, "vm12": False}
    assert vip_text(snap) == "vm12 does not hold it; vm2 unknown"
    codes = [f.code for f in snap.findings]
    assert codes[0] == "node-hung" and "vip-on-neither" not in codes
    assert "keeps its role" in snap.findings[0].message
    doc = status_document(snap)
    assert doc["vip"]["text"] == "vm12 does not hold it; vm2 unknown"
    assert [n["state"] for n in doc["nodes"]] == ["unreachable", "answered"]
    assert doc["nodes"][0]["failure"] == "node-hung"
    drbd = next(r for r in node_layers(snap, "vm2") if r.layer == Layer.DRBD)
    assert drbd.state == "Primary?" and "vm12" in drbd.detail and drbd.health == Severity.UNKNOWN


def test_failure_classes_have_their_own_codes_and_only_four_are_unreachable() -> None:
    a, c = pair()
    for kind in FailureKind:
        node = unreachable_node("vm12", f"{kind} happened", polled_at=time.time(), previous=c, failure=kind,
                                hint=f"do the {kind} thing")
        snap = b.cluster(a, node)
        first = snap.findings[0]
        assert first.code == kind.value and first.node == "vm12"
        assert f"do the {kind} thing" in first.hint
        assert node.unreachable == kind.unreachable
        assert status_document(snap)["nodes"][1]["state"] == ("unreachable" if kind.unreachable else "not asked")
        if kind in (FailureKind.HOST_KEY_UNKNOWN, FailureKind.AUTH_REJECTED, FailureKind.NAME_UNRESOLVED):
            assert first.severity == Severity.UNKNOWN  # hatui's access, not the node, is the problem
        else:
            assert first.severity == Severity.CRITICAL


def test_vrrp_split_is_the_root_and_the_secondary_is_not_active() -> None:
    a, c = pair()
    c = dataclasses.replace(c, vip_interfaces=("eth0",), vrrp=dataclasses.replace(c.vrrp, state=a.vrrp.state))
    snap = b.cluster(a, c)
    assert snap.active_nodes == ("vm2",)  # the DRBD Primary, not whoever holds the VIP
    root = snap.findings[0]
    assert root.code == "vrrp-split" and root.root and "Stop keepalived on vm12" in root.hint
    rest = {f.code: f.caused_by for f in snap.findings[1:]}
    assert rest == {"vip-on-both": "vrrp-split", "keepalived-master-both": "vrrp-split",
                    "vip-on-secondary": "vrrp-split"}
    assert not any(f.code.endswith("-down-active") for f in snap.findings)


def test_split_brain_gates_mount_and_service_hints() -> None:
    a, c = pair()
    a = b.set_drbd(a, connection=ConnectionState.STANDALONE)
    c = b.set_drbd(c, role=Role.PRIMARY, connection=ConnectionState.STANDALONE)
    snap = b.cluster(a, c)
    assert snap.findings[0].code == "split-brain"
    mount = next(f for f in snap.findings if f.code == "fs-not-mounted")
    assert mount.caused_by == "split-brain" and mount.acts is None
    assert mount.hint.startswith("Do not mount on vm12 yet") and "mount /dev" not in mount.hint


def test_the_gate_lets_a_safe_hint_through() -> None:
    a, c = pair()
    a = b.set_unit(a, "nfs-server.service", b.UnitActiveState.INACTIVE)
    snap = b.cluster(a, c)
    finding = snap.findings[0]
    assert finding.code == "nfs-down-active" and finding.acts == Act.START_SERVICES
    assert finding.hint.startswith("systemctl start nfs-server.service on vm2")


def test_a_root_is_at_least_as_severe_as_what_it_explains() -> None:
    from hatui.health.diagnosis import diagnose

    snap = b.healthy()
    cause = Finding(Severity.WARNING, Layer.KEEPALIVED, "stopped", "", "keepalived-down", "vm2")
    effect = Finding(Severity.CRITICAL, Layer.VIP, "nobody", "", "vip-on-neither")
    findings, verdict = diagnose(snap, [effect, cause])
    assert [(f.code, f.root, f.caused_by, f.severity) for f in findings] == [
        ("keepalived-down", True, None, Severity.CRITICAL),
        ("vip-on-neither", False, "keepalived-down", Severity.CRITICAL)]
    assert verdict == Severity.CRITICAL


def test_unknown_data_is_unknown_not_critical(tmp_path: Path) -> None:
    """--from with files missing or unreadable: those layers are UNKNOWN, and the verdict too."""
    from hatui.snapshot.capture import snapshot_from_dir

    for name in ("vm2", "vm12"):
        (tmp_path / name).mkdir()
    (tmp_path / "vm2" / "drbd.txt").write_text("this is not DRBD output at all\n")
    snap = snapshot_from_dir(tmp_path, b.config())
    assert snap.verdict == Severity.UNKNOWN
    assert {f.code for f in snap.findings} == {"not-reported", "unreadable"}
    for name in ("vm2", "vm12"):
        for row in node_layers(snap, name):
            assert row.health in (Severity.UNKNOWN, Severity.OK), (name, row)
    vm2 = {r.layer: r for r in node_layers(snap, "vm2")}
    assert "could not be read" in vm2[Layer.DRBD].detail and "not reported" in vm2[Layer.MOUNT].detail
    assert vip_text(snap) == "unknown"


def test_status_json_has_root_and_caused_by(tmp_path: Path) -> None:
    a, c = pair()
    c = dataclasses.replace(c, vip_interfaces=("eth0",))
    doc = status_document(b.cluster(a, c))
    first, *rest = doc["findings"]
    assert first["root"] is True and first["caused_by"] is None
    assert all(f["root"] is False and f["caused_by"] == first["code"] for f in rest)
    json.dumps(doc)


def test_a_hung_node_does_not_hold_back_the_other() -> None:
    async def scenario() -> None:
        pair_ = SimPair()
        pair_.advance(2)
        await pair_.poll()
        pair_.fault("hang vm2")
        real_run = pair_.poller.transports["vm2"].run

        async def never(*args, **kwargs):  # a node that accepts and never answers, as in the demo
            await asyncio.sleep(3600)
            return await real_run(*args, **kwargs)

        pair_.poller.transports["vm2"].run = never
        started = time.monotonic()
        snap = await pair_.poller.poll(0.3)
        assert time.monotonic() - started < 2
        vm2, vm12 = snap.nodes
        assert vm12.reachable and snap.taken_at - vm12.polled_at < 1  # fresh
        assert not vm2.reachable and vm2.failure == FailureKind.HUNG and "0.3s" in vm2.error
        # The per-node path the console uses: vm12 answers again while vm2's poll is still in flight.
        await pair_.poller.poll_node("vm12")
        again = pair_.poller.assemble()
        assert again.node("vm12").polled_at > vm12.polled_at
        await pair_.poller.close()

    asyncio.run(scenario())


def test_data_loss_window_and_fencing_states() -> None:
    from hatui.probes.drbd_config import parse_fencing

    cut = dict(connection=ConnectionState.CONNECTING, peer_disk=DiskState.DUNKNOWN, peer_role=Role.UNKNOWN,
               replication=ReplicationState.OFF)
    a, c = pair()
    a = dataclasses.replace(b.set_drbd(a, **cut), fencing={"r0": "dont-care"})
    c = dataclasses.replace(b.set_drbd(c, **cut), fencing={"r0": "dont-care"})
    snap = b.cluster(a, c)
    window = next(f for f in snap.findings if f.code == "data-loss-window")
    assert window.severity == Severity.CRITICAL and window.caused_by == "replication-down"
    assert snap.findings[0].code == "replication-down" and snap.findings[0].severity == Severity.CRITICAL
    assert "fencing dont-care" in window.message and "drbdadm outdate r0` on vm12" in window.hint
    assert snap.facts.takeover_safe("vm12")[0] is False
    # The kit's fencing outdated the peer: no window, the standby cannot take over, and says why.
    a2 = b.set_drbd(a, peer_disk=DiskState.OUTDATED)
    c2 = b.set_drbd(c, disk=DiskState.OUTDATED)
    fenced = b.cluster(a2, c2)
    assert "data-loss-window" not in {f.code for f in fenced.findings}
    assert fenced.facts.takeover_safe("vm12") == (False, "its disk of r0 is Outdated")
    vm12_drbd = next(r for r in node_layers(fenced, "vm12") if r.layer == Layer.DRBD)
    assert "takeover UNSAFE" in vm12_drbd.detail and "fencing dont-care" in vm12_drbd.detail
    # Frozen I/O (resource-and-stonith, handler failed): CRITICAL, but no window.
    res = dataclasses.replace(a.drbd.resources[0], suspended=True, suspended_reason=None)
    a3 = dataclasses.replace(a, drbd=dataclasses.replace(a.drbd, resources=(res,)),
                             fencing={"r0": "resource-and-stonith"})
    frozen = b.cluster(a3, c)
    codes = {f.code: f for f in frozen.findings}
    assert "data-loss-window" not in codes and "suspended (fencing)" in codes["io-suspended"].message
    assert "resume-io" in codes["io-suspended"].hint and "never while vm12 may be Primary" in codes["io-suspended"].hint
    assert frozen.facts.takeover_safe("vm12")[0] is True
    assert status_document(frozen)["nodes"][0]["drbd"][0]["suspended"] == "fencing"
    # The policy as drbdsetup show / drbdadm dump print it (defaults left out).
    assert parse_fencing("resource r0 {\n    net {\n        fencing resource-and-stonith;\n    }\n}\n"
                         "resource \"r1\" {\n    options {\n    }\n}\n") == {"r0": "resource-and-stonith",
                                                                        "r1": "dont-care"}
    assert parse_fencing("not a config") == {}


def test_proc_drbd_minors_are_named_after_the_configured_device(tmp_path: Path) -> None:
    """DRBD 8.4's /proc/drbd has minors, not names: minor 0 is the resource on /dev/drbd0."""
    from hatui.snapshot.capture import snapshot_from_dir
    from tests import TEST_FIXTURES

    for name in ("vm2", "vm12"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "proc-drbd.txt").write_text((TEST_FIXTURES / "drbd84-proc-connected.txt").read_text())
    snap = snapshot_from_dir(tmp_path, b.config())
    assert snap.node("vm2").resource("r0") is not None
    assert "drbd-resource-down" not in {f.code for f in snap.findings}
    both = next(f for f in snap.findings if f.code == "drbd-both-primary")
    assert "while connected" in both.message  # dual-primary, not a split
