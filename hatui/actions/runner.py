"""Runs a plan step by step, proving each step's effect before the next.

For each step the runner (1) skips it when its check already holds on the
latest snapshot (so a retry after an SSH drop never runs ``mount`` twice), (2)
runs the command on its node with the step's timeout, (3) polls both nodes
until the check holds or the step's settle deadline passes. A non-zero exit,
a check that never holds, or a :class:`~hatui.errors.TransportError` (node
down, SSH dropped mid-command, timeout) stops the plan right there: nothing
continues past a failed step. The :class:`RunResult` then carries the failed
step, the state of both nodes, and offers :meth:`RunResult.retry` (that step
and the rest) and :meth:`RunResult.rollback` (undo what ran, in reverse, only
before the point of no return: once the VIP moved, "back" is a new failover).

The lock stays held on both nodes while a failed run waits for the operator's
choice; success, a rollback, or :meth:`RunResult.release` frees it. Every
command goes to the audit log, every step to the timeline, and every step
start/end (and sync progress) to ``on_event`` for a live view.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from hatui.actions import checks as c
from hatui.actions.audit import AuditLog, excerpt
from hatui.actions.guards import Refusal, preflight
from hatui.actions.lock import LockHeld, LockOwner, NodeLocks
from hatui.actions.outcome import RunOutcome
from hatui.actions.plan import Plan, Step
from hatui.config import Config
from hatui.errors import HatuiError
from hatui.model import ClusterSnapshot
from hatui.timelines.saved import StepStatus, Timeline, TimelineRow
from hatui.transport import NodeTransport

CHECK_INTERVAL = 0.2


@dataclass(frozen=True)
class ActionEvent:
    """What the runner tells a live view: ``kind`` is one of refused, started,
    step-start, step-end, progress, finished."""

    kind: str
    plan: Plan
    index: int | None = None
    step: Step | None = None
    row: TimelineRow | None = None  # a copy, safe to keep
    message: str = ""
    percent: float | None = None
    eta_seconds: float | None = None


EventCallback = Callable[[ActionEvent], object]


@dataclass
class _Run:
    plan: Plan
    audit: AuditLog
    timeline: Timeline | None = None
    owner: LockOwner | None = None
    snapshot: ClusterSnapshot | None = None
    attempts: dict[int, int] = field(default_factory=dict)
    executed: list[int] = field(default_factory=list)  # steps whose command was sent, in order
    failed: int | None = None  # the forward step that failed last (what retry() re-runs)

    def timings(self) -> dict[str, object]:
        """The run's step timings for its ``result`` audit record (what ``hatui serve`` exports)."""
        if self.timeline is None:
            return {}
        keep = ("index", "attempt", "node", "phase", "description", "t_start", "t_end", "budget", "status", "over")
        return {"total": self.timeline.offset(),
                "steps": [{k: v for k, v in row.to_dict().items() if k in keep} for row in self.timeline.rows]}


class Poller(Protocol):
    """What the runner polls through: anything that returns a fresh snapshot of the pair."""

    async def poll(self) -> ClusterSnapshot: ...


