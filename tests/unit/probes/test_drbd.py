"""DRBD parsers: real fixtures plus hand-written samples of the awkward cases."""

from __future__ import annotations

from tests import TEST_FIXTURES

import json

import pytest

from hatui.probes.drbd import (
    drbd_report_from_events2,
    parse_drbd,
    parse_drbd_json,
    parse_drbd_status_text,
    parse_events2_line,
    parse_proc_drbd,
)
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, UnknownState

FIXTURES = TEST_FIXTURES


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def wrap_like_drbdsetup(calls: list[tuple[int, str]], columns: int = 80) -> str:
    """Replay (indent, format) calls through a copy of drbd-utils' wrap_printf.

    Each call is one field as drbdsetup prints it (" role:Primary"); "\\n" ends
    a line. A field that would pass ``columns`` moves to a new line indented by
    its own indent, with its leading spaces dropped (user/shared/wrap_printf.c).
    """
    out, col = [], 0
    for indent, fmt in calls:
        if col and col + len(fmt) > columns:
            out.append("\n")
            col = 0
        if col == 0:
            fmt = fmt.lstrip(" ")
            out.append(" " * indent)
            col = indent
        out.append(fmt)
        col += len(fmt)
        if fmt.endswith("\n"):
            col = 0
    return "".join(out)


# --- fixtures -------------------------------------------------------------------


def test_json_fixture_established():
    report = parse_drbd(fixture("drbd9-status-json-established.json"))
    assert report.source == "json" and report.error is None
    (res,) = report.resources
    assert res.name == "r0" and res.role == Role.PRIMARY and res.suspended is False
    (dev,) = res.devices
    assert (dev.volume, dev.minor, dev.disk, dev.size_kib) == (0, 0, DiskState.UPTODATE, 2109208)
    (conn,) = res.connections
    assert conn.peer == "nodeb"
    assert conn.connection == ConnectionState.CONNECTED and conn.peer_role == Role.SECONDARY
    (pd,) = conn.peer_devices
    assert pd.replication == ReplicationState.ESTABLISHED and pd.peer_disk == DiskState.UPTODATE
    assert pd.sync_percent == 100.0 and pd.out_of_sync_kib == 0
    assert pd.eta_seconds is None and pd.speed_kib_s is None


def test_status_text_fixture_syncsource():
    report = parse_drbd(fixture("drbd9-status-syncsource.txt"))
    assert report.source == "status-text"
    (res,) = report.resources
    assert res.role == Role.PRIMARY
    assert res.devices[0].disk == DiskState.UPTODATE and res.devices[0].volume == 0
    conn = res.connections[0]
    assert conn.peer == "nodeb" and conn.connection == ConnectionState.CONNECTED
    assert conn.peer_role == Role.SECONDARY
    pd = conn.peer_devices[0]
    assert pd.replication == ReplicationState.SYNC_SOURCE
    assert pd.peer_disk == DiskState.INCONSISTENT
    assert pd.sync_percent == 45.23


def test_status_text_fixture_diskless():
    report = parse_drbd(fixture("drbd9-status-diskless.txt"))
    (res,) = report.resources
    assert res.devices[0].disk == DiskState.DISKLESS
    conn = res.connections[0]
    assert conn.peer == "peer" and conn.peer_role == Role.SECONDARY
    assert conn.peer_devices[0].peer_disk == DiskState.UPTODATE
    assert conn.peer_devices[0].replication == ReplicationState.ESTABLISHED


def test_proc_fixture_connected():
    report = parse_drbd(fixture("drbd84-proc-connected.txt"))
    assert report.source == "proc" and report.version == "8.4.11"
    (res,) = report.resources
    assert res.name == "0" and res.role == Role.PRIMARY and res.suspended is False
    assert res.devices[0].minor == 0 and res.devices[0].disk == DiskState.UPTODATE
    conn = res.connections[0]
    assert conn.connection == ConnectionState.CONNECTED and conn.peer_role == Role.SECONDARY
    pd = conn.peer_devices[0]
    assert pd.replication == ReplicationState.ESTABLISHED and pd.peer_disk == DiskState.UPTODATE
    assert pd.out_of_sync_kib == 0 and pd.sync_percent is None


def test_events2_fixture_connected():
    report = parse_drbd(fixture("drbd9-events2-connected.txt"))
    assert report.source == "events2"
    (res,) = report.resources
    assert res.name == "pvc-0a2826c9-7108-11e9-8f74-0026b954ca4c"
    assert res.role == Role.SECONDARY and res.suspended is False
    assert res.devices[0].minor == 1016 and res.devices[0].size_kib == 515948
    conn = res.connections[0]
    assert conn.peer == "kubelet-b" and conn.connection == ConnectionState.CONNECTED
    assert conn.peer_role == Role.SECONDARY
    pd = conn.peer_devices[0]
    assert pd.replication == ReplicationState.ESTABLISHED and pd.out_of_sync_kib == 0


