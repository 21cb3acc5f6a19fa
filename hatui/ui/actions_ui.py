"""Failover (``F``), failback (``B``) and resync (``R``) from the console.

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

Polling while an action runs: the runner polls through :class:`SharedPoller`,
i.e. the console's own poller, one poll at a time (the app's poll lock), and
every snapshot it takes is shown on screen. The console's periodic poll loop
pauses while the runner works (``action_running``) and resumes while a failed
run waits for the operator's choice, so the two never poll at once and the
screen stays live throughout.
"""

from __future__ import annotations

import functools
import time

from hatui.actions.failover import plan_failback, plan_failover
from hatui.actions.outcome import Choice, RunOutcome
from hatui.actions.plan import PlanError
from hatui.actions.session import ActionSession, Decision, Prepared
from hatui.actions.resync import plan_resync, split_brain_evidence
from hatui.model import ClusterSnapshot
from hatui.states import Severity
from hatui.timelines.incident import Source
from hatui.ui.action_screens import FailureScreen, ResyncChooser
from hatui.ui.console_hints import console_hint
from hatui.present.events import StateEvent
from hatui.timelines.trackers import TimingRow, action_row
from hatui.ui.plan_screen import PlanScreen
from hatui.ui.timing_log import TimingLog

ACTION_KINDS = ("failover", "failback", "resync")
LOCK_STATUS_TIMEOUT = 15.0  # the console waits less than the CLI would: the runner checks the lock again
QUIT_AGAIN = 5.0
JOURNAL_SLACK = 2.0  # seconds either side of a run in which a journal takeover is still its side effect


class SharedPoller:
    """What the runner polls through: the console's poller, serialized, each snapshot shown."""

    def __init__(self, app) -> None:
        self.app = app

    async def poll(self) -> ClusterSnapshot:
        async with self.app.poll_lock:
            snap = await self.app.poller.poll()
        self.app.poll_error = None
        self.app.apply_snapshot(snap)
        self.app.poll_count += 1
        return snap


def _mmss(seconds: float | None) -> str:
    return "" if seconds is None else f", ETA {int(seconds) // 60}:{int(seconds) % 60:02d}"


class _ConsoleFrontend:
    """The session's front end in the console: timing rows live, the failure screen when a run stops."""

    def __init__(self, app) -> None:
        self.app = app

    def on_event(self, event) -> None:
        self.app._on_action_event(event)

    async def after_stop(self, result) -> Choice:
        app = self.app
        app._log_action(result.plan.kind, result.status, result.summary(), Severity.CRITICAL)
        app.action_running = False  # keep the screen live while the operator decides
        app.wake_polls()
        return Choice(await app.push_screen_wait(FailureScreen(result)))

    def on_resume(self, result, choice: Choice) -> None:
        self.app.action_running = True
        self.app.timing_log.begin(f"{result.plan.kind}: {choice}", time.time())