@dataclass
class RunResult:
    """How a run ended; a failed one can be retried or rolled back from here."""

    plan: Plan
    status: RunOutcome
    failed_index: int | None = None
    error: str | None = None
    refusals: list[Refusal] = field(default_factory=list)
    snapshot: ClusterSnapshot | None = None
    timeline: Timeline | None = None
    lock_problems: list[str] = field(default_factory=list)  # said when the lock could not be released
    _runner: ActionRunner | None = field(default=None, repr=False)
    _run: _Run | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.status = RunOutcome(self.status)  # a plain word from a caller becomes the outcome

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def failed_step(self) -> Step | None:
        return None if self.failed_index is None else self.plan.steps[self.failed_index]

    @property
    def lock_held(self) -> bool:
        return self._run is not None and self._run.owner is not None

    def summary(self) -> str:
        if self.status == RunOutcome.SUCCEEDED:
            return f"{self.plan.kind} succeeded"
        if self.status == RunOutcome.REFUSED:
            return f"{self.plan.kind} refused: " + "; ".join(r.reason for r in self.refusals)
        where = f" at step {self.failed_index + 1}" if self.failed_index is not None else ""
        return f"{self.plan.kind} {self.status}{where}: {self.error}"

    def node_states(self) -> list[str]:
        """Both nodes' state, one line each (shown with a failure)."""
        return describe_nodes(self.snapshot) if self.snapshot is not None else []

    async def retry(self, step: int | None = None, on_event: EventCallback | None = None) -> RunResult:
        """Run the failed step (or ``step``) again and continue to the end."""
        if self._runner is None or self._run is None or self._run.failed is None or not self.status.can_retry:
            raise HatuiError(f"nothing to retry: the run {self.status}")
        start = self._run.failed if step is None else step
        return await self._runner._resume(self._run, start or 0, on_event)

    async def rollback(self, on_event: EventCallback | None = None) -> RunResult:
        """Undo the steps that ran, in reverse (refused past the point of no return)."""
        if self._runner is None or self._run is None or not self.status.can_roll_back:
            raise HatuiError(f"nothing to roll back: the run {self.status}")
        return await self._runner._rollback(self._run, on_event)

    async def release(self) -> list[str]:
        """Free the lock (after a failure the operator chose to leave as is)."""
        if self._runner is None or self._run is None or self._run.owner is None:
            return []
        problems = await self._runner.locks.release(self._run.owner)
        self._run.owner = None
        return problems


def describe_nodes(snap: ClusterSnapshot) -> list[str]:
    """One line per node: reachability, VIP, DRBD role/disk/connection, mount, services."""
    cfg = snap.config
    lines = []
    for n in snap.nodes:
        if not n.reachable:
            lines.append(f"{n.name}: UNREACHABLE ({n.error})")
            continue
        parts = [f"VIP {'held' if n.holds_vip else 'not held'}"]
        for res in cfg.drbd:
            parts.append(f"DRBD {res.resource} {n.drbd_role(res.resource)}/{c.local_disk(n, res.resource)}/"
                         f"{c.connection_state(n, res.resource)}")
            parts.append(f"{res.mount_point} {'mounted' if n.mounts.get(res.resource) else 'not mounted'}")
        for unit in (cfg.services.nfs.unit, cfg.services.dag_processor.unit, cfg.keepalived.unit):
            st = n.unit(unit)
            parts.append(f"{unit} {st.active if st else '?'}")
        lines.append(f"{n.name}: " + ", ".join(parts))
    return lines


