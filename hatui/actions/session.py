"""One action session for every front end: plan → lock status → preflight → confirm → run →
retry / roll back / leave → release.

The CLI and the console (and any later front end) differ only in how they ask
the operator: the CLI prompts on a terminal, the console opens screens. So the
flow is written once here and a front end supplies a :class:`Frontend`: how to
show the runner's events and what to do when a run stops half done. The lock
is released on every way out, including an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from hatui.actions.guards import Refusal, preflight
from hatui.actions.lock import NodeLocks
from hatui.actions.outcome import Choice
from hatui.actions.plan import Plan, PlanError
from hatui.actions.runner import ActionEvent, ActionRunner, Poller, RunResult
from hatui.config import Config
from hatui.model import ClusterSnapshot
from hatui.transport import NodeTransport

LOCK_STATUS_TIMEOUT = 15.0
# Refusals the operator may accept explicitly (the console's "switch anyway", the CLI's --yes-recent);
# every other one blocks.
ACKABLE = frozenset({"recent-role-change"})


class Frontend(Protocol):
    """How a front end takes part in a run."""

    def on_event(self, event: ActionEvent) -> Awaitable[None] | None:
        """A step started or ended, progress, the run finished."""

    async def after_stop(self, result: RunResult) -> Choice:
        """The run stopped half done: retry the step, roll back, or leave as is."""

    def on_resume(self, result: RunResult, choice: Choice) -> None:
        """A retry or rollback of ``result`` is about to start."""


@dataclass
class Prepared:
    """A plan (or why there is none) and what preflight says about it."""

    plan: Plan | None
    error: PlanError | None = None
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def blocking(self) -> list[Refusal]:
        return [r for r in self.refusals if r.code not in ACKABLE]

    @property
    def needs_ack(self) -> list[Refusal]:
        return [r for r in self.refusals if r.code in ACKABLE]


@dataclass(frozen=True)
class Decision:
    """What the operator confirmed."""

    plan: Plan
    confirm: str
    acknowledged: tuple[str, ...] = ()


class ActionSession:
    """One pair's actions: prepare a plan against a snapshot, then run a confirmed decision."""

    def __init__(self, config: Config, transports: dict[str, NodeTransport], poller: Poller, *,
                 read_only: bool = False, make_runner: Callable[[Decision], ActionRunner] | None = None) -> None:
        self.config, self.transports, self.poller, self.read_only = config, transports, poller, read_only
        self._make_runner = make_runner

    async def lock_status(self, timeout: float = LOCK_STATUS_TIMEOUT):
        """Both nodes' lock (preflight refuses while another action holds it); TimeoutError past ``timeout``."""
        return await asyncio.wait_for(NodeLocks(self.config, self.transports).status_all(), timeout)

    def prepare(self, build: Callable[[ClusterSnapshot], Plan], snapshot: ClusterSnapshot, locks,
                acknowledged: tuple[str, ...] = ()) -> Prepared:
        """The plan ``build`` makes of ``snapshot``, with preflight's refusals (never raises PlanError)."""
        try:
            plan = build(snapshot)
        except PlanError as exc:
            return Prepared(None, exc)
        return Prepared(plan, refusals=preflight(plan, snapshot, read_only=self.read_only, locks=locks,
                                                 acknowledged=acknowledged))

    def runner(self, decision: Decision) -> ActionRunner:
        """The runner of a confirmed decision (a front end's tests may supply their own)."""
        if self._make_runner is not None:
            return self._make_runner(decision)
        return ActionRunner(self.config, self.transports, self.poller, read_only=self.read_only,
                            acknowledged=decision.acknowledged)

    async def run(self, decision: Decision, frontend: Frontend) -> RunResult:
        """Run ``decision``; while it stops half done, ask the front end what next. The lock is
        released whatever happens (a run left as is keeps the pair as it is, not the lock)."""
        result: RunResult | None = None
        try:
            result = await self.runner(decision).run(decision.plan, confirm=decision.confirm,
                                                     on_event=frontend.on_event)
            while result.status.stopped:
                choice = await frontend.after_stop(result)
                if choice == Choice.LEAVE:
                    break
                frontend.on_resume(result, choice)
                again = result.retry if choice == Choice.RETRY else result.rollback
                result = await again(on_event=frontend.on_event)
            return result
        finally:
            if result is not None and result.lock_held:
                result.lock_problems = await result.release()