def test_events2_fixture_reconnect_keeps_last_state():
    report = drbd_report_from_events2(fixture("drbd9-events2-reconnect.txt").splitlines())
    (res,) = report.resources
    assert res.name == "r0" and res.role is None
    assert res.connections[0].connection == ConnectionState.CONNECTING
    assert res.connections[0].peer == "remote-host"


# --- detection -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n", "# No currently configured DRBD found.\n"])
def test_no_drbd(text):
    report = parse_drbd(text)
    assert report.source == "none" and report.resources == () and report.error is None


@pytest.mark.parametrize(
    "text", ["sh: 1: drbdsetup: not found", "Command 'drbdsetup status' terminated with exit code 20", "[{oops"]
)
def test_unrecognised_is_one_line_error(text):
    report = parse_drbd(text + "\nsecond line")
    assert report.source == "error" and report.error and "\n" not in report.error


def test_json_empty_array_is_no_resources():
    assert parse_drbd("[\n]\n") == parse_drbd_json("[]")
    assert parse_drbd("[]").source == "json" and parse_drbd("[]").resources == ()


# --- drbdadm status text: hand-written -------------------------------------------------

LONG_RES = "nfs-export-volume-with-a-rather-long-resource-name-for-wrapping-tests"
LONG_PEER = "peer-node-with-a-very-long-hostname.example.internal.datacenter.corp"


def test_status_text_wrapped_at_80_columns_standalone():
    text = (
        f"{LONG_RES}\n"
        "    role:Secondary suspended:user\n"
        "  disk:Outdated\n"
        f"  {LONG_PEER}\n"
        "      connection:StandAlone\n"
        "\n"
    )
    assert all(len(line) <= 80 for line in text.splitlines())
    report = parse_drbd(text)
    assert report.source == "status-text"
    (res,) = report.resources
    assert res.name == LONG_RES and res.role == Role.SECONDARY and res.suspended is True
    assert res.devices[0].disk == DiskState.OUTDATED
    (conn,) = res.connections
    assert conn.peer == LONG_PEER
    assert conn.connection == ConnectionState.STANDALONE
    assert conn.peer_role is None and conn.peer_devices == ()


def test_status_text_wrapped_peer_device_with_statistics():
    calls = [
        (0, "r0"), (4, " role:Primary"), (0, "\n"),
        (2, "volume:0"), (6, " disk:UpToDate"), (6, "\n"),
        (6, " size:10485760 read:123456 written:654321 al-writes:12 bm-writes:0"),
        (6, " upper-pending:0 lower-pending:0"), (6, "\n"),
        (2, "volume:1"), (6, " disk:UpToDate"), (6, "\n"),
        (2, "nodeb"), (6, " role:Secondary"), (0, "\n"),
        (4, "volume:0"), (8, " peer-disk:UpToDate"), (0, "\n"),
        (4, "volume:1"), (8, " replication:SyncSource"), (8, " peer-disk:Inconsistent"),
        (8, " done:45.23"), (8, " resync-suspended:no"), (8, "\n"),
        (8, " received:0"), (8, " sent:4721664"), (8, " out-of-sync:5621504"), (8, " pending:0"),
        (8, " unacked:12"), (8, " dbdt1:47.00"), (8, " eta:117"), (0, "\n"),
        (0, "\n"),
    ]
    narrow = wrap_like_drbdsetup(calls, 80)
    wide = wrap_like_drbdsetup(calls, 10_000)
    assert any(line.startswith("        ") and "unacked" in line for line in narrow.splitlines())
    assert parse_drbd(narrow) == parse_drbd(wide)
    (res,) = parse_drbd(narrow).resources
    assert [d.volume for d in res.devices] == [0, 1]
    (conn,) = res.connections
    vol0, vol1 = conn.peer_devices
    assert vol0.volume == 0 and vol0.replication == ReplicationState.ESTABLISHED
    assert vol1.volume == 1 and vol1.replication == ReplicationState.SYNC_SOURCE
    assert vol1.sync_percent == 45.23 and vol1.out_of_sync_kib == 5621504
    assert vol1.eta_seconds == 117 and vol1.speed_kib_s == 47.0 * 1024


