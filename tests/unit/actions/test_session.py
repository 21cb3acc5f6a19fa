"""The one action session both front ends drive: prepare, run, retry/roll back/leave, release."""

from __future__ import annotations

import pytest

from hatui.actions import plan_failover
from hatui.actions.outcome import Choice, RunOutcome
from hatui.actions.plan import PlanError
from hatui.actions.session import ActionSession, Decision
from hatui.errors import TransportError
from tests.unit.actions.support import fake_pair


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))


class Frontend:
    """Answers each stop with the next scripted choice and records what it was shown."""

    def __init__(self, *choices: Choice) -> None:
        self.choices = list(choices)
        self.stops: list[RunOutcome] = []
        self.resumed: list[Choice] = []
        self.events: list[str] = []

    def on_event(self, event) -> None:
        self.events.append(event.kind)

    async def after_stop(self, result) -> Choice:
        self.stops.append(result.status)
        return self.choices.pop(0)

    def on_resume(self, result, choice: Choice) -> None:
        self.resumed.append(choice)


def session_for(cluster, transports, poller) -> ActionSession:
    from hatui.actions.runner import ActionRunner

    def runner(decision):
        return ActionRunner(cluster.config, transports, poller, check_interval=0.001,
                            acknowledged=decision.acknowledged)

    return ActionSession(cluster.config, transports, poller, make_runner=runner)


@pytest.mark.asyncio
async def test_a_stopped_run_asks_the_front_end_then_retries_to_success_and_frees_the_lock() -> None:
    cluster, transports, poller = fake_pair()
    cluster.fail["vm12: sudo -n drbdadm primary"] = TransportError("vm12", "connection dropped mid-command")
    session = session_for(cluster, transports, poller)
    prepared = session.prepare(lambda s: plan_failover(s, cluster.config), cluster.snapshot(),
                               await session.lock_status())
    assert prepared.plan is not None and prepared.refusals == []
    front = Frontend(Choice.RETRY)
    result = await session.run(Decision(prepared.plan, "vm12"), front)
    assert front.stops == [RunOutcome.FAILED] and front.resumed == [Choice.RETRY]
    assert result.status == RunOutcome.SUCCEEDED and result.ok
    assert "step-start" in front.events
    assert not any(n.dirs for n in cluster.nodes.values())  # the lock is free


@pytest.mark.asyncio
async def test_leave_keeps_the_pair_as_it_is_but_never_the_lock() -> None:
    cluster, transports, poller = fake_pair()
    cluster.fail["vm12: sudo -n drbdadm primary"] = TransportError("vm12", "connection dropped mid-command")
    session = session_for(cluster, transports, poller)
    plan = plan_failover(cluster.snapshot(), cluster.config)
    result = await session.run(Decision(plan, "vm12"), Frontend(Choice.LEAVE))
    assert result.status == RunOutcome.FAILED and result.status.stopped
    assert result.status.can_retry and result.status.can_roll_back
    assert cluster.nodes["vm2"].role == "Secondary"  # left half switched, as chosen
    assert not any(n.dirs for n in cluster.nodes.values())


def test_prepare_turns_a_plan_error_into_a_prepared_without_plan() -> None:
    cluster, transports, poller = fake_pair()
    session = session_for(cluster, transports, poller)

    def no_plan(snapshot):
        raise PlanError("cannot tell which node is active", "say --to NODE")

    prepared = session.prepare(no_plan, cluster.snapshot(), None)
    assert prepared.plan is None and prepared.error.reason == "cannot tell which node is active"


def test_outcomes_know_what_may_follow() -> None:
    assert [o for o in RunOutcome if o.stopped] == [RunOutcome.FAILED, RunOutcome.ROLLBACK_FAILED,
                                                    RunOutcome.ROLLBACK_REFUSED]
    assert not RunOutcome.ROLLBACK_REFUSED.can_roll_back and RunOutcome.ROLLBACK_REFUSED.can_retry
    assert not RunOutcome.ROLLBACK_FAILED.can_retry and RunOutcome.ROLLBACK_FAILED.can_roll_back
    assert RunOutcome.ROLLED_BACK.ok and not RunOutcome.REFUSED.ok
