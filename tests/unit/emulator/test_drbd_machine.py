"""The pure DRBD state machine: refusals, replication, resync, split brain."""

from __future__ import annotations

from hatui.emulator.drbd_fencing import simulated_fence_peer
from hatui.emulator.drbd_machine import DrbdMachine


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


# ---- fencing (hatui.emulator.drbd_fencing) ------------------------------------------------------------


def fenced_pair(policy: str = "resource-and-stonith", rc: int | None = None) -> tuple[DrbdMachine, list]:
    """A pair with ``policy``; fence-peer answers ``rc`` (None: the simulated SSH handler) and is recorded."""
    calls: list = []

    def handler(m, call):
        calls.append(call)
        return simulated_fence_peer(m, call) if rc is None else rc

    return DrbdMachine(("vm2", "vm12"), fencing=policy, run_helper=handler), calls


def test_dont_care_primary_keeps_acknowledging_after_link_loss() -> None:
    m, calls = fenced_pair("dont-care")
    m.cut_link(immediate=True)
    assert m.write("vm2", "k", "v").rc == 0 and m.suspended("vm2") is None
    assert calls == [] and m.node("vm12").disk == "UpToDate"  # the hole fencing closes


def test_stonith_suspends_and_resumes_only_when_the_handler_exits_4_or_7() -> None:
    for rc, resumes in ((4, True), (7, True), (3, False), (5, False), (6, False), (1, False)):
        m, calls = fenced_pair(rc=rc)
        m.run_helper = None  # queue the call: look at the suspension while the handler "runs"
        m.cut_link(immediate=True)
        assert m.suspended("vm2") == "fencing"
        write = m.write("vm2", "k", "v")
        assert write.rc != 0 and "suspended" in write.stderr and m.read("vm2", "k") is None
        [call] = m.take_helper_calls()
        assert (call.node, call.helper, call.peer) == ("vm2", "fence-peer", "vm12")
        m.helper_done(call, rc)
        assert (m.suspended("vm2") is None) == resumes, rc
        assert (m.write("vm2", "k", "v").rc == 0) == resumes, rc
        assert m.peer_disk("vm2") == ("Outdated" if resumes else "DUnknown")
    # the operator resumes by hand
    m.resume_io("vm2")
    assert m.suspended("vm2") is None and m.write("vm2", "k", "v").rc == 0


def test_resource_only_calls_the_handler_without_suspending() -> None:
    m, calls = fenced_pair("resource-only", rc=5)
    m.cut_link(immediate=True)
    assert [c.helper for c in calls] == ["fence-peer"] and m.suspended("vm2") is None
    assert m.write("vm2", "k", "v").rc == 0


def test_simulated_handler_outdates_the_peer_over_the_public_network_unless_partitioned() -> None:
    m, _ = fenced_pair()
    m.cut_link()
    run(m, 0, 1.5)  # both notice by ping timeout
    assert m.node("vm12").disk == "Outdated" and m.suspended("vm2") is None
    assert m.write("vm2", "k", "v").rc == 0
    p, _ = fenced_pair()
    p.public_cut.add("vm2")  # full partition of vm2: the handler cannot reach vm12
    p.cut_link()
    run(p, 0, 1.5)
    assert p.suspended("vm2") == "fencing" and p.node("vm12").disk == "UpToDate"
    # vm12's own fence-peer cannot reach vm2 either: "assumed dead", it may be promoted (as after a
    # crash), while vm2 stays frozen: vm2 acknowledges nothing vm12 lacks
    assert p.primary("vm12").rc == 0 and p.write("vm12", "new", "1").rc == 0
    assert p.suspended("vm2") == "fencing" and p.write("vm2", "lost", "x").rc != 0
    # an Outdated peer is never assumed dead: the refusal stands
    q, _ = fenced_pair(rc=3)
    q.secondary("vm2")
    q.cut_link(immediate=True)
    r = q.primary("vm12")
    assert r.rc == 11 and "(-7) Refusing to be Primary while peer is not outdated" in r.stderr


def test_outdate_refusals_and_promote_refused_on_an_outdated_disk() -> None:
    m, _ = fenced_pair(rc=4)
    r = m.outdate("vm12")
    assert r.rc == 11 and "(-6) Refusing to be Outdated while Connected" in r.stderr
    m.cut_link(immediate=True)
    r = m.outdate("vm2")
    assert r.rc == 17 and "(-2) Need access to UpToDate data" in r.stderr and m.node("vm2").disk == "UpToDate"
    assert m.outdate("vm12").rc == 0 and m.node("vm12").disk == "Outdated"
    assert m.outdate("vm12").rc == 0  # already Outdated: nothing to do
    m.crash("vm2")
    r = m.primary("vm12")
    assert r.rc == 17 and "(-2) Need access to UpToDate data" in r.stderr and m.node("vm12").role == "Secondary"
    m.node("vm12").disk = "Inconsistent"
    r = m.outdate("vm12")
    assert r.rc == 5 and "(-16) Disk state is lower than outdated" in r.stderr


def test_resync_clears_outdated_and_runs_unfence_peer() -> None:
    m, calls = fenced_pair()
    m.cut_link()
    t = run(m, 0, 1.5)
    for i in range(3):
        assert m.write("vm2", f"k{i}", "v").rc == 0
    assert m.node("vm12").disk == "Outdated"
    m.heal_link()
    t = run(m, t, 6.0)
    assert m.node("vm12").disk == "UpToDate" and m.read("vm12", "k2") == "v"
    assert [c.helper for c in calls] == ["fence-peer", "unfence-peer"]


def test_disconnected_promote_runs_fence_peer_first() -> None:
    m, calls = fenced_pair(rc=4)
    m.secondary("vm2")
    m.cut_link(immediate=True)
    assert calls == []  # a Secondary that loses the link fences nobody
    assert m.primary("vm12").rc == 0 and [c.node for c in calls] == ["vm12"]
    m2, _ = fenced_pair(rc=6)  # the peer says it is Primary: this node outdates itself
    m2.secondary("vm2")
    m2.cut_link(immediate=True)
    assert m2.primary("vm12").rc == 11 and m2.node("vm12").disk == "Outdated"


def test_config_and_status_show_fencing() -> None:
    from hatui.emulator.drbd_fencing import FencingConfig, drbdadm_dump, drbdsetup_show

    cfg = FencingConfig("resource-and-stonith", "/kit/hatui-fence-peer fence", "/kit/hatui-fence-peer unfence")
    m = DrbdMachine(("vm2", "vm12"), fencing=cfg, run_helper=None)
    dump = drbdadm_dump(m, "vm2")
    assert "fencing         resource-and-stonith;" in dump
    assert 'fence-peer      "/kit/hatui-fence-peer fence";' in dump
    assert "fencing         resource-and-stonith;" in drbdsetup_show(m, "vm2")
    plain = DrbdMachine(("vm2", "vm12"))
    assert "fencing" not in drbdadm_dump(plain, "vm2")  # the default is not printed, as DRBD does
    assert m.snapshot()["fencing"] == "resource-and-stonith"
