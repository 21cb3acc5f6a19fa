"""ActionRunner on a fake pair: order, stop on failure, retry, safe rollback, lock, audit, timeline."""

from __future__ import annotations

import json

import pytest

from hatui.actions import ActionRunner, plan_failover
from hatui.actions.audit import read_audit
from hatui.actions.lock import NodeLocks
from hatui.errors import TransportError
from hatui.timelines.saved import list_timelines
from hatui.transport import CommandResult
from tests.unit.actions.support import fake_pair


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    return tmp_path


def runner_for(transports, poller, cluster, **kw):
    return ActionRunner(cluster.config, transports, poller, check_interval=0.001, **kw)


def commands(cluster, with_lock=False):
    return [(n, c) for n, c in cluster.log if with_lock or "hatui.lock" not in c]


@pytest.mark.asyncio
async def test_failover_runs_every_step_in_order_and_moves_everything():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    events = []
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12", on_event=events.append)
    assert result.status == "succeeded", result.summary()
    sent = commands(cluster)
    assert [c for _, c in sent] == [s.command for s in plan.steps]
    a, b = cluster.nodes["vm2"], cluster.nodes["vm12"]
    assert (a.role, a.mounted, a.vip, a.units["keepalived.service"]) == ("Secondary", False, False, True)
    assert (b.role, b.mounted, b.vip) == ("Primary", True, True)
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("step-start") == kinds.count("step-end") == len(plan.steps)
    ends = [e.row for e in events if e.kind == "step-end"]
    assert all(r.status == "ok" and r.t_end >= r.t_start and r.budget is not None and r.over is False for r in ends)
    # the lock was taken on both nodes and released
    assert not any(n.dirs for n in cluster.nodes.values())


@pytest.mark.asyncio
async def test_failed_step_stops_the_plan_and_retry_completes(state_dir):
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    cluster.fail["vm12: sudo -n drbdadm primary"] = TransportError("vm12", "connection dropped mid-command")
    runner = runner_for(transports, poller, cluster)
    result = await runner.run(plan, confirm="vm12")
    assert result.status == "failed"
    assert result.failed_index == 4 and "promote" in result.failed_step.description
    assert "connection dropped" in result.error
    assert not any(n == "vm12" for n, _ in commands(cluster)), "nothing ran past the failed step"
    assert result.lock_held and cluster.nodes["vm2"].dirs, "the lock stays while the operator decides"
    assert any(line.startswith("vm2:") for line in result.node_states())
    again = await result.retry()
    assert again.status == "succeeded", again.summary()
    assert cluster.nodes["vm12"].role == "Primary" and cluster.nodes["vm12"].vip
    assert not cluster.nodes["vm2"].dirs
    # timeline: the failed attempt and the retry are both there
    doc = list_timelines()[-1]
    promote = [r for r in doc["steps"] if r["index"] == 4]
    assert [r["status"] for r in promote] == ["failed", "ok"] and promote[1]["attempt"] == 2
    assert doc["result"]["result"] == "succeeded"
    audit = read_audit()
    events = [r["event"] for r in audit]
    assert events[0] == "start" and "retry" in events and events[-1] == "result"
    failed_cmd = [r for r in audit if r["event"] == "command" and r["exit_status"] is None]
    assert failed_cmd and "dropped" in failed_cmd[0]["error"]
    assert all(r["user"] and r["host"] for r in audit)
    assert {r["cluster"] for r in audit} == {cluster.config.cluster.name}, "every record names the pair acted on"


@pytest.mark.asyncio
async def test_nonzero_exit_fails_with_the_node_s_message():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    cluster.fail["vm2: sudo -n umount"] = CommandResult("umount", 32, "", "umount: /srv/ha: target is busy.", 0.0)
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "failed" and result.failed_index == 2
    assert "exit 32" in result.error and "target is busy" in result.error


@pytest.mark.asyncio
async def test_check_that_never_holds_fails_the_step():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    # systemctl says OK but the unit stays up: the check must catch it
    cluster.fail["vm2: sudo -n systemctl stop airflow"] = CommandResult("x", 0, "", "", 0.0)
    plan = plan.__class__(**{**plan.__dict__, "steps": (plan.steps[0].__class__(
        **{**plan.steps[0].__dict__, "settle": 0.01}),) + plan.steps[1:]})
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "failed" and result.failed_index == 0
    assert "inactive on vm2" in result.error


@pytest.mark.asyncio
async def test_rollback_before_the_vip_moved_restores_the_old_active_node():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    cluster.fail["vm12: sudo -n mount"] = CommandResult("mount", 32, "", "mount: bad superblock", 0.0)
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "failed" and result.failed_index == 5
    back = await result.rollback()
    assert back.status == "rolled-back", back.summary()
    a, b = cluster.nodes["vm2"], cluster.nodes["vm12"]
    assert (a.role, a.mounted, a.units["nfs-server.service"], a.units["airflow-dag-processor.service"]) == (
        "Primary", True, True, True)
    assert (b.role, b.mounted) == ("Secondary", False)
    assert not a.dirs and not b.dirs
    # the undo ran in reverse: vm12 demoted before vm2 promoted
    sent = commands(cluster)
    assert sent.index(("vm12", "sudo -n drbdadm secondary r0")) < sent.index(("vm2", "sudo -n drbdadm primary r0"))
    assert sent[-1] == ("vm2", "sudo -n systemctl start airflow-dag-processor.service")


