"""Failover (``F``), failback (``B``) and resync (``R``) from the console: a controller that
drives the one action session and tells the app what happens with Textual messages.

The flow, all in one Textual worker so the UI never waits:

1. the plan is built from the latest snapshot (a :class:`PlanError` becomes a
   notification with its reason and hint); preflight runs with the lock
   status of both nodes;
2. the :class:`~hatui.ui.plan_screen.PlanScreen` shows refusals, warnings,
   (split brain) evidence and the victim chooser, and every step; the
   operator types the node name to confirm;
3. the :class:`~hatui.actions.ActionRunner` runs the plan; its events go to
   the timing pane live (one row per step, updated when it ends; a status
   line with the step and, for a resync, % and ETA);
4. a failed run opens the :class:`~hatui.ui.action_screens.FailureScreen`:
   retry the step, roll back, or leave (which frees the lock).

Why messages: the controller owns the flow, the app owns the screen. The controller never
touches the app; it posts :class:`ActionMessage` subclasses (``post`` is the app's
``post_message``) and the app's ``on_action_…`` handlers show them, in the order posted.
A dialog is a :class:`ConfirmNeeded` carrying the screen and a future the app resolves with
the screen's answer.

Polling while an action runs: the runner polls through the console's
:class:`~hatui.ui.pair_polling.PairPolling`, one whole-pair poll at a time with its loops,
and each snapshot it takes is shown, so the screen stays live. The controller holds those
loops back itself while the runner works (a message would arrive a moment late) and lets
them go while a stopped run waits for the operator.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from textual.message import Message
from textual.screen import Screen

from hatui.actions.failover import plan_failback, plan_failover
from hatui.actions.outcome import Choice, RunOutcome
from hatui.actions.resync import plan_resync, split_brain_evidence
from hatui.actions.runner import ActionEvent, ActionRunner, RunResult
from hatui.actions.session import ActionSession, Decision, Prepared
from hatui.config import Config
from hatui.model import ClusterSnapshot
from hatui.present.events import StateEvent
from hatui.states import Severity
from hatui.timelines.incident import Source
from hatui.timelines.trackers import TimingRow, action_row
from hatui.ui.action_screens import FailureScreen
from hatui.ui.console_hints import console_hint
from hatui.ui.pair_polling import PairPolling
from hatui.ui.plan_screen import PlanScreen

LOCK_STATUS_TIMEOUT = 15.0  # the console waits less than the CLI would: the runner checks the lock again
JOURNAL_SLACK = 2.0  # seconds either side of a run in which a journal takeover is still its side effect
_RUNS = itertools.count(1)  # keys of a run's timing rows, unique for the console's life


class ActionPhase(Enum):
    """Where the console's one action is (the app keeps it from the messages): no second F/B/R unless IDLE."""

    IDLE = "idle"
    DIALOG = "dialog"  # a chooser or the plan screen is open
    RUNNING = "running"  # the runner works: the periodic poll loop pauses
    WAITING = "waiting"  # a run stopped half done: the operator chooses (the screen polls again)


def refusal(kind: str, *, read_only: bool, phase: ActionPhase, has_data: bool) -> str | None:
    """Why the key for ``kind`` cannot start an action now (None: it can). Every refused key says why:
    the bindings are hidden in read-only, but their keys still answer."""
    if read_only:
        return (f"hatui runs with --read-only: {kind} and every other action that changes the cluster "
                "is off. Restart hatui without --read-only to use it.")
    if phase is ActionPhase.DIALOG:
        return "another action's dialog is open: finish it first"
    if phase is not ActionPhase.IDLE:
        return "an action is running: finish it first"
    if not has_data:
        return "no data from the pair yet: wait for the first poll (the header says when it answers)"
    return None


# --- what the controller tells the app ----------------------------------------------------------

class ActionMessage(Message):
    """Anything the action controller tells the app."""


class ActionNotice(ActionMessage):
    """Say something in a notification."""

    def __init__(self, text: str, title: str = "", severity: str = "information", timeout: float = 5.0) -> None:
        super().__init__()
        self.text, self.title, self.severity, self.timeout = text, title, severity, timeout


class ConfirmNeeded(ActionMessage):
    """Show ``screen``; its answer (``dismiss``) resolves ``reply``."""

    def __init__(self, screen: Screen[Any], reply: asyncio.Future[Any]) -> None:
        super().__init__()
        self.screen, self.reply = screen, reply

    def answer(self, value: object) -> None:
        if not self.reply.done():
            self.reply.set_result(value)


class ActionStarted(ActionMessage):
    """A confirmed plan starts running (the runner works: the periodic poll pauses)."""

    def __init__(self, title: str, at: float) -> None:
        super().__init__()
        self.title, self.at = title, at


class ActionPaused(ActionMessage):
    """The run stopped half done and waits for the operator: the screen polls again meanwhile."""