def test_status_text_connecting_and_two_resources():
    text = (
        "r0 role:Primary\n"
        "  disk:UpToDate\n"
        "  nodeb connection:Connecting\n"
        "\n"
        "r1 role:Secondary\n"
        "  volume:0 disk:UpToDate\n"
        "  volume:1 disk:Inconsistent\n"
        "  nodeb role:Primary\n"
        "    volume:0 peer-disk:UpToDate\n"
        "    volume:1 replication:SyncTarget peer-disk:UpToDate done:3.10\n"
        "\n"
    )
    r0, r1 = parse_drbd_status_text(text).resources
    assert r0.connections[0].connection == ConnectionState.CONNECTING
    assert r0.connections[0].peer_role is None and r0.connections[0].peer_devices == ()
    assert [(d.volume, d.disk) for d in r1.devices] == [(0, DiskState.UPTODATE), (1, DiskState.INCONSISTENT)]
    assert r1.connections[0].peer_role == Role.PRIMARY
    assert r1.connections[0].peer_devices[1].replication == ReplicationState.SYNC_TARGET
    assert r1.connections[0].peer_devices[1].sync_percent == 3.10


def test_status_text_unnamed_connection_and_client_fields():
    text = "r0 role:Secondary\n  disk:Diskless client:yes\n  node-id:1 connection:Unconnected\n"
    (res,) = parse_drbd(text).resources
    assert res.devices[0].disk == DiskState.DISKLESS
    (conn,) = res.connections
    assert conn.peer == "" and conn.connection == ConnectionState.UNCONNECTED


def test_status_text_unknown_words_are_kept():
    text = "r0 role:Tertiary\n  disk:Frobnicated\n  nodeb connection:Wibbling\n"
    (res,) = parse_drbd(text).resources
    assert isinstance(res.role, UnknownState) and res.role == "Tertiary"
    assert isinstance(res.devices[0].disk, UnknownState) and res.devices[0].disk == "Frobnicated"
    assert res.connections[0].connection == "Wibbling"
    assert res.connections[0].connection != ConnectionState.CONNECTED


def test_status_text_with_colour_codes():
    text = "r0 role:\x1b[1mPrimary\x1b[0m\n  disk:\x1b[32mUpToDate\x1b[0m\n"
    (res,) = parse_drbd(text).resources
    assert res.role == Role.PRIMARY and res.devices[0].disk == DiskState.UPTODATE


# --- /proc/drbd: hand-written ----------------------------------------------------------

PROC_SYNC = """version: 8.4.11 (api:1/proto:86-101)
GIT-hash: 66145a308421e9c124ec391a7848ac20203bb03c build by mockbuild@, 2018-11-03 01:26:55
 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
    ns:4194304 nr:0 dw:0 dr:4195200 al:8 bm:0 lo:0 pe:4 ua:0 ap:0 ep:1 wo:f oos:6356992
\t[=====>..............] sync'ed: 39.4% (6208/10236)M
\tfinish: 1:02:10 speed: 48,128 (45,312) K/sec
 1: cs:Unconfigured
"""


def test_proc_during_sync():
    report = parse_drbd(PROC_SYNC)
    assert report.source == "proc"
    (res,) = report.resources  # the Unconfigured minor is not a resource
    conn = res.connections[0]
    assert conn.connection == ConnectionState.CONNECTED
    pd = conn.peer_devices[0]
    assert pd.replication == ReplicationState.SYNC_SOURCE and pd.peer_disk == DiskState.INCONSISTENT
    assert pd.sync_percent == 39.4 and pd.out_of_sync_kib == 6356992
    assert pd.eta_seconds == 3600 + 2 * 60 + 10
    assert pd.speed_kib_s == 48128


def test_proc_wfconnection_and_unknown_cs():
    text = (
        "version: 8.4.11 (api:1/proto:86-101)\n"
        " 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s-----\n"
        "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:128\n"
        " 3: cs:Frobbing ro:Secondary/Unknown ds:Outdated/DUnknown   r-----\n"
    )
    res0, res3 = parse_proc_drbd(text).resources
    conn = res0.connections[0]
    assert conn.connection == ConnectionState.WF_CONNECTION and conn.peer_role == Role.UNKNOWN
    assert conn.peer_devices[0].replication == ReplicationState.OFF
    assert conn.peer_devices[0].peer_disk == DiskState.DUNKNOWN
    assert conn.peer_devices[0].out_of_sync_kib == 128
    assert res0.suspended is True
    assert res3.name == "3" and res3.devices[0].minor == 3
    assert isinstance(res3.connections[0].connection, UnknownState)
    assert res3.connections[0].connection == "Frobbing"


def test_proc_drbd9_has_no_minors():
    report = parse_drbd("version: 9.2.8 (api:2/proto:86-122)\nTransports (api:21): tcp (9.2.8)\n")
    assert report.source == "proc" and report.resources == () and report.error


# --- JSON during sync ---------------------------------------------------------------