@pytest.mark.asyncio
async def test_rollback_is_refused_after_the_vip_moved():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    cluster.fail["vm2: sudo -n systemctl start keepalived"] = CommandResult("x", 1, "", "Job failed", 0.0)
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "failed" and result.failed_index == 9
    back = await result.rollback()
    assert back.status == "rollback-refused"
    assert "not safe" in back.error and "hatui failover --to vm2" in back.error
    assert back.failed_index == 9 and back.lock_held
    forward = await back.retry()  # fixing forward is still offered
    assert forward.status == "succeeded", forward.summary()
    assert cluster.nodes["vm2"].units["keepalived.service"] and not cluster.nodes["vm2"].dirs


@pytest.mark.asyncio
async def test_confirmation_must_name_the_target_and_refusals_are_audited():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm2")
    assert result.status == "refused" and result.refusals[0].code == "confirmation"
    assert "does not match 'vm12'" in result.refusals[0].reason
    assert commands(cluster, with_lock=True) == []
    rec = read_audit()[-1]
    assert rec["event"] == "refused" and rec["confirmation"] == "vm2" and rec["plan"]["kind"] == "failover"


@pytest.mark.asyncio
async def test_runner_refuses_when_another_action_holds_the_lock():
    cluster, transports, poller = fake_pair()
    other = await NodeLocks(cluster.config, transports).acquire("resync-full")
    plan = plan_failover(cluster.snapshot(), cluster.config)
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "refused" and result.refusals[0].code == "locked"
    assert "another action may be running" in result.refusals[0].reason and "resync-full" in result.refusals[0].reason
    assert cluster.nodes["vm2"].role == "Primary"
    owner = json.loads(cluster.nodes["vm2"].files["/run/hatui.lock.d/owner"])
    assert owner["token"] == other.token, "someone else's lock is never touched"


@pytest.mark.asyncio
async def test_read_only_runner_refuses_and_changes_nothing():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    result = await runner_for(transports, poller, cluster, read_only=True).run(plan, confirm="vm12")
    assert result.status == "refused" and [r.code for r in result.refusals] == ["read-only"]
    assert [c for _, c in commands(cluster)] == []


@pytest.mark.asyncio
async def test_steps_already_done_are_skipped_so_a_replan_resumes():
    cluster, transports, poller = fake_pair()
    a = cluster.nodes["vm2"]
    a.units["airflow-dag-processor.service"] = a.units["nfs-server.service"] = False
    a.mounted, a.role = False, "Secondary"  # a previous run got this far
    plan = plan_failover(cluster.snapshot(), cluster.config, target="vm12")
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "succeeded"
    rows = result.timeline.rows
    assert [r.status for r in rows[:4]] == ["skipped"] * 4
    assert all(n == "vm12" or "keepalived" in c or "nc" in c for n, c in commands(cluster))


@pytest.mark.asyncio
async def test_every_command_is_in_the_audit_log_before_it_runs():
    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    seen_first: list[bool] = []
    for name, transport in transports.items():
        real = transport.run

        async def run(command, *, timeout=None, input=None, _real=real, _node=name):
            if "hatui.lock" not in command:  # a plan step: its "run" record must already be on disk
                announced = [r for r in read_audit() if r["event"] == "run"]
                seen_first.append(bool(announced) and announced[-1]["command"] == command
                                  and announced[-1]["node"] == _node)
            return await _real(command, timeout=timeout, input=input)

        transport.run = run
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status == "succeeded"
    assert len(seen_first) == len(plan.steps) and all(seen_first)


@pytest.mark.asyncio
async def test_a_command_is_not_run_when_its_audit_record_cannot_be_written(monkeypatch):
    from hatui.actions.audit import AuditLog

    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    original = AuditLog.record

    def failing(self, event, **fields):  # a full disk from the first command on
        return False if event == "run" else original(self, event, **fields)

    monkeypatch.setattr(AuditLog, "record", failing)
    result = await runner_for(transports, poller, cluster).run(plan, confirm="vm12")
    assert result.status != "succeeded"
    assert commands(cluster) == []  # not one plan command ran


@pytest.mark.asyncio
async def test_a_planned_switchover_exports_its_step_timings_against_the_budget(state_dir):
    """The result record carries every step's T+ and budget; /metrics shows the latest run per pair."""
    from prometheus_client import CollectorRegistry, generate_latest

    from hatui.history.recorder import audit_pairs
    from hatui.service.metrics import FleetCollector, latest_results

    cluster, transports, poller = fake_pair()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    result = await runner_for(transports, poller, cluster).run(plan, confirm=plan.confirm_node)
    assert result.status == "succeeded", result.summary()
    records = read_audit()
    final = [r for r in records if r["event"] == "result"][-1]
    assert [s["index"] for s in final["steps"]] == list(range(len(plan.steps)))
    assert final["total"] >= final["steps"][-1]["t_end"] >= final["steps"][0]["t_start"] >= 0
    pair = cluster.config.cluster.name
    runs = latest_results(records, audit_pairs(records, {pair: cluster.config}))
    registry = CollectorRegistry()
    registry.register(FleetCollector(lambda: [], dict, lambda: runs))
    text = generate_latest(registry).decode()
    assert f'hatui_action_duration_seconds{{action="failover",pair="{pair}",result="succeeded"}}' in text
    budgeted = [s for s in plan.steps if s.budget(cluster.config) is not None]
    assert budgeted, "a switchover has steps with a documented budget"
    step = budgeted[0]
    labels = f'action="failover",node="{step.node}",pair="{pair}",phase="{step.phase}",step="{step.description}"'
    assert f"hatui_action_step_seconds{{{labels}}}" in text
    assert f"hatui_action_step_budget_seconds{{{labels}}} {float(step.budget(cluster.config))}" in text
