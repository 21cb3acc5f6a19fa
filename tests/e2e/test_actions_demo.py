"""Actions against the demo pair over real SSH: failover/failback, guards, crash/drop + retry,
split-brain resolution, timelines and audit.

The demo answers the lock commands and the service probe through the VIP
(hatui/demo/file_commands.py); hatui goes through its normal SSH transport.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from hatui.actions import (
    ActionRunner,
    plan_failover,
    plan_resync,
    preflight,
)
from hatui.actions.audit import read_audit
from hatui.actions.lock import NodeLocks
from hatui.config import load_config
from hatui.snapshot.poller import ClusterPoller
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.asyncio
LOCK_DIR, OWNER = "/run/hatui.lock.d", "/run/hatui.lock.d/owner"


@pytest.fixture(autouse=True)
def isolated_state(monkeypatch, tmp_path):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "hatui-state"))


# ---- helpers ---------------------------------------------------------------------------------


async def session(pair):
    config = load_config(pair.config_path)
    poller = ClusterPoller(config)
    return config, poller, ActionRunner(config, poller.transports, poller, check_interval=0.05)


async def wait_until(poller, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        snap = await poller.poll()
        if predicate(snap):
            return snap
        assert time.monotonic() < deadline, [f.message for f in snap.findings]
        await asyncio.sleep(0.1)


def healthy(snap) -> bool:
    from hatui.states import Severity

    return snap.verdict == Severity.OK


def vm2_noticed_the_loss(snap) -> bool:
    """A reboot takes longer than DRBD's ping timeout: wait for vm2 to see the link gone
    before restoring (the demo keeps a stale Connected side when the peer returns sooner)."""
    return str(snap.node("vm2").resource("r0").connections[0].connection) != "Connected"


async def cli(pair, *args):
    return await run_cli("--config", str(pair.config_path), *args)


# ---- failover and failback -----------------------------------------------------------------


async def test_failover_then_failback_over_the_cli_keeps_the_data(demo):
    demo.sim.write("export/before", "written before the failover")
    dry = await cli(demo, "failover", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "vm12: promote DRBD r0" in dry.stdout and "$ drbdadm primary r0" in dry.stdout
    assert demo.sim.active_node() == "vm2", "a dry run changes nothing"

    done = await cli(demo, "failover", "--confirm", "vm12")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "failover succeeded" in done.stdout
    sim = demo.sim
    assert sim.active_node() == "vm12"
    assert [n for n, x in sim.nodes.items() if x.vip] == ["vm12"]
    assert sim.nodes["vm2"].ka.running and sim.nodes["vm2"].ka.state == "BACKUP"
    assert sim.read("export/before") == "written before the failover"
    sim.write("export/after", "written on vm12")

    refused = await cli(demo, "failback", "--confirm", "vm2")
    assert refused.exit_code == 2 and "flip-flopping" in refused.stderr and "--yes-recent" in refused.stderr
    back = await cli(demo, "failback", "--confirm", "vm2", "--yes-recent")
    assert back.exit_code == 0, back.stdout + back.stderr
    assert sim.active_node() == "vm2" and [n for n, x in sim.nodes.items() if x.vip] == ["vm2"]
    for node in ("vm2", "vm12"):
        assert sim.drbd.read(node, "export/before") == "written before the failover"
        assert sim.drbd.read(node, "export/after") == "written on vm12"

    listed = await cli(demo, "timeline", "--json")
    docs = json.loads(listed.stdout)
    assert [d["header"]["action"] for d in docs] == ["failover", "failback"]
    assert all(d["result"]["result"] == "succeeded" for d in docs)
    steps = docs[0]["steps"]
    assert len(steps) == 11 and all(s["budget"] is not None and s["t_end"] >= s["t_start"] for s in steps)
    text = await cli(demo, "timeline", docs[0]["header"]["id"])
    assert text.exit_code == 0 and "vm12: promote DRBD r0" in text.stdout and "≤ T+20 s" in text.stdout and "≤T+" not in text.stdout

    audit = read_audit()
    events = [(r["action"], r["event"]) for r in audit]
    assert ("failback", "refused") in events and ("failover", "start") in events
    cmds = [r for r in audit if r["event"] == "command"]
    assert any(r["command"] == "drbdadm primary r0" and r["node"] == "vm12" and r["exit_status"] == 0 for r in cmds)
    assert all(r["user"] and r["host"] for r in audit)


# ---- guards ---------------------------------------------------------------------------------


async def test_guards_refuse_each_situation_over_ssh(demo):
    config, poller, _ = await session(demo)
    try:
        async def refusal_codes(plan_fn=lambda s, c: plan_failover(s, c, "vm12")):
            snap = await poller.poll()
            locks = await NodeLocks(config, poller.transports).status_all()
            return [r.code for r in preflight(plan_fn(snap, config), snap, read_only=False, locks=locks)]

        assert await refusal_codes() == []
        demo.sim.drbd.node("vm12").disk = "Outdated"  # the demo has no "outdate" fault yet
        assert await refusal_codes() == ["peer-not-uptodate"]
        demo.sim.drbd.node("vm12").disk = "UpToDate"

        await demo.fault("sync")
        await wait_until(poller, lambda s: any(f.code == "sync-in-progress" for f in s.findings))
        assert "syncing" in await refusal_codes()
        await wait_until(poller, healthy)

        other = await NodeLocks(config, poller.transports).acquire("resync-verify")
        assert set(await refusal_codes()) == {"locked"}
        status = await cli(demo, "lock", "status")
        assert status.exit_code == 1 and "(resync-verify)" in status.stdout
        locked = await cli(demo, "failover", "--confirm", "vm12")
        assert locked.exit_code == 2 and "another action may be running" in locked.stderr
        for node in ("vm2", "vm12"):
            broke = await cli(demo, "lock", "break", "--confirm", node)
            assert broke.exit_code == 0 and "removed" in broke.stdout
        assert (await cli(demo, "lock", "status")).exit_code == 0
        del other

        ro = await cli(demo, "--read-only", "failover", "--confirm", "vm12")
        assert ro.exit_code == 2 and "--read-only" in ro.stderr
        no_tty = await cli(demo, "failover")
        assert no_tty.exit_code == 2 and "--confirm vm12" in no_tty.stderr
        wrong = await cli(demo, "failover", "--confirm", "vm2")
        assert wrong.exit_code == 2 and "does not match 'vm12'" in wrong.stderr

        await demo.fault("crash", "vm12")
        assert "unreachable" in await refusal_codes()
        await wait_until(poller, vm2_noticed_the_loss)
        await demo.fault("restore", "vm12")
        await wait_until(poller, healthy)

        await demo.fault("split-brain")
        await wait_until(poller, lambda s: any(f.code == "split-brain" for f in s.findings))
        assert "split-brain" in await refusal_codes()
    finally:
        await poller.close()
    assert demo.sim.nodes["vm2"].mounted, "no refused action changed anything"


# ---- a failure between demote and promote stops the plan; retry completes ---------------------


@pytest.mark.parametrize("fault", ["crash", "drop"])
async def test_failure_between_demote_and_promote_then_retry(demo, fault):
    demo.sim.write("export/precious", "keep me")
    config, poller, runner = await session(demo)
    try:
        plan = plan_failover(await poller.poll(), config)
        demote = max(i for i, s in enumerate(plan.steps) if s.phase == "detect")

        async def inject(event):
            if event.kind == "step-end" and event.index == demote and event.row.attempt == 1:
                await demo.fault(fault, "vm12")

        result = await runner.run(plan, confirm="vm12", on_event=inject)
        assert result.status == "failed" and result.failed_index == demote + 1, result.summary()
        assert "vm12" in result.error
        assert demo.sim.drbd.node("vm2").role == "Secondary" and demo.sim.drbd.node("vm12").role == "Secondary"
        assert result.lock_held
        if fault == "crash":
            await wait_until(poller, vm2_noticed_the_loss)
            await demo.fault("restore", "vm12")
            await wait_until(poller, lambda s: s.node("vm12").reachable and s.node("vm12").drbd_role("r0") is not None
                             and str(s.node("vm12").resource("r0").connections[0].connection) == "Connected")
        again = await result.retry()
        assert again.status == "succeeded", (again.summary(), again.node_states(),
                                             [f.message for f in again.snapshot.findings])
        assert demo.sim.active_node() == "vm12"
        assert demo.sim.read("export/precious") == "keep me"
        rows = [r for r in again.timeline.rows if r.index == demote + 1]
        assert [r.status for r in rows] == ["failed", "ok"]
    finally:
        await poller.close()


# ---- split brain ---------------------------------------------------------------------------


async def test_split_brain_resolution_discards_the_victim_and_keeps_the_survivor(demo):
    await demo.fault("split-brain")
    config, poller, runner = await session(demo)
    try:
        snap = await wait_until(poller, lambda s: any(f.code == "split-brain" for f in s.findings))
        ask = await cli(demo, "resync", "split-brain")
        assert ask.exit_code == 2 and "choose the victim" in ask.stderr and "vm12: DRBD r0 Primary now" in ask.stdout
        plan = plan_resync("split-brain", snap, config, victim="vm12")
        progress = []
        result = await runner.run(plan, confirm="vm12", on_event=lambda e: progress.append(e.kind))
        assert result.status == "succeeded", result.summary()
        drbd = demo.sim.drbd
        for node in ("vm2", "vm12"):
            assert drbd.node(node).disk == "UpToDate" and drbd.connected(node)
            assert drbd.read(node, "splitbrain/victim") is None, "the victim's divergent write is gone"
            assert drbd.read(node, "splitbrain/survivor") is not None, "the survivor's write is kept"
            assert drbd.read(node, "export/data-0001") == "initial"
        assert drbd.node("vm12").role == "Secondary" and demo.sim.active_node() == "vm2"
        assert result.timeline.path.exists()
        assert any(r["action"] == "resync-split-brain" and r["event"] == "result" for r in read_audit())
    finally:
        await poller.close()


# ---- reconnect, full resync, verify (with progress) ---------------------------------------------


async def test_reconnect_full_resync_and_verify_report_progress(demo):
    config, poller, runner = await session(demo)
    try:
        _, err, rc = demo.shells["vm12"].run("drbdadm disconnect r0")
        assert rc == 0, err
        demo.sim.write("export/while-apart", "missed by vm12")
        snap = await wait_until(poller, lambda s: any(f.code == "standalone" for f in s.findings))
        plan = plan_resync("reconnect", snap, config)
        assert (plan.steps[0].node, plan.steps[0].command) == ("vm12", "drbdadm connect r0")
        result = await runner.run(plan, confirm=plan.confirm_node)
        assert result.status == "succeeded", result.summary()
        assert demo.sim.drbd.read("vm12", "export/while-apart") == "missed by vm12"

        plan = plan_resync("full", await poller.poll(), config)
        events = []
        result = await runner.run(plan, confirm="vm12", on_event=events.append)
        assert result.status == "succeeded", result.summary()
        seen = [e.percent for e in events if e.kind == "progress" and e.percent is not None]
        assert seen and seen == sorted(seen) and 0 <= seen[0] < 100, seen
        assert demo.sim.drbd.node("vm12").disk == "UpToDate"

        plan = plan_resync("verify", await poller.poll(), config)
        result = await runner.run(plan, confirm="vm2")
        assert result.status == "succeeded", result.summary()
        from hatui.actions.resync import out_of_sync_report

        assert out_of_sync_report(result.snapshot, config) == [
            "vm2: DRBD r0 out of sync 0 KiB", "vm12: DRBD r0 out of sync 0 KiB"]
    finally:
        await poller.close()
