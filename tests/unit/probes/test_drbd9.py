"""DRBD 9 fields read the same from every source: status --json, status text, events2.

The text samples follow drbd-utils ``drbdsetup.c`` (``resource_status``, ``device_status``,
``connection_status``, ``peer_device_status``: which fields print when, at which indent);
the JSON and events2 captures are the real ones in tests/fixtures.
"""

from __future__ import annotations

from tests import TEST_FIXTURES
from tests.unit.probes.test_drbd import wrap_like_drbdsetup

from hatui.model.drbd9 import helper_text
from hatui.probes.drbd import parse_drbd, parse_drbd_json, parse_drbd_status_text, parse_proc_drbd
from hatui.probes.records import HelperCall
from hatui.states import DiskState, ReplicationState


def test_json_fixture_reports_quorum_client_congestion_and_pause():
    (res,) = parse_drbd_json((TEST_FIXTURES / "drbd9-status-json-established.json").read_text()).resources
    dev = res.devices[0]
    assert dev.quorum is True and dev.client is False and dev.blocked is None  # JSON has no blocked
    conn = res.connections[0]
    assert conn.congested is False and conn.peer_node_id == 1
    pd = conn.peer_devices[0]
    assert pd.peer_client is False and pd.resync_suspended == "no"
    assert res.suspended is False and res.suspended_reason is None
    assert res.may_promote is None and res.promotion_score is None  # not in this JSON: unknown


def test_json_suspended_without_a_reason_and_a_client():
    text = ('[{"name": "r0", "role": "Secondary", "suspended": true, "devices": [{"volume": 0, "minor": 0, '
            '"disk-state": "Diskless", "client": true, "quorum": false}], "connections": [{"name": "vm2", '
            '"connection-state": "Connected", "congested": true, "peer-role": "Primary", "peer_devices": '
            '[{"volume": 0, "replication-state": "Established", "peer-disk-state": "UpToDate", '
            '"peer-client": false, "resync-suspended": "user,peer"}]}], "may_promote": false, "promotion_score": 1}]')
    (res,) = parse_drbd_json(text).resources
    assert res.suspended is True and res.suspended_reason is None
    assert res.may_promote is False and res.promotion_score == 1
    dev = res.devices[0]
    assert dev.client is True and dev.quorum is False and dev.disk == DiskState.DISKLESS
    assert res.connections[0].congested is True
    assert res.connections[0].peer_devices[0].resync_suspended == "user,peer"


def test_status_text_prints_them_only_when_they_matter():
    report = parse_drbd_status_text(
        "r0 role:Secondary suspended:quorum\n"
        "  disk:Outdated quorum:no blocked:upper\n"
        "  vm2 connection:Connecting\n"
        "\n"
        "r1 role:Primary\n"
        "  disk:Diskless client:yes\n"
        "  vm12 role:Secondary congested:yes\n"
        "    replication:PausedSyncS peer-disk:Inconsistent done:40.00 resync-suspended:user\n"
    )
    r0, r1 = report.resources
    assert r0.suspended is True and r0.suspended_reason == "quorum"
    assert r0.devices[0].quorum is False and r0.devices[0].blocked == "upper" and r0.devices[0].client is False
    assert r1.suspended is False and r1.devices[0].client is True and r1.devices[0].quorum is None  # not printed
    conn = r1.connections[0]
    assert conn.congested is True
    pd = conn.peer_devices[0]
    assert pd.replication == ReplicationState.PAUSED_SYNC_S and pd.resync_suspended == "user" and pd.sync_percent == 40


def test_status_text_wrapped_at_80_columns_keeps_the_new_fields():
    text = wrap_like_drbdsetup([
        (0, "pvc-0a2826c9-7108-11e9-8f74-0026b954ca4c"), (4, " role:Secondary"), (4, " suspended:user,no-data"),
        (0, "\n"),
        (2, "volume:0"), (6, " disk:Diskless"), (6, " client:yes"), (6, " quorum:no"), (6, " blocked:upper,lower"),
        (6, "\n"),
        (2, "kubelet-b"), (6, " role:Primary"), (6, " congested:yes"), (0, "\n"),
        (4, "volume:0"), (8, " replication:SyncTarget"), (8, " peer-disk:UpToDate"), (8, " done:12.00"),
        (8, " resync-suspended:peer,dependency"), (0, "\n"),
    ], columns=60)
    (res,) = parse_drbd_status_text(text).resources
    assert res.suspended_reason == "user,no-data"
    dev = res.devices[0]
    assert (dev.client, dev.quorum, dev.blocked) == (True, False, "upper,lower")
    assert res.connections[0].congested is True
    assert res.connections[0].peer_devices[0].resync_suspended == "peer,dependency"


def test_sources_without_the_fields_leave_them_unknown():
    proc = parse_proc_drbd((TEST_FIXTURES / "drbd84-proc-connected.txt").read_text())
    dev = proc.resources[0].devices[0]
    assert dev.quorum is None and dev.blocked is None
    assert proc.resources[0].may_promote is None and proc.resources[0].connections[0].congested is None
    text = parse_drbd((TEST_FIXTURES / "drbd9-status-diskless.txt").read_text())
    dev = text.resources[0].devices[0]
    assert dev.disk == DiskState.DISKLESS and dev.client is None  # Diskless, client: not printed: unknown


def test_helper_texts_for_the_event_log():
    assert helper_text("vm12", HelperCall("r0", "split-brain", True, status=0)) == \
        "split-brain handler ran on vm12 for r0, exit 0"
    assert helper_text("vm2", HelperCall("r0", "fence-peer", True, status=1280)).endswith("exit 5 (peer unreachable)")
    assert helper_text("vm2", HelperCall("r0", "fence-peer", False)) == "fence-peer handler started on vm2 for r0"
    assert HelperCall("r0", "x", True, status=3).exit_code == 3  # a plain exit code is kept