def _json_with_peer_device(**extra) -> str:
    pd = {
        "volume": 0, "replication-state": "SyncSource", "peer-disk-state": "Inconsistent",
        "peer-client": False, "resync-suspended": "no", "received": 0, "sent": 100,
        "out-of-sync": 5621504, "pending": 0, "unacked": 0,
        "has-sync-details": True, "has-online-verify-details": False, "percent-in-sync": 46.40,
    }
    pd.update(extra)
    return json.dumps([{
        "name": "r0", "role": "Primary", "suspended": False,
        "devices": [{"volume": 0, "minor": 0, "disk-state": "UpToDate", "size": 10485760}],
        "connections": [{"name": "nodeb", "connection-state": "Connected", "peer-role": "Secondary",
                         "peer_devices": [pd]}],
    }])


def test_json_sync_details():
    text = _json_with_peer_device(**{
        "rs-total": 20971520, "rs-dt-start-ms": 120000, "rs-paused-ms": 0,
        "rs-dt0-ms": 3000, "rs-db0-sectors": 290000, "rs-dt1-ms": 3000, "rs-db1-sectors": 288768,
        "rs-failed": 0, "rs-same-csum": 0, "want": 0.0, "db0/dt0 [MiB/s]": 47.2,
        "db1/dt1 [MiB/s]": 47.0, "estimated-seconds-to-finish": 117, "db/dt [MiB/s]": 45.0,
        "percent-resync-done": 45.23,
    })
    pd = parse_drbd(text).resources[0].connections[0].peer_devices[0]
    assert pd.replication == ReplicationState.SYNC_SOURCE
    assert pd.sync_percent == 45.23  # resync progress, not percent-in-sync
    assert pd.eta_seconds == 117 and pd.speed_kib_s == 47.0 * 1024


def test_json_sync_without_rate_sample():
    text = _json_with_peer_device(**{
        "rs-total": 20971520, "rs-dt1-ms": 0, "rs-db1-sectors": 0,
        "estimated-seconds-to-finish": 987654321, "db1/dt1 [MiB/s]": 0.0, "percent-resync-done": 0.5,
    })
    pd = parse_drbd(text).resources[0].connections[0].peer_devices[0]
    assert pd.eta_seconds is None and pd.sync_percent == 0.5


def test_json_tolerates_odd_types():
    text = _json_with_peer_device(**{"percent-in-sync": "99.50", "out-of-sync": "12", "volume": None})
    pd = parse_drbd(text).resources[0].connections[0].peer_devices[0]
    assert pd.sync_percent == 99.5 and pd.out_of_sync_kib == 12 and pd.volume == 0
    assert parse_drbd('{"name": "r0"}').source == "error"


# --- events2 -------------------------------------------------------------------------


def test_events2_line_forms():
    assert parse_events2_line("") is None and parse_events2_line("   ") is None
    end = parse_events2_line("2019-05-07T13:50:23.974032-07:00 exists -")
    assert end.end_of_initial_dump and end.kind == "exists" and end.object == "-"
    assert end.timestamp == "2019-05-07T13:50:23.974032-07:00"
    call = parse_events2_line("call helper name:r0 peer-node-id:1 conn-name:nodeb volume:0 helper:split-brain")
    assert call.kind == "call" and call.object == "helper" and call.fields["helper"] == "split-brain"
    assert call.timestamp is None and not call.end_of_initial_dump
    odd = parse_events2_line("change resource name:r0 role:Primary weird path:ipv4:10.0.0.1:7789")
    assert odd.fields["weird"] == "" and odd.fields["path"] == "ipv4:10.0.0.1:7789"


def test_events2_fold_changes_and_destroy():
    lines = [
        "exists resource name:r0 role:Secondary suspended:no",
        "exists device name:r0 volume:0 minor:0 disk:UpToDate",
        "exists connection name:r0 peer-node-id:1 conn-name:nodeb connection:Connected role:Primary",
        "exists peer-device name:r0 peer-node-id:1 conn-name:nodeb volume:0 replication:Established peer-disk:UpToDate",
        "exists -",
        "change resource name:r0 role:Primary",
        "change peer-device name:r0 peer-node-id:1 conn-name:nodeb volume:0 replication:SyncSource done:12.50",
        "call helper name:r0 peer-node-id:1 conn-name:nodeb volume:0 helper:split-brain",
        "create resource name:r9 role:Secondary",
        "destroy resource name:r9",
        "",
    ]
    (res,) = drbd_report_from_events2(lines).resources
    assert res.role == Role.PRIMARY
    pd = res.connections[0].peer_devices[0]
    assert pd.replication == ReplicationState.SYNC_SOURCE and pd.sync_percent == 12.5
    assert pd.peer_disk == DiskState.UPTODATE
    lines.append("destroy connection name:r0 peer-node-id:1 conn-name:nodeb")
    assert drbd_report_from_events2(lines).resources[0].connections == ()


def test_events2_garbage_only_is_error():
    assert drbd_report_from_events2(["hello world"]).source == "error"
    assert drbd_report_from_events2([]).source == "error"
