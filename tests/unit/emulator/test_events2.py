"""The DRBD emulator's ``drbdsetup events2`` stream: the dump, the change lines, helpers, subscribers."""

from __future__ import annotations

import re

import pytest

from hatui.emulator.drbd_events import STATS_INTERVAL
from hatui.emulator.drbd_formats import drbd_status_json
from hatui.emulator.drbd_machine import DrbdMachine
from hatui.probes.drbd import drbd_report_from_events2, parse_drbd_json

VM2_PD = "name:r0 peer-node-id:1 conn-name:vm12"  # vm2's connection key (its peer is vm12)
VM12_PD = "name:r0 peer-node-id:0 conn-name:vm2"


class View:
    def __init__(self, m: DrbdMachine) -> None:
        self.drbd = m

    def wall(self) -> float:
        return 1_700_000_000.25


def follow(m: DrbdMachine, node: str, **opts) -> list[str]:
    """The dump then every line the machine emits for ``node`` (a stream as hatui would read it)."""
    lines = list(m.events.dump(node, statistics=opts.get("statistics", False)))
    m.events.subscribe(lines.append, node=node, **opts)
    return lines


def run(m: DrbdMachine, until: float, step: float = 0.1) -> None:
    t = m.now
    while t < until - 1e-9:
        t = round(t + step, 6)
        m.tick(t)


def changes(lines: list[str]) -> list[str]:
    return lines[lines.index("exists -") + 1:]


def state(report) -> list:
    """What both sources carry: roles, disks, connection and replication states, suspension."""
    return [(r.name, r.role, r.suspended, r.suspended_reason,
             [(d.volume, d.minor, d.disk, d.quorum, d.client) for d in r.devices],
             [(c.peer, c.connection, c.peer_role, c.peer_node_id,
               [(p.volume, p.replication, p.peer_disk) for p in c.peer_devices]) for c in r.connections])
            for r in report.resources]


def assert_folds_to_status(m: DrbdMachine, streams: dict[str, list[str]]) -> None:
    for node, lines in streams.items():
        folded = drbd_report_from_events2(lines)
        status = parse_drbd_json(drbd_status_json(View(m), node))
        assert folded.source == "events2" and status.source == "json"
        assert state(folded) == state(status), node


def test_dump_is_the_events2_now_format() -> None:
    m = DrbdMachine()
    assert m.events.dump("vm2") == [
        "exists resource name:r0 role:Primary suspended:no",
        f"exists connection {VM2_PD} connection:Connected role:Secondary",
        "exists device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes",
        f"exists peer-device {VM2_PD} volume:0 replication:Established peer-disk:UpToDate peer-client:no "
        "resync-suspended:no",
        "exists -",
    ]
    stamped = m.events.dump("vm12", timestamps=True, wall=1_700_000_000.25)
    assert all(line.startswith("2023-11-14T22:13:20.250000+00:00 exists ") for line in stamped)


def test_promote_and_demote() -> None:
    m = DrbdMachine()
    a, b = follow(m, "vm2"), follow(m, "vm12")
    assert m.primary("vm12").rc != 0  # refused: nothing changed, nothing printed
    assert changes(a) == changes(b) == []
    m.secondary("vm2")
    m.primary("vm12")
    assert changes(a) == ["change resource name:r0 role:Secondary", f"change connection {VM2_PD} role:Primary"]
    assert changes(b) == [f"change connection {VM12_PD} role:Secondary", "change resource name:r0 role:Primary"]
    assert_folds_to_status(m, {"vm2": a, "vm12": b})


def test_disconnect_and_connect() -> None:
    m = DrbdMachine()
    a, b = follow(m, "vm2"), follow(m, "vm12")
    m.disconnect("vm12")
    assert changes(b) == [f"change connection {VM12_PD} connection:StandAlone role:Unknown",
                          f"change peer-device {VM12_PD} volume:0 replication:Off peer-disk:DUnknown peer-client:no"]
    assert changes(a) == [f"change connection {VM2_PD} connection:Unconnected role:Unknown",
                          f"change peer-device {VM2_PD} volume:0 replication:Off peer-disk:DUnknown peer-client:no"]
    assert_folds_to_status(m, {"vm2": a, "vm12": b})
    del a[a.index("exists -") + 1:], b[b.index("exists -") + 1:]
    m.connect("vm12")
    run(m, 1.0)
    assert changes(b) == [f"change connection {VM12_PD} connection:Connecting",
                          f"change connection {VM12_PD} connection:Connected role:Primary",
                          f"change peer-device {VM12_PD} volume:0 replication:Established peer-disk:UpToDate "
                          "peer-client:no"]
    assert changes(a)[0] == f"change connection {VM2_PD} connection:Connecting"
    assert changes(a)[-1].startswith(f"change peer-device {VM2_PD} volume:0 replication:Established")
    assert_folds_to_status(m, {"vm2": a, "vm12": b})


def test_fencing_handler_call_and_response_in_order() -> None:
    m = DrbdMachine(fencing="resource-and-stonith")
    a = follow(m, "vm2")
    m.cut_link()
    run(m, 1.5)
    assert changes(a) == [
        "change resource name:r0 suspended:fencing",
        f"change connection {VM2_PD} connection:Unconnected role:Unknown",
        f"change peer-device {VM2_PD} volume:0 replication:Off peer-disk:DUnknown peer-client:no",
        f"call helper {VM2_PD} helper:fence-peer",
        f"response helper {VM2_PD} helper:fence-peer status:4",
        "change resource name:r0 suspended:no",
        f"change peer-device {VM2_PD} volume:0 peer-disk:Outdated peer-client:no",
    ]
    report = drbd_report_from_events2(a)
    assert report.resources[0].connections[0].peer_devices[0].peer_disk.value == "Outdated"


