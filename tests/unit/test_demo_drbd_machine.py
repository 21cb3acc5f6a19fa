"""The pure DRBD state machine: refusals, replication, resync, split brain."""

from __future__ import annotations

from hatui.demo.drbd_machine import DrbdMachine


def run(m: DrbdMachine, start: float, until: float, step: float = 0.05) -> float:
    t = start
    while t < until:
        t += step
        m.tick(t)
    return t


def test_promote_refused_while_peer_primary() -> None:
    m = DrbdMachine(("vm2", "vm12"))
    r = m.primary("vm12")
    assert r.rc == 11
    assert "r0: State change failed: (-1) Multiple primaries not allowed by config" in r.stderr
    assert m.node("vm12").role == "Secondary"


def test_promote_refused_without_uptodate_data_and_force_overrides() -> None:
    m = DrbdMachine(("vm2", "vm12"))
    m.secondary("vm2")
    m.node("vm12").disk = "Inconsistent"
    r = m.primary("vm12")
    assert r.rc == 17 and "(-2) Need access to UpToDate data" in r.stderr
    assert m.primary("vm12", force=True).rc == 0
    assert m.node("vm12").role == "Primary" and m.node("vm12").disk == "UpToDate"


def test_secondary_refused_while_held_open() -> None:
    m = DrbdMachine(("vm2", "vm12"))
    m.set_open("vm2", True)
    r = m.secondary("vm2")
    assert r.rc == 11 and "(-12) Device is held open by someone" in r.stderr
    m.set_open("vm2", False)
    assert m.secondary("vm2").rc == 0


def test_write_replicated_while_connected() -> None:
    m = DrbdMachine(("vm2", "vm12"))
    assert m.write("vm2", "a", "1").rc == 0
    assert m.read("vm12", "a") == "1"
    assert m.out_of_sync_kib("vm2") == 0
    assert m.write("vm12", "b", "x").rc != 0  # a Secondary cannot write


def test_disconnected_writes_resync_with_progress() -> None:
    m = DrbdMachine(("vm2", "vm12"), sync_rate_kib_s=40 * 1024)
    m.cut_link()
    t = run(m, 0, 2.0)
    assert m.node("vm2").conn == "Connecting" and m.node("vm12").conn == "Connecting"
    assert m.peer_disk("vm2") == "DUnknown" and m.peer_role("vm12") == "Unknown"
    gen = m.node("vm2").generation
    for i in range(20):
        m.write("vm2", f"k{i}", "v")
    assert m.node("vm2").generation != gen  # new data generation
    assert m.node("vm2").out_of_sync == {f"k{i}" for i in range(20)}
    assert m.out_of_sync_kib("vm2") == 20 * 4096
    assert m.read("vm12", "k0") is None
    m.heal_link()
    m.tick(t + 0.01)
    assert m.replication("vm2") == "SyncSource" and m.replication("vm12") == "SyncTarget"
    assert m.node("vm12").disk == "Inconsistent"
    seen = []
    t += 0.01
    while m.sync is not None:
        seen.append(m.sync_progress("vm12")["done"])
        assert m.sync_progress("vm12")["eta_s"] >= 0
        t = run(m, t, t + 0.2)
    assert seen[0] < 5 and 0 < seen[len(seen) // 2] < 100
    assert seen == sorted(seen)
    assert m.node("vm12").disk == "UpToDate" and m.replication("vm12") == "Established"
    assert m.sync_progress("vm12") is None and m.percent_in_sync("vm12") == 100
    assert m.read("vm12", "k19") == "v"


def test_split_brain_and_discard_my_data_resolution() -> None:
    m = DrbdMachine(("vm2", "vm12"))
    m.write("vm2", "shared", "before")
    m.cut_link(immediate=True)
    assert m.primary("vm12").rc == 0  # peer unreachable: allowed (and dangerous)
    m.write("vm2", "shared", "survivor")
    m.write("vm12", "shared", "victim")
    m.write("vm12", "only-victim", "x")
    m.heal_link()
    t = run(m, 0, 1.0)
    assert m.node("vm2").conn == "StandAlone" and m.node("vm12").conn == "StandAlone"
    assert any("Split-Brain detected, dropping connection!" in msg for _, _, msg in m.log)
    # victim: disconnect, secondary, connect --discard-my-data; survivor: disconnect, connect
    assert m.disconnect("vm12").rc == 0
    assert m.secondary("vm12").rc == 0
    assert m.connect("vm12", discard_my_data=True).rc == 0
    assert m.disconnect("vm2").rc == 0 and m.connect("vm2").rc == 0
    m.tick(t + 0.01)
    assert m.replication("vm12") == "SyncTarget"
    run(m, t, t + 5)
    for name in ("vm2", "vm12"):
        assert m.node(name).disk == "UpToDate" and m.node(name).conn == "Connected"
    assert m.read("vm12", "shared") == "survivor"
    assert m.read("vm12", "only-victim") is None  # the victim's writes are gone
    assert m.node("vm2").role == "Primary" and m.node("vm12").role == "Secondary"


def test_crash_and_restore_peer_view() -> None:
    m = DrbdMachine(("vm2", "vm12"), ping_timeout=1.0)
    m.crash("vm2")
    run(m, 0, 0.5)
    assert m.node("vm12").conn == "Connected"  # not noticed yet (ping timeout)
    t = run(m, 0.5, 2.0)
    assert m.node("vm12").conn == "Connecting" and m.peer_disk("vm12") == "DUnknown"
    assert m.primary("vm12").rc == 0
    m.write("vm12", "after", "failover")
    m.restore("vm2")
    t = run(m, t, t + 3)
    assert m.node("vm2").role == "Secondary" and m.node("vm2").conn == "Connected"
    assert m.read("vm2", "after") == "failover"


def test_invalidate_and_verify() -> None:
    m = DrbdMachine(("vm2", "vm12"), sync_rate_kib_s=1024 * 1024, verify_rate_kib_s=1024 * 1024)
    assert m.invalidate("vm12").rc == 0
    assert m.replication("vm12") == "SyncTarget" and m.sync.total_kib == m.device_kib
    t = run(m, 0, 3)
    assert m.node("vm12").disk == "UpToDate"
    assert m.verify("vm2").rc == 0
    assert m.replication("vm2") == "VerifyS" and m.replication("vm12") == "VerifyT"
    run(m, t, t + 3)
    assert m.replication("vm2") == "Established"
    m.disconnect("vm2")
    assert m.verify("vm2").rc == 11
