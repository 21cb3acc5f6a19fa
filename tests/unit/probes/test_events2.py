"""The events2 stream parser: every line form drbd-utils 9 prints, and the rules of a stream.

Lines follow drbd-utils ``user/v9/drbdsetup_events2.c`` (``print_*_changes``,
``print_helper``) and ``drbdsetup.c`` (``print_*_statistics``, ``susp_str``,
``resync_susp_str``); the real captures are in tests/fixtures (see its README).
"""

from __future__ import annotations

import dataclasses

from tests import TEST_FIXTURES

from hatui.probes.drbd import parse_drbd
from hatui.probes.events2 import Events2State, drbd_report_from_events2
from hatui.states import ConnectionState, DiskState, ReplicationState, Role

TS = "2024-03-01T10:00:00.123456+01:00 "
INITIAL = [
    "exists resource name:r0 role:Secondary suspended:no force-io-failures:no may_promote:no promotion_score:10102",
    "exists connection name:r0 peer-node-id:1 conn-name:vm2 connection:Connected role:Primary",
    "exists device name:r0 volume:0 minor:0 backing_dev:/dev/vdb disk:UpToDate client:no open:no quorum:yes",
    "exists peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0 replication:Established peer-disk:UpToDate "
    "peer-client:no resync-suspended:no",
    "exists path name:r0 peer-node-id:1 conn-name:vm2 local:ipv4:10.0.0.2:7789 peer:ipv4:10.0.0.1:7789 established:yes",
    "exists -",
]


def fed(lines: list[str]) -> Events2State:
    state = Events2State()
    for line in lines:
        state.feed(line)
    return state


def pd_of(state: Events2State):
    return state.report().resources[0].connections[0].peer_devices[0]


def test_initial_dump_then_end_marker():
    state = Events2State()
    assert [state.feed(line) for line in INITIAL[:-1]] == [True] * 5
    assert not state.initial_done
    assert state.feed(INITIAL[-1]) is True and state.initial_done
    assert state.feed(INITIAL[-1]) is False  # already complete
    (res,) = state.report().resources
    assert res.role == Role.SECONDARY and res.suspended is False and res.suspended_reason is None
    assert res.may_promote is False and res.promotion_score == 10102
    dev = res.devices[0]
    assert dev.disk == DiskState.UPTODATE and dev.quorum is True and dev.client is False and dev.minor == 0
    conn = res.connections[0]
    assert conn.peer == "vm2" and conn.peer_node_id == 1 and conn.peer_role == Role.PRIMARY
    assert conn.paths[0].local == "ipv4:10.0.0.2:7789" and conn.paths[0].established is True
    pd = conn.peer_devices[0]
    assert pd.peer_client is False and pd.resync_suspended == "no"


def test_timestamps_and_colors_are_read_through():
    lines = [TS + line for line in INITIAL]
    lines[1] = TS + ("exists connection name:r0 peer-node-id:1 conn-name:vm2 connection:\x1b[1;32mConnected\x1b[0m "
                     "role:\x1b[1mPrimary\x1b[0m")
    state = fed(lines)
    assert state.initial_done and state.malformed == 0
    assert state.report().resources[0].connections[0].connection == ConnectionState.CONNECTED


def test_change_keeps_fields_it_does_not_mention():
    state = fed([*INITIAL, "change resource name:r0 role:Primary"])
    res = state.report().resources[0]
    assert res.role == Role.PRIMARY and res.promotion_score == 10102 and res.suspended is False


def test_diff_form_takes_the_new_value():
    state = fed([*INITIAL, "change resource name:r0 role:Secondary->Primary suspended:no->user,fencing",
                 "change device name:r0 volume:0 minor:0 backing_dev:/dev/vdb disk:UpToDate->Outdated client:no "
                 "open:no quorum:yes->no"])
    res = state.report().resources[0]
    assert res.role == Role.PRIMARY and res.suspended is True and res.suspended_reason == "user,fencing"
    assert res.devices[0].disk == DiskState.OUTDATED and res.devices[0].quorum is False


def test_resync_fields_vanish_when_the_resync_ends():
    state = fed([*INITIAL,
                 "change peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0 replication:SyncTarget "
                 "peer-disk:UpToDate done:42.50 received:100 sent:0 out-of-sync:4096 pending:0 unacked:0"])
    assert pd_of(state).sync_percent == 42.5
    state.feed("change peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0 replication:Established")
    pd = pd_of(state)
    assert pd.replication == ReplicationState.ESTABLISHED and pd.sync_percent is None and pd.eta_seconds is None