class ActionResumed(ActionMessage):
    """A retry or a rollback starts within the same incident."""

    def __init__(self, title: str, at: float) -> None:
        super().__init__()
        self.title, self.at = title, at


class ActionStep(ActionMessage):
    """A step started or ended: the timing row under ``key`` (replaced when the step ends)."""

    def __init__(self, key: str, row: TimingRow) -> None:
        super().__init__()
        self.key, self.row = key, row


class ActionStatus(ActionMessage):
    """The running action's one-line status (None: nothing runs)."""

    def __init__(self, text: str | None) -> None:
        super().__init__()
        self.text = text


class ActionRows(ActionMessage):
    """Timing rows of their own: a cancel, a run's result."""

    def __init__(self, rows: list[TimingRow]) -> None:
        super().__init__()
        self.rows = rows


class ActionLogged(ActionMessage):
    """An event-log line about the action (started, result, refused)."""

    def __init__(self, event: StateEvent) -> None:
        super().__init__()
        self.event = event


class ActionFinished(ActionMessage):
    """The action's flow is over (run, refused, cancelled or failed to start): no dialog, no run."""


# --- the controller -----------------------------------------------------------------------------

def _mmss(seconds: float | None) -> str:
    return "" if seconds is None else f", ETA {int(seconds) // 60}:{int(seconds) % 60:02d}"