class ActionRunner:
    """Runs plans on the pair through the given transports, checking with ``poller``."""

    def __init__(self, config: Config, transports: dict[str, NodeTransport], poller: Poller, *,
                 read_only: bool = False, acknowledged: Iterable[str] = (),
                 check_interval: float = CHECK_INTERVAL) -> None:
        self.config, self.transports, self.poller = config, transports, poller
        self.read_only = read_only
        self.acknowledged = frozenset(acknowledged)
        self.check_interval = check_interval
        self.locks = NodeLocks(config, transports)

    async def run(self, plan: Plan, *, confirm: str | None, on_event: EventCallback | None = None) -> RunResult:
        """Confirm, preflight again, lock both nodes, then run every step in order."""
        run = _Run(plan, AuditLog(plan.kind, cluster=self.config.cluster.name))
        refusals: list[Refusal] = []
        if confirm != plan.confirm_node:
            refusals.append(Refusal("confirmation", f"confirmation {confirm!r} does not match {plan.confirm_node!r}",
                                    f"Type the node name exactly ({plan.confirm_node}) to go ahead."))
        else:
            run.snapshot = await self.poller.poll()
            locks = await self.locks.status_all()
            refusals = preflight(plan, run.snapshot, read_only=self.read_only, locks=locks,
                                 acknowledged=self.acknowledged)
        if not refusals:
            try:
                run.owner = await self.locks.acquire(plan.kind)
            except LockHeld as exc:
                refusals.append(Refusal("locked", str(exc), "Wait for it, or check `hatui lock status`."))
            except HatuiError as exc:
                refusals.append(Refusal("lock-failed", f"cannot take the lock: {exc}", "Check the node and retry."))
        if refusals:
            run.audit.record("refused", plan=plan.to_dict(), confirmation=confirm,
                             refusals=[dataclasses.asdict(r) for r in refusals])
            await _emit(on_event, ActionEvent("refused", plan, message="; ".join(r.reason for r in refusals)))
            return RunResult(plan, RunOutcome.REFUSED, refusals=refusals, snapshot=run.snapshot)
        run.audit.record("start", plan=plan.to_dict(), confirmation=confirm,
                         lock={"token": run.owner.token if run.owner else None},
                         acknowledged=sorted(self.acknowledged))
        run.timeline = Timeline(plan.kind, plan.title)
        await _emit(on_event, ActionEvent("started", plan, message=plan.title))
        return await self._execute(run, list(enumerate(plan.steps)), on_event, rollback=False)

    async def _resume(self, run: _Run, start: int, on_event: EventCallback | None) -> RunResult:
        run.snapshot = await self.poller.poll()  # the pair may have changed while the operator decided
        run.audit.record("retry", step=start + 1)
        return await self._execute(run, list(enumerate(run.plan.steps))[start:], on_event, rollback=False)

    async def _rollback(self, run: _Run, on_event: EventCallback | None) -> RunResult:
        plan = run.plan
        ponr = [i for i in run.executed if plan.steps[i].point_of_no_return]
        if ponr:
            step = plan.steps[ponr[0]]
            error = (f"rollback is not safe: step {ponr[0] + 1} ({step.description}) already ran; going back "
                     f"is a new switchover once the pair is healthy (hatui failover --to {plan.source})")
            run.audit.record("rollback-refused", error=error)
            return RunResult(plan, RunOutcome.ROLLBACK_REFUSED, run.failed, error, snapshot=run.snapshot,
                             timeline=run.timeline, _runner=self, _run=run)
        manual = [i for i in dict.fromkeys(run.executed) if plan.steps[i].undo is None]
        if manual:
            step = plan.steps[manual[0]]
            error = (f"rollback is not available: step {manual[0] + 1} ({step.description}) has no automatic "
                     "undo; retry it, or put it back by hand (the plan shows its command)")
            run.audit.record("rollback-refused", error=error)
            return RunResult(plan, RunOutcome.ROLLBACK_REFUSED, run.failed, error, snapshot=run.snapshot,
                             timeline=run.timeline, _runner=self, _run=run)
        undo = [(i, plan.steps[i].undo) for i in reversed(dict.fromkeys(run.executed))]
        run.snapshot = await self.poller.poll()
        run.audit.record("rollback", steps=[u.to_dict() for _, u in undo if u])
        return await self._execute(run, [(i, u) for i, u in undo if u is not None], on_event, rollback=True)

    async def _execute(self, run: _Run, steps: list[tuple[int, Step]], on_event: EventCallback | None, *,
                       rollback: bool) -> RunResult:
        for index, step in steps:
            error = await self._step(run, index, step, on_event)
            if error is not None:
                status = RunOutcome.ROLLBACK_FAILED if rollback else RunOutcome.FAILED
                if not rollback:
                    run.failed = index
                run.audit.record("result", result=status, step=index + 1, error=error, **run.timings())
                if run.timeline:
                    run.timeline.finish(status, f"step {index + 1}: {error}")
                failed = RunResult(run.plan, status, index, error, snapshot=run.snapshot, timeline=run.timeline,
                                   _runner=self, _run=run)
                await _emit(on_event, ActionEvent("finished", run.plan, index, step, message=failed.summary()))
                return failed
        status = RunOutcome.ROLLED_BACK if rollback else RunOutcome.SUCCEEDED
        run.failed = None
        problems = await self.locks.release(run.owner) if run.owner else []
        run.owner = None
        run.audit.record("result", result=status, lock_problems=problems, **run.timings())
        if run.timeline:
            run.timeline.finish(status, "; ".join(problems))
        result = RunResult(run.plan, status, snapshot=run.snapshot, timeline=run.timeline, _runner=self, _run=run,
                           error="; ".join(problems) or None)
        await _emit(on_event, ActionEvent("finished", run.plan, message=result.summary()))
        return result

    async def _step(self, run: _Run, index: int, step: Step, on_event: EventCallback | None) -> str | None:
        """Run one step; returns None when its effect holds, else why it failed."""
        attempt = run.attempts[index] = run.attempts.get(index, 0) + 1
        assert run.timeline is not None
        row = run.timeline.begin(index, attempt, step.node, step.phase, step.description, step.command,
                                 step.budget(self.config))
        await _emit(on_event, ActionEvent("step-start", run.plan, index, step, dataclasses.replace(row)))
        if step.skip_if_done and run.snapshot is not None and step.check(run.snapshot):
            return await self._end(run, row, index, step, on_event, StepStatus.SKIPPED, None, f"already so: {step.check.text}")
        if step.command is not None:
            # The audit record announcing a command is on disk before the command runs.
            if not run.audit.record("run", step=index + 1, attempt=attempt, node=step.node, command=step.command):
                return await self._end(run, row, index, step, on_event, StepStatus.FAILED, None,
                                       f"the audit log {run.audit.path} cannot be written: command not run")
            run.executed.append(index)
            try:
                result = await self.transports[step.node].run(step.command, timeout=step.timeout)
            except HatuiError as exc:
                run.audit.command(step.node, step.command, exit_status=None, error=str(exc))
                run.snapshot = await self.poller.poll()
                return await self._end(run, row, index, step, on_event, StepStatus.FAILED, None, f"{exc}")
            run.audit.command(step.node, step.command, exit_status=result.exit_status, stdout=result.stdout,
                              stderr=result.stderr, duration=result.duration)
            if result.exit_status != 0:
                run.snapshot = await self.poller.poll()
                why = excerpt(result.stderr or result.stdout, 200) or "no output"
                return await self._end(run, row, index, step, on_event, StepStatus.FAILED, result.exit_status,
                                       f"exit {result.exit_status}: {why}")
        return await self._settle(run, row, index, step, on_event)

    async def _settle(self, run: _Run, row: TimelineRow, index: int, step: Step,
                      on_event: EventCallback | None) -> str | None:
        deadline = time.monotonic() + step.settle
        interval = self.check_interval
        if step.progress:  # a resync can run for hours: poll it at the console's pace
            interval = max(interval, min(self.config.cluster.poll_interval, 2.0))
        while True:
            snap = run.snapshot = await self.poller.poll()
            if step.check(snap):
                return await self._end(run, row, index, step, on_event, StepStatus.OK, 0 if step.command else None, "")
            if step.progress:
                pct, eta = c.progress(snap, step.progress)
                await _emit(on_event, ActionEvent("progress", run.plan, index, step, dataclasses.replace(row),
                                                  percent=pct, eta_seconds=eta))
            if time.monotonic() >= deadline:
                down = [f"{n.name} unreachable ({n.error})" for n in snap.nodes if not n.reachable]
                why = f"not so within {step.settle:g}s: {step.check.text}"
                return await self._end(run, row, index, step, on_event, StepStatus.FAILED, None,
                                       "; ".join([why, *down]))
            await asyncio.sleep(interval)

    async def _end(self, run: _Run, row: TimelineRow, index: int, step: Step, on_event: EventCallback | None,
                   status: StepStatus, exit_status: int | None, detail: str) -> str | None:
        assert run.timeline is not None
        run.timeline.end(row, status, exit_status=exit_status, detail=detail)
        await _emit(on_event, ActionEvent("step-end", run.plan, index, step, dataclasses.replace(row), detail))
        return detail if status == StepStatus.FAILED else None


async def _emit(callback: EventCallback | None, event: ActionEvent) -> None:
    if callback is None:
        return
    out = callback(event)
    if inspect.isawaitable(out):
        await out
