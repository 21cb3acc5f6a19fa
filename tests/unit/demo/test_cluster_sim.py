"""The simulated pair: automatic failover, restore, VRRP block, services."""

from __future__ import annotations

from hatui.demo.cluster_sim import ClusterSim


def advance(sim: ClusterSim, seconds: float, step: float = 0.05) -> None:
    end = sim.now + seconds
    while sim.now < end:
        sim.tick(sim.now + step)


def steps(sim: ClusterSim, node: str) -> list[str]:
    return [e["step"] for e in sim.node(node).journal]


def test_steady_state() -> None:
    sim = ClusterSim()
    advance(sim, 2)
    assert sim.active_node() == "vm2"
    assert sim.node("vm2").vip and not sim.node("vm12").vip
    assert sim.node("vm2").ka.state == "MASTER" and sim.node("vm12").ka.state == "BACKUP"
    assert abs(sim.vrrp.master_down_interval("vm12") - 3.609375) < 1e-9


def test_crash_of_active_node_fails_over_in_seed_order() -> None:
    sim = ClusterSim()
    sim.write("doc", "precious")
    sim.crash("vm2")
    advance(sim, 3.0)
    assert not sim.node("vm12").vip  # master-down interval (3.61 s) not over yet
    advance(sim, 8.0)
    order = [s for s in steps(sim, "vm12") if s in ("detect", "vip", "promote", "mount", "nfs", "dag", "available")]
    assert order == ["detect", "vip", "promote", "mount", "nfs", "dag", "available"]
    assert all(e["ok"] for e in sim.node("vm12").journal)
    ts = [e["ts"] for e in sim.node("vm12").journal]
    assert ts == sorted(ts)
    assert sim.node("vm12").vip and not sim.node("vm2").vip
    assert sim.active_node() == "vm12"
    assert sim.drbd.node("vm12").role == "Primary"
    assert sim.read("doc") == "precious"  # the data survived the failover
    for unit in (sim.nfs_unit, sim.dag_unit):
        assert sim.unit("vm12", unit).active


def test_restore_rejoins_as_secondary_and_resyncs() -> None:
    sim = ClusterSim(heartbeat_interval=0.5, sync_rate_kib_s=8 * 1024)
    sim.crash("vm2")
    advance(sim, 12)
    sim.write("written-during-outage", "yes")
    sim.restore("vm2")
    saw_sync = False
    for _ in range(200):
        advance(sim, 0.1)
        saw_sync = saw_sync or sim.drbd.replication("vm2") == "SyncTarget"
        if saw_sync and sim.drbd.replication("vm2") == "Established":
            break
    assert saw_sync
    assert sim.drbd.node("vm2").role == "Secondary" and sim.drbd.node("vm2").disk == "UpToDate"
    assert sim.drbd.read("vm2", "written-during-outage") == "yes"
    assert sim.node("vm2").ka.state == "BACKUP"  # nopreempt: no failback
    assert sim.active_node() == "vm12" and sim.node("vm12").vip and not sim.node("vm2").vip


def test_block_vrrp_both_hold_the_vip_and_guard_refuses_promote() -> None:
    sim = ClusterSim()
    sim.vrrp.block()
    advance(sim, 6)
    assert sim.node("vm2").vip and sim.node("vm12").vip
    assert sim.node("vm12").ka.state == "MASTER"
    promote = [e for e in sim.node("vm12").journal if e["step"] == "promote"]
    assert promote and not promote[0]["ok"]  # peer is Primary: the kit refuses
    assert sim.drbd.node("vm12").role == "Secondary"
    sim.vrrp.unblock()
    advance(sim, 2)
    assert sim.node("vm2").vip and not sim.node("vm12").vip
    assert sim.node("vm12").ka.state == "BACKUP"


def test_stop_service_and_keepalived() -> None:
    sim = ClusterSim()
    sim.stop_service("vm2", "nfs-server.service")
    assert not sim.unit("vm2", "nfs-server.service").active
    assert sim.unit("vm2", "nfs-server.service").main_pid == 0
    sim.start_service("vm2", "nfs-server.service")
    assert sim.unit("vm2", "nfs-server.service").active
    sim.vrrp.stop_keepalived("vm2")  # clean stop: priority 0, release, peer takes over fast
    assert not sim.node("vm2").vip and sim.drbd.node("vm2").role == "Secondary"
    advance(sim, 1.0)
    assert sim.node("vm12").vip
    advance(sim, 6)
    assert sim.active_node() == "vm12"


def test_split_brain_fault() -> None:
    sim = ClusterSim()
    sim.fault("split-brain")
    advance(sim, 1)
    assert sim.drbd.node("vm2").conn == "StandAlone" and sim.drbd.node("vm12").conn == "StandAlone"
    assert sim.drbd.read("vm2", "splitbrain/survivor") and sim.drbd.read("vm12", "splitbrain/victim")


def test_sync_fault_and_fault_dispatch_errors() -> None:
    sim = ClusterSim()
    sim.fault("sync")
    advance(sim, 1.0)  # Unconnected -> Connecting (connect retry) -> handshake
    assert sim.drbd.replication("vm2") == "SyncSource"
    assert sim.drbd.sync_progress("vm2")["done"] < 100
    for bad in (("nope", None), ("crash", None), ("crash", "vm99")):
        try:
            sim.fault(*bad)
        except (ValueError, KeyError):
            pass
        else:
            raise AssertionError(bad)


def test_notify_master_after_a_planned_switchover_is_idempotent() -> None:
    """hatui's switchover does every step before the VIP moves; the kit then finds it all done."""
    sim = ClusterSim()
    advance(sim, 1)
    for unit in (sim.dag_unit, sim.nfs_unit):
        sim.stop_service("vm2", unit)
    assert sim.umount("vm2") is None and sim.drbd.secondary("vm2").rc == 0
    assert sim.drbd.primary("vm12").rc == 0 and sim.mount("vm12") is None
    for unit in (sim.nfs_unit, sim.dag_unit):
        sim.start_service("vm12", unit)
    sim.vrrp.stop_keepalived("vm2")  # priority 0: vm12 takes the VIP and runs notify_master
    advance(sim, 8)
    kit = {e["step"]: e for e in sim.node("vm12").journal}
    assert sim.active_node() == "vm12" and sim.node("vm12").vip
    assert all(e["ok"] for e in sim.node("vm12").journal)
    assert kit["promote"]["detail"] == "already Primary (r0)"
    assert kit["mount"]["detail"] == "already mounted: /srv/ha"
    assert kit["nfs"]["detail"].startswith("already active") and kit["dag"]["detail"].startswith("already active")
    assert kit["available"]["ok"]