def test_statistics_block_without_done_ends_the_resync_details():
    state = fed([*INITIAL,
                 "change peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0 replication:SyncSource "
                 "done:10.00 eta:30 dbdt1:1.00 received:0 sent:100 out-of-sync:900"])
    assert pd_of(state).eta_seconds == 30
    state.feed("change peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0 received:0 sent:200")
    pd = pd_of(state)
    assert pd.sync_percent is None and pd.eta_seconds is None and pd.speed_kib_s is None
    assert pd.replication == ReplicationState.SYNC_SOURCE  # not mentioned: kept


def test_blocked_is_unknown_once_a_statistics_block_stops_saying_it():
    state = fed([*INITIAL, "change device name:r0 volume:0 minor:0 read:1 written:2 blocked:upper"])
    assert state.report().resources[0].devices[0].blocked == "upper"
    state.feed("change device name:r0 volume:0 minor:0 read:1 written:3")
    assert state.report().resources[0].devices[0].blocked is None
    calm = fed([*INITIAL, "change device name:r0 volume:0 minor:0 read:1 written:2 blocked:no",
                "change device name:r0 volume:0 minor:0 read:1 written:3"])
    assert calm.report().resources[0].devices[0].blocked == "no"


def test_peer_device_names_its_connection_without_a_connection_line():
    state = fed(["change peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0 replication:SyncTarget "
                 "peer-disk:UpToDate"])
    (res,) = state.report().resources
    assert res.role is None  # never reported: unknown
    conn = res.connections[0]
    assert conn.peer == "vm2" and conn.connection is None
    assert conn.peer_devices[0].replication == ReplicationState.SYNC_TARGET
    state.feed("change connection name:r0 peer-node-id:1 conn-name:vm2 connection:Connected role:Primary")
    (conn,) = state.report().resources[0].connections  # the same connection, not a second one
    assert conn.connection == ConnectionState.CONNECTED and conn.peer_devices[0].peer_disk == DiskState.UPTODATE


def test_connection_found_by_peer_node_id_when_the_line_has_no_name():
    state = fed([*INITIAL, "change connection name:r0 peer-node-id:1 connection:StandAlone"])
    (conn,) = state.report().resources[0].connections
    assert conn.peer == "vm2" and conn.connection == ConnectionState.STANDALONE


def test_destroy_and_create_and_rename():
    state = fed([*INITIAL, "destroy peer-device name:r0 peer-node-id:1 conn-name:vm2 volume:0"])
    assert state.report().resources[0].connections[0].peer_devices == ()
    assert state.feed("destroy connection name:r0 peer-node-id:1 conn-name:vm2") is True
    assert state.report().resources[0].connections == ()
    assert state.feed("destroy connection name:r0 peer-node-id:1 conn-name:vm2") is False  # already gone
    state.feed("create resource name:r1 role:Secondary suspended:no")
    state.feed("rename resource name:r1 new_name:r2")
    assert [r.name for r in state.report().resources] == ["r0", "r2"]
    state.feed("destroy resource name:r2")
    assert [r.name for r in state.report().resources] == ["r0"]


def test_exists_replaces_the_whole_object():
    state = fed([*INITIAL, "change device name:r0 volume:0 minor:0 read:1 written:2 blocked:upper"])
    state.reset()
    assert not state.initial_done and state.report().resources == ()
    state.feed("exists device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes")
    assert state.report().resources[0].devices[0].blocked is None


def test_helper_calls_are_queued_with_their_exit_code():
    state = fed(INITIAL)
    assert state.feed(TS + "call helper name:r0 peer-node-id:1 conn-name:vm2 volume:0 minor:0 helper:split-brain")
    assert state.feed(TS + "response helper name:r0 peer-node-id:1 conn-name:vm2 volume:0 minor:0 "
                      "helper:split-brain status:0")
    state.feed("response helper name:r0 peer-node-id:1 conn-name:vm2 helper:fence-peer status:1024")
    call, done, fence = state.take_helper_calls()
    assert (call.helper, call.response, call.peer, call.minor) == ("split-brain", False, "vm2", 0)
    assert call.timestamp == TS.strip() and done.response and done.exit_code == 0
    assert fence.status == 1024 and fence.exit_code == 4  # DRBD 9 reports the wait status
    assert state.take_helper_calls() == []
    assert [c.helper for c in state.report().helper_calls] == ["split-brain", "split-brain", "fence-peer"]
    assert len(state.report().resources) == 1  # a helper event changes no object


def test_malformed_and_unknown_lines_change_nothing_and_are_counted():
    bad = [
        "hello world",
        "change",
        "change resource",  # no name
        "change device name:r0 disk:Failed",  # no volume
        "change device name:r0 volume:x disk:Failed",
        "change peer-device name:r0 volume:0 replication:Off",  # no connection
        "change resource name:r0 role:Primary garbage",
        "change frobnicator name:r0 role:Primary",
        "explode resource name:r0 role:Primary",
        "call resource name:r0 helper:x",
        "change helper name:r0 helper:x",
        "exists - trailing",
    ]
    state = fed(INITIAL)
    before = state.report()
    assert not any(state.feed(line) for line in bad)
    assert state.report().resources == before.resources
    assert state.malformed == len(bad) and state.report().ignored == len(bad)
    assert len(state.ignored_lines) == 5 and "exists - trailing" in state.ignored_lines[-1]
    assert state.feed("") is False and state.malformed == len(bad)  # blank lines are not malformed