class ActionController:
    """One pair's actions in the console: plan, confirm, run, and the operator's choice when a run stops.

    ``polling`` is the console's polling of the pair: the runner polls through it (each snapshot is
    shown) and its transports run the commands. ``post`` is where messages go (the main screen's
    ``post_message``; they bubble on to the app), ``make_runner`` a stand-in runner (tests).
    """

    def __init__(self, config: Config, polling: PairPolling, post: Callable[[Message], object], *,
                 read_only: bool, clock: Callable[[], float], keys: dict[str, str],
                 make_runner: Callable[[Decision], ActionRunner] | None = None) -> None:
        self.config, self.read_only, self.clock, self.keys = config, read_only, clock, keys
        self.polling, self.post = polling, post
        self._make_runner = make_runner
        self._seq = 0
        # (kind, start, end or None) of each run, epoch: the journal's takeovers during one are its side effects
        self._windows: tuple[tuple[str, float, float | None], ...] = ()

    def action_at(self, at: float) -> str | None:
        """The console's action that was running at epoch ``at``."""
        for kind, start, end in self._windows:
            if start - JOURNAL_SLACK <= at <= (time.time() if end is None else end) + JOURNAL_SLACK:
                return kind
        return None

    def _session(self) -> ActionSession:
        # Preflight only needs the config and the snapshot: a poller without transports can still plan.
        return ActionSession(self.config, self.polling.transports, self.polling, read_only=self.read_only,
                             make_runner=self._make_runner)

    async def _ask(self, screen: Screen[Any]) -> Any:
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.post(ConfirmNeeded(screen, reply))
        return await reply

    def _notice(self, text: str, title: str = "", severity: str = "information", timeout: float = 5.0) -> None:
        self.post(ActionNotice(text, title, severity, timeout))

    def _log(self, kind: str, what: str, detail: str, health: Severity) -> None:
        self.post(ActionLogged(StateEvent(self.clock(), None, f"action {kind}", "", what, health, detail)))

    # --- the flow ---------------------------------------------------------------------------------

    async def flow(self, kind: str, snapshot: ClusterSnapshot) -> None:
        """Plan ``kind`` (failover, failback, resync-…) on ``snapshot``, confirm, run; always ends with
        :class:`ActionFinished`."""
        try:
            decision = await self._confirm(kind, snapshot)
            if decision is not None:
                await self._run(decision)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the console: say it
            self._notice(f"{type(exc).__name__}: {exc}", f"{kind} stopped", "error", 30)
        finally:
            self.post(ActionFinished())

    def _prepare(self, kind: str, snap: ClusterSnapshot, locks, victim: str | None = None) -> Prepared:
        def build(snapshot: ClusterSnapshot):
            if kind == "failover":
                return plan_failover(snapshot, self.config, now=self.clock())
            if kind == "failback":
                return plan_failback(snapshot, self.config, now=self.clock())
            return plan_resync(kind.removeprefix("resync-"), snapshot, self.config, victim)

        return self._session().prepare(build, snap, locks)

    async def _lock_status(self):
        if not self.polling.transports:
            return None
        async with self.polling.lock:
            return await self._session().lock_status(LOCK_STATUS_TIMEOUT)

    async def _confirm(self, kind: str, snap: ClusterSnapshot) -> Decision | None:
        label = kind.replace("-", " ", 1)
        try:
            locks = await self._lock_status()
        except TimeoutError:
            locks = None
            self._notice("the lock status did not answer: the runner checks it again", severity="warning")
        prepared = self._prepare(kind, snap, locks)
        if kind == "resync-split-brain":
            screen = PlanScreen(label, prepared, rebuild=functools.partial(self._prepare, kind, snap, locks),
                                victims=self.config.node_names, evidence=split_brain_evidence(snap, self.config),
                                keys=self.keys)
        elif prepared.plan is None:
            err = prepared.error
            self._notice(f"{err.reason}\n→ {console_hint(err.hint, self.keys)}" if err and err.hint else str(err),
                         f"{label}: no plan", "error", 15)
            return None
        else:
            screen = PlanScreen(label, prepared, keys=self.keys)
        decision = await self._ask(screen)
        if decision is None:
            self.cancelled(label, screen.prepared.plan, screen.typed, refusals=screen.prepared.refusals)
        return decision

    def cancelled(self, label: str, plan, typed: str, *, where: str = "the plan", refusals=()) -> None:
        """A cancel is a decision too: said in a notification, the timing pane and the audit log."""
        from hatui.actions.audit import AuditLog

        self._notice("cancelled: nothing was changed", label, timeout=4)
        now = time.time()
        self.post(ActionRows([TimingRow(f"✖ {label} cancelled by you", None, now, source=Source.ACTION,
                                        key=f"cancel:{now}", note=f"esc / Cancel at {where}: nothing changed")]))
        saved = AuditLog(plan.kind if plan is not None else label.replace(" ", "-")).record(
            "cancelled", plan=plan.to_dict() if plan is not None else None, confirmation=typed or None,
            via="console", refusals=[r.code for r in refusals])
        if not saved:
            self._notice("the audit log could not be written", "audit", "warning")

    async def _run(self, decision: Decision) -> None:
        plan = decision.plan
        session = self._session()
        if self._make_runner is None and not self.polling.transports:
            self._notice("this console's poller cannot run commands on the nodes\n→ use a real configuration",
                         f"{plan.kind} refused", "error")
            return
        self._seq = next(_RUNS)
        started = time.time()
        self._windows = (*self._windows[-9:], (plan.kind, started, None))
        self.polling.hold()  # at once: a loop must not poll between here and the app reading the message
        try:
            self.post(ActionStarted(f"{plan.kind} → {plan.target} (confirmed by you)", started))
            self._log(plan.kind, "started", plan.title, Severity.OK)
            result = await session.run(decision, self)
        finally:
            self.polling.release()
            self._windows = (*self._windows[:-1], (plan.kind, started, time.time()))
            self.post(ActionStatus(None))
        for problem in result.lock_problems:
            self._notice(problem, "lock", "warning")
        self._report(result)

    def _report(self, result: RunResult) -> None:
        plan = result.plan
        if result.status == RunOutcome.REFUSED:
            text = "\n".join(f"✖ {r.reason}\n→ {console_hint(r.hint, self.keys)}" for r in result.refusals)
            self._notice(text, f"{plan.kind} refused: nothing ran", "error", 30)
            self._log(plan.kind, "refused", "; ".join(r.reason for r in result.refusals), Severity.WARNING)
        elif result.ok:
            self._notice(result.summary(), plan.kind, timeout=8)
            self._log(plan.kind, result.status, result.summary(), Severity.OK)
        else:
            self._notice(f"{result.summary()}\nleft as is; the lock is free", plan.kind, "error", 30)
        timeline = result.timeline
        note = result.summary() + (f"; timeline {timeline.id}" if timeline else "")
        self.post(ActionRows([TimingRow(f"{'✔' if result.ok else '✖'} {plan.kind} {result.status}", plan.target,
                                        time.time(), timeline.offset() if timeline else None, note=note)]))

    # --- the session's front end (hatui.actions.session.Frontend) ----------------------------------

    def on_event(self, event: ActionEvent) -> None:
        plan, total = event.plan, len(event.plan.steps)
        if event.row is not None and event.kind in ("step-start", "step-end"):
            self.post(ActionStep(f"{self._seq}:{event.row.index}:{event.row.attempt}", action_row(event.row)))
        if event.kind == "step-start" and event.step is not None and event.index is not None:
            self.post(ActionStatus(f"▶ {plan.kind} → {plan.target}: step {event.index + 1}/{total} on "
                                   f"{event.step.node}: {event.step.description}"))
        elif event.kind == "progress" and event.step is not None:
            pct = "?" if event.percent is None else f"{event.percent:.1f}%"
            self.post(ActionStatus(f"⟳ {plan.kind}: DRBD {event.step.progress} {pct} in sync"
                                   f"{_mmss(event.eta_seconds)} (step {(event.index or 0) + 1}/{total})"))
        elif event.kind == "finished":
            self.post(ActionStatus(None))

    async def after_stop(self, result: RunResult) -> Choice:
        self._log(result.plan.kind, result.status, result.summary(), Severity.CRITICAL)
        self.polling.release()  # the screen stays live while the operator decides
        self.post(ActionPaused())
        return Choice(await self._ask(FailureScreen(result)))

    def on_resume(self, result: RunResult, choice: Choice) -> None:
        self.polling.hold()
        self.post(ActionResumed(f"{result.plan.kind}: {choice}", time.time()))