class ActionsMixin:
    """The console's actions (mixed into :class:`~hatui.ui.app.HatuiApp`)."""

    action_busy = False  # a plan screen or a run is open: a second F/B/R is refused
    action_running = False  # the runner is working: the periodic poll loop pauses
    _action_seq = 0
    _windows: tuple[tuple[str, float, float | None], ...] = ()  # (kind, start, end or None) of each run, epoch

    def action_at(self, at: float) -> str | None:
        """The console's action that was running at epoch ``at`` (its journal entries are its side effects)."""
        for kind, start, end in self._windows:
            if start - JOURNAL_SLACK <= at <= (time.time() if end is None else end) + JOURNAL_SLACK:
                return kind
        return None

    # --- keys ---------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quitting mid-run would leave the pair half switched and the lock held: ask twice."""
        armed = getattr(self, "_quit_armed", 0.0)
        if self.action_busy and getattr(self, "_in_run", False) and time.monotonic() - armed > QUIT_AGAIN:
            self._quit_armed = time.monotonic()
            self.notify("an action is running: quitting now stops it half done with the lock held. "
                        "Press q again to quit anyway.", title="quit?", severity="warning", timeout=QUIT_AGAIN)
            return
        await super().action_quit()

    def action_failover(self) -> None:
        self._begin_action("failover")

    def action_failback(self) -> None:
        self._begin_action("failback")

    def action_resync(self) -> None:
        if self._action_allowed("resync"):
            self.action_busy = True  # the chooser is this action's first dialog
            self.push_screen(ResyncChooser(), callback=self._resync_chosen)

    def _resync_chosen(self, kind: str | None) -> None:
        self.action_busy = False
        if kind:
            self._begin_action(f"resync-{kind}")
        else:
            self._cancelled("resync", None, "", where="the choice of flow")

    def _action_allowed(self, kind: str) -> bool:
        """Every refused key says why (the bindings are hidden in read-only, but their keys still answer)."""
        if self.read_only:
            self.notify(f"hatui runs with --read-only: {kind} and every other action that changes the cluster "
                        "is off. Restart hatui without --read-only to use it.", title=f"{kind} refused",
                        severity="error")
            return False
        if self.action_busy:
            what = "an action is running" if getattr(self, "_in_run", False) else "another action's dialog is open"
            self.notify(f"{what}: finish it first", title=f"{kind} refused", severity="warning")
            return False
        if self.snapshot is None:
            self.notify("no data from the pair yet: wait for the first poll (the header says when it answers)",
                        title=f"{kind} refused", severity="warning")
            return False
        return True

    def _begin_action(self, kind: str) -> None:
        if self._action_allowed(kind):
            self.action_busy = True
            self.run_worker(self._action_flow(kind), name=kind, group="action", exit_on_error=False)

    # --- plan and preflight -------------------------------------------------------------

    def _session(self, make_runner=None) -> ActionSession | None:
        """The action session over this console's poller (None when it cannot reach the nodes)."""
        transports = getattr(self.poller, "transports", None)
        if not transports:
            return None
        return ActionSession(self.config, transports, SharedPoller(self), read_only=self.read_only,
                             make_runner=make_runner)

    async def _lock_status(self):
        session = self._session()
        if session is None:
            return None
        async with self.poll_lock:
            return await session.lock_status(LOCK_STATUS_TIMEOUT)

    def _prepare(self, kind: str, snap: ClusterSnapshot, locks, victim: str | None = None) -> Prepared:
        def build(snapshot: ClusterSnapshot):
            if kind == "failover":
                return plan_failover(snapshot, self.config, now=self.clock())
            if kind == "failback":
                return plan_failback(snapshot, self.config, now=self.clock())
            return plan_resync(kind.removeprefix("resync-"), snapshot, self.config, victim)

        # Preflight only needs the config and the snapshot: a scripted poller can still plan.
        session = self._session() or ActionSession(self.config, {}, SharedPoller(self), read_only=self.read_only)
        return session.prepare(build, snap, locks)

    async def _action_flow(self, kind: str) -> None:
        try:
            decision = await self._ask(kind)
            if decision is not None:
                await self._run(decision)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the console: say it
            self.notify(f"{type(exc).__name__}: {exc}", title=f"{kind} stopped", severity="error", timeout=30)
        finally:
            self.action_busy = self.action_running = False
            self.wake_polls()

    async def _ask(self, kind: str) -> Decision | None:
        label = kind.replace("-", " ", 1)
        snap = self.snapshot
        if snap is None:
            self.notify("no data from the pair yet: wait for the first poll", title=f"{label} refused",
                        severity="warning")
            return None
        try:
            locks = await self._lock_status()
        except TimeoutError:
            locks = None
            self.notify("the lock status did not answer: the runner checks it again", severity="warning")
        prepared = self._prepare(kind, snap, locks)
        keys = self.hint_keys
        if kind == "resync-split-brain":
            screen = PlanScreen(label, prepared, rebuild=functools.partial(self._prepare, kind, snap, locks),
                                victims=self.config.node_names, evidence=split_brain_evidence(snap, self.config),
                                keys=keys)
        elif prepared.plan is None:
            err = prepared.error
            self.notify(f"{err.reason}\n→ {console_hint(err.hint, keys)}" if err and err.hint else str(err),
                        title=f"{label}: no plan", severity="error", timeout=15)
            return None
        else:
            screen = PlanScreen(label, prepared, keys=keys)
        decision = await self.push_screen_wait(screen)
        if decision is None:
            self._cancelled(label, screen.prepared.plan, screen.typed, refusals=screen.prepared.refusals)
        return decision

    def _cancelled(self, label: str, plan, typed: str, *, where: str = "the plan", refusals=()) -> None:
        """A cancel is a decision too: said in a notification, the timing pane and the audit log."""
        from hatui.actions.audit import AuditLog

        self.notify("cancelled: nothing was changed", title=label, timeout=4)
        now = time.time()
        self.timing_log.add_rows([TimingRow(f"✖ {label} cancelled by you", None, now, source=Source.ACTION,
                                            key=f"cancel:{now}", note=f"esc / Cancel at {where}: nothing changed")])
        saved = AuditLog(plan.kind if plan is not None else label.replace(" ", "-")).record(
            "cancelled", plan=plan.to_dict() if plan is not None else None, confirmation=typed or None,
            via="console", refusals=[r.code for r in refusals])
        if not saved:
            self.notify("the audit log could not be written", title="audit", severity="warning")

    # --- running ------------------------------------------------------------------------

    def make_runner(self, decision: Decision):
        """The runner for a confirmed plan (tests may override)."""
        session = self._session()
        if session is None:
            raise PlanError("this console's poller cannot run commands on the nodes", "use a real configuration")
        return session.runner(decision)

    @property
    def timing_log(self) -> TimingLog:
        return self.main.query_one(TimingLog)

    async def _run(self, decision: Decision) -> None:
        plan = decision.plan
        try:
            self.make_runner(decision)  # refuses early (and says why) when this console cannot run commands
        except PlanError as exc:
            self.notify(f"{exc.reason}\n→ {console_hint(exc.hint, self.hint_keys)}", title=f"{plan.kind} refused",
                        severity="error")
            return
        session = ActionSession(self.config, getattr(self.poller, "transports", {}) or {}, SharedPoller(self),
                                read_only=self.read_only, make_runner=self.make_runner)
        type(self)._action_seq += 1
        self._seq = type(self)._action_seq
        self.main.show_panel("timing", focus=False)
        self.timing_log.begin(f"{plan.kind} → {plan.target} (confirmed by you)", time.time())
        self._log_action(plan.kind, "started", f"{plan.title}", Severity.OK)
        self.action_running = self._in_run = True
        started = time.time()
        self._windows = (*self._windows[-9:], (plan.kind, started, None))
        try:
            result = await session.run(decision, _ConsoleFrontend(self))
        finally:
            self.action_running = self._in_run = False
            self._windows = (*self._windows[:-1], (plan.kind, started, time.time()))
            self.timing_log.set_status(None)
        for problem in result.lock_problems:
            self.notify(problem, title="lock", severity="warning")
        self._report(result)

    def _report(self, result) -> None:
        plan = result.plan
        if result.status == RunOutcome.REFUSED:
            text = "\n".join(f"✖ {r.reason}\n→ {console_hint(r.hint, self.hint_keys)}" for r in result.refusals)
            self.notify(text, title=f"{plan.kind} refused: nothing ran", severity="error", timeout=30)
            self._log_action(plan.kind, "refused", "; ".join(r.reason for r in result.refusals), Severity.WARNING)
        elif result.ok:
            self.notify(result.summary(), title=plan.kind, timeout=8)
            self._log_action(plan.kind, result.status, result.summary(), Severity.OK)
        else:
            self.notify(f"{result.summary()}\nleft as is; the lock is free", title=plan.kind, severity="error",
                        timeout=30)
        timeline = result.timeline
        note = result.summary() + (f"; timeline {timeline.id}" if timeline else "")
        self.timing_log.add_rows([TimingRow(f"{'✔' if result.ok else '✖'} {plan.kind} {result.status}", plan.target,
                                            time.time(), timeline.offset() if timeline else None, note=note)])

    def _log_action(self, kind: str, what: str, detail: str, health: Severity) -> None:
        self.main.add_events([StateEvent(self.clock(), None, f"action {kind}", "", what, health, detail)])

    def _on_action_event(self, event) -> None:
        log = self.timing_log
        plan, total = event.plan, len(event.plan.steps)
        if event.row is not None and event.kind in ("step-start", "step-end"):
            log.put(f"{self._seq}:{event.row.index}:{event.row.attempt}", action_row(event.row))
        if event.kind == "step-start" and event.step is not None and event.index is not None:
            log.set_status(f"▶ {plan.kind} → {plan.target}: step {event.index + 1}/{total} on {event.step.node}: "
                           f"{event.step.description}")
        elif event.kind == "progress" and event.step is not None:
            pct = "?" if event.percent is None else f"{event.percent:.1f}%"
            log.set_status(f"⟳ {plan.kind}: DRBD {event.step.progress} {pct} in sync{_mmss(event.eta_seconds)}"
                           f" (step {(event.index or 0) + 1}/{total})")
        elif event.kind == "finished":
            log.set_status(None)