def test_split_brain_helper_is_a_device_helper() -> None:
    m = DrbdMachine()
    a = follow(m, "vm2")
    m.cut_link(immediate=True)
    m.primary("vm12")
    m.write("vm2", "x", "1")
    m.write("vm12", "y", "2")
    m.heal_link()
    run(m, 2.0)
    assert f"call helper {VM2_PD} volume:0 minor:0 helper:split-brain" in a
    assert a[-2:] == [f"response helper {VM2_PD} volume:0 minor:0 helper:split-brain status:0",
                      f"change connection {VM2_PD} connection:StandAlone"]


def test_resync_states_and_rate_limited_progress() -> None:
    m = DrbdMachine(sync_rate_kib_s=200 * 1024)
    a, b = follow(m, "vm2", statistics=True), follow(m, "vm12", statistics=True)
    plain = follow(m, "vm12")
    m.invalidate("vm12")
    assert changes(b)[:2] == [
        "change device name:r0 volume:0 minor:0 disk:Inconsistent client:no quorum:yes size:2097080 read:0 "
        "written:0 al-writes:0 bm-writes:0 upper-pending:0 lower-pending:0 al-suspended:no blocked:no",
        f"change peer-device {VM12_PD} volume:0 replication:SyncTarget received:0 sent:0 out-of-sync:2097080 "
        "pending:0 unacked:0 done:0.00 eta:10",
    ]
    assert changes(a) == [f"change peer-device {VM2_PD} volume:0 replication:SyncSource peer-disk:Inconsistent "
                          "peer-client:no received:0 sent:0 out-of-sync:2097080 pending:0 unacked:0 done:0.00 eta:10"]
    assert_folds_to_status(m, {"vm2": a, "vm12": plain})
    stamps = []
    m.events.subscribe(lambda line: stamps.append(m.now) if " done:" in line else None, node="vm12", statistics=True)
    run(m, 5.0, step=0.05)
    progress = [line for line in changes(b) if " done:" in line and "replication:" not in line]
    done = [float(re.search(r" done:(\S+)", line).group(1)) for line in progress]
    assert len(done) >= 3 and done == sorted(done) and 0 < done[0] < done[-1] < 100
    assert all(later - earlier >= STATS_INTERVAL - 1e-9 for earlier, later in zip(stamps, stamps[1:]))
    assert all(" done:" not in line for line in changes(plain))  # progress is a statistic
    assert_folds_to_status(m, {"vm2": a, "vm12": plain})
    run(m, 12.0)
    assert changes(b)[-2:] == [
        "change device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes size:2097080 read:0 "
        "written:0 al-writes:0 bm-writes:0 upper-pending:0 lower-pending:0 al-suspended:no blocked:no",
        f"change peer-device {VM12_PD} volume:0 replication:Established received:2097080 sent:0 out-of-sync:0 "
        "pending:0 unacked:0",
    ]
    assert changes(plain)[-2:] == [
        "change device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes",
        f"change peer-device {VM12_PD} volume:0 replication:Established",
    ]
    assert_folds_to_status(m, {"vm2": a, "vm12": plain})


def test_down_and_up_destroy_then_create() -> None:
    m = DrbdMachine()
    b = follow(m, "vm12")
    m.crash("vm12")
    assert changes(b) == [f"destroy peer-device {VM12_PD} volume:0", f"destroy connection {VM12_PD}",
                          "destroy device name:r0 volume:0 minor:0", "destroy resource name:r0"]
    assert drbd_report_from_events2(b).resources == ()
    assert m.events.dump("vm12") == ["exists -"]
    del b[b.index("exists -") + 1:]
    m.restore("vm12")
    assert changes(b) == [
        "create resource name:r0 role:Secondary suspended:no",
        f"create connection {VM12_PD} connection:Connecting role:Unknown",
        "create device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes",
        f"create peer-device {VM12_PD} volume:0 replication:Off peer-disk:DUnknown peer-client:no resync-suspended:no",
    ]
    run(m, 1.0)
    assert_folds_to_status(m, {"vm12": b})


def test_writes_are_statistics_only() -> None:
    m = DrbdMachine()
    a, s = follow(m, "vm2"), follow(m, "vm2", statistics=True)
    m.tick(5.0)
    m.write("vm2", "k", "v")
    assert changes(a) == []
    assert changes(s)[0].startswith("change device name:r0 volume:0 minor:0 size:2097080 read:0 written:4096 ")
    m.write("vm2", "k2", "v")  # within the second: held back, sent with the next line after it
    assert len(changes(s)) == 2
    m.tick(6.5)
    assert "written:8192" in changes(s)[-2] and "sent:8192" in changes(s)[-1]


def test_timestamps_unsubscribe_and_a_broken_subscriber() -> None:
    m = DrbdMachine()
    got: list[str] = []
    stop = m.events.subscribe(got.append, node="vm2", timestamps=True, wall=lambda: 1_700_000_000.5)

    def broken(line: str) -> None:
        raise BrokenPipeError

    m.events.subscribe(broken, node="vm2")
    assert m.events.subscribers == 2
    m.secondary("vm2")
    assert got == ["2023-11-14T22:13:20.500000+00:00 change resource name:r0 role:Secondary"]
    assert m.events.subscribers == 1  # the broken one is dropped, the machine goes on
    stop()
    stop()  # twice is harmless
    assert m.events.subscribers == 0
    m.primary("vm2")
    assert len(got) == 1
    with pytest.raises(KeyError):
        m.events.subscribe(got.append, node="vm99")