def test_fold_of_a_whole_text_and_detection():
    report = drbd_report_from_events2("\n".join(INITIAL))
    assert report.source == "events2" and report.resources[0].name == "r0"
    assert drbd_report_from_events2(["garbage"]).source == "error"
    assert parse_drbd("\n".join(TS + line for line in INITIAL)).source == "events2"


def test_real_fixtures():
    connected = drbd_report_from_events2((TEST_FIXTURES / "drbd9-events2-connected.txt").read_text())
    dev = connected.resources[0].devices[0]
    assert dev.quorum is True and dev.client is False and dev.blocked == "no"
    conn = connected.resources[0].connections[0]
    assert conn.congested is False and conn.peer_node_id == 2
    assert conn.peer_devices[0].resync_suspended == "no" and conn.peer_devices[0].peer_client is False
    reconnect = drbd_report_from_events2((TEST_FIXTURES / "drbd9-events2-reconnect.txt").read_text())
    assert reconnect.resources[0].connections[0].connection == ConnectionState.CONNECTING


def test_a_connection_first_seen_by_node_id_keeps_its_objects_when_its_name_arrives():
    state = fed(["change connection name:r0 peer-node-id:1 connection:Connecting",
                 "change peer-device name:r0 peer-node-id:1 volume:0 replication:Off",
                 "change connection name:r0 peer-node-id:1 conn-name:vm2 connection:Connected"])
    (conn,) = state.report().resources[0].connections
    assert conn.peer == "vm2" and conn.connection == ConnectionState.CONNECTED
    assert conn.peer_devices[0].replication == ReplicationState.OFF


def test_a_helper_that_could_not_run_has_no_exit_code():
    state = fed(["response helper name:r0 helper:fence-peer status:4294967294"])  # -ENOENT, printed unsigned
    (call,) = state.take_helper_calls()
    assert call.status == 4294967294 and call.exit_code is None


def test_sync_state_split_brain_is_read_and_goes_with_the_next_connection_line():
    # print_connection_changes: a StandAlone connection's line says sync-state:SplitBrain / Unrelated
    state = fed([*INITIAL, "change connection name:r0 peer-node-id:1 conn-name:vm2 connection:StandAlone "
                           "sync-state:SplitBrain"])
    (conn,) = state.report().resources[0].connections
    assert conn.connection == ConnectionState.STANDALONE and conn.split_brain is True
    assert state.feed("change connection name:r0 peer-node-id:1 conn-name:vm2 connection:Connecting")
    assert state.report().resources[0].connections[0].split_brain is None  # no longer said: not kept
    state.feed("change connection name:r0 peer-node-id:1 conn-name:vm2 connection:StandAlone sync-state:Unrelated")
    assert state.report().resources[0].connections[0].split_brain is False
    assert fed(INITIAL).report().resources[0].connections[0].split_brain is None  # Connected: nothing said


def test_drbd_saying_split_brain_raises_the_split_brain_finding_on_one_side_alone():
    from tests import builders as b

    standalone = "change connection name:r0 peer-node-id:1 conn-name:vm12 connection:StandAlone"
    for tail, expected in ((" sync-state:SplitBrain", True), ("", False)):
        report = drbd_report_from_events2([
            "exists resource name:r0 role:Primary suspended:no",
            "exists connection name:r0 peer-node-id:1 conn-name:vm12 connection:Connected role:Secondary",
            "exists device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes",
            "exists peer-device name:r0 peer-node-id:1 conn-name:vm12 volume:0 replication:Established "
            "peer-disk:UpToDate",
            "exists -", standalone + tail,
            "change peer-device name:r0 peer-node-id:1 conn-name:vm12 volume:0 replication:Off peer-disk:DUnknown"])
        a = b.node("vm2", active=True, peer="vm12")
        a = dataclasses.replace(a, drbd=report)
        c = b.set_drbd(b.node("vm12", active=False, peer="vm2"), connection=ConnectionState.CONNECTING,
                       replication=ReplicationState.OFF, peer_disk=DiskState.DUNKNOWN, peer_role=Role.UNKNOWN)
        found = {f.code for f in b.cluster(a, c).findings}
        # one side StandAlone, the other Connecting: only DRBD's own word makes it a split brain
        assert ("split-brain" in found) is expected and ("standalone" in found) is not expected, found
