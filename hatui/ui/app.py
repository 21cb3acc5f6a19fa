"""The live console: a Textual app that polls the pair in a worker and renders the model.

The UI never blocks on SSH: :class:`~hatui.ui.pair_polling.PairPolling` polls the pair
in the app's workers (each node on its own with the real poller) and hands every
snapshot or failure back to be shown (and recorded: :mod:`hatui.ui.console_history`). Actions
(``F``/``B``/``R``) are driven by
:class:`~hatui.ui.action_controller.ActionController`, which tells the main screen and the app
what happens with messages; while one runs, the loops pause and the runner's own polls are shown.

Every key answers: a key that is refused (read-only, no data yet, an action
running) says why in a notification. Keys come from :mod:`hatui.ui.keys`
(``[keys]`` in the config); ``ascii=True`` puts :mod:`hatui.ui.ascii`'s filter
last, so nothing but ASCII reaches the terminal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.filter import LineFilter
from textual.screen import Screen

from hatui.config import Config
from hatui.model import ClusterSnapshot
from hatui.states import Severity
from hatui.ui import keys, themes
from hatui.ui.console_history import ConsoleHistory
from hatui.ui.action_controller import (ActionController, ActionFinished, ActionNotice, ActionPaused, ActionPhase,
                                        ActionResumed, ActionStarted, ConfirmNeeded, refusal)
from hatui.ui.action_screens import ResyncChooser
from hatui.ui.ascii import AsciiFilter
from hatui.ui.clipboard import copy_selection
from hatui.ui.commands import ConsoleCommands
from hatui.ui.detail_screen import DetailScreen
from hatui.ui.header import Freshness
from hatui.ui.help_screen import HelpScreen
from hatui.present.events import SpeedHistory, StateEvent, sync_view, transitions
from hatui.timelines.trackers import JournalTracker, RoleTracker
from hatui.ui.main_screen import MainScreen
from hatui.ui.node_stack import NodeStack
from hatui.ui.pair_polling import PairPolling, Poller
from hatui.ui.timing_log import TimingLog

HERE = Path(__file__).parent
# Each screen and widget has its stylesheet beside it; the app loads every one of them (no list to keep).
STYLESHEETS = sorted(HERE.glob("*.tcss"))
QUIT_AGAIN = 5.0  # seconds in which a second q quits during a run


class HatuiApp(App):
    """The operations console for one HA pair."""

    TITLE = "hatui"
    CSS_PATH = STYLESHEETS
    COMMANDS = {ConsoleCommands}  # hatui's commands only (no second Quit, no Textual themes)
    ENABLE_COMMAND_PALETTE = True
    # The commands' keys are bound per console from the config (hatui.ui.keys); esc is fixed.
    BINDINGS = [Binding("escape", "back", "Back", show=False, key_display="esc")]
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, ClusterHeader"
    # Actions that change the cluster: hidden with --read-only (their keys answer with why).
    MUTATING_ACTIONS: ClassVar[frozenset[str]] = keys.MUTATING_ACTIONS
    RECORDS_POLLS: ClassVar[bool] = True  # into the history (the fleet console records every pair's instead)

    def __init__(
        self,
        config: Config,
        *,
        read_only: bool = False,
        theme: str | None = None,
        poller: Poller | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float | None = None,
        themes_folder: Path | None = None,
        ascii: bool = False,
        make_runner: Callable | None = None,
        history: Path | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.read_only = read_only
        self.ascii = ascii
        self._ascii_filter = AsciiFilter()
        self.poller: Poller | None = poller
        self.clock = clock
        self.poll_interval = poll_interval if poll_interval is not None else config.cluster.poll_interval
        self.snapshot: ClusterSnapshot | None = None
        self.polling_pair: PairPolling | None = None  # once the main screen is up (start_polling)
        self.roles = RoleTracker()
        self.speeds = SpeedHistory()
        self.journals = JournalTracker()
        self.actions: ActionController | None = None  # once polling starts (it polls through it)
        self.action_phase = ActionPhase.IDLE
        self._make_runner = make_runner  # tests: a stand-in for the action runner
        self.history = ConsoleHistory(history, say=lambda text: self.call_from_thread(
            self.notify, text, title="history", severity="warning")) if history is not None else None
        self._quit_armed = 0.0
        keys.bind_all(self, config, read_only=read_only)
        self.theme_names, self.theme_problems = themes.install(self, theme or config.theme, themes_folder)
        self.set_class(ascii, "-ascii")

    def get_default_screen(self) -> Screen:
        return MainScreen(self.config, read_only=self.read_only, keys=self.hint_keys)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0] if self.screen_stack else self.screen
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        for problem in self.theme_problems:
            self.notify(problem, title="theme file ignored", severity="warning")

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = list(super().get_line_filters())
        return [*filters, self._ascii_filter] if self.ascii else filters

    def get_key_display(self, binding: Binding) -> str:
        shown = super().get_key_display(binding)
        return binding.key if self.ascii and not shown.isascii() else shown

    @property
    def hint_keys(self) -> dict[str, str]:
        """Each command id → its key as shown (for hints that name the console's controls)."""
        return {c.id: keys.display(self.config, c.id) for c in keys.COMMANDS}

    def start_polling(self) -> None:
        """Called by the main screen once its widgets exist."""
        from hatui.snapshot.poller import ClusterPoller

        if self.poller is None:
            self.poller = ClusterPoller(self.config)
        self.poll_pair()
        self.set_interval(1.0, self._tick, name="age-tick")

    def poll_pair(self) -> None:
        """Poll the pair shown now (its loops as workers) and drive its actions through the same polling."""
        assert self.poller is not None
        self.polling_pair = PairPolling(self.poller, interval=self.poll_interval, timeout=self.poll_timeout(),
                                        on_snapshot=self.apply_snapshot, on_failed=self._poll_failed)
        self.actions = ActionController(self.config, self.polling_pair, self.main.post_message,
                                        read_only=self.read_only, clock=self.clock, keys=self.hint_keys,
                                        make_runner=self._make_runner)
        self._tick()
        for name, loop in self.polling_pair.loops():
            self.run_worker(loop, name=name, group="poll")
        if self.history is not None:
            self.run_worker(self._recall(self.history, self.config.cluster.name, self.polling_pair, self.clock()),
                            name="history", group="history")

    async def _recall(self, history: ConsoleHistory, pair: str, polling: PairPolling, opened: float) -> None:
        """The pair's history up to ``opened`` into the panes (the first screen never waits for it); then
        this console records too (after: what it records itself is not shown again as the past)."""
        past = await history.recall(pair, opened)
        if self.polling_pair is polling and self.showing:  # still this pair's screen
            self.main.show_past(past, opened)
        await history.start()

    async def on_unmount(self) -> None:
        if self.history is not None:
            await self.history.close()
        if self.poller is not None:
            try:
                await asyncio.wait_for(self.poller.close(), 2)
            except Exception:  # shutting down: nothing useful to tell the operator
                pass

    def poll_timeout(self) -> float:
        """Bound on one whole poll; the poller bounds each node itself, this catches the rest."""
        cluster = self.config.cluster
        return cluster.connect_timeout + cluster.command_timeout + 5

    @property
    def poll_error(self) -> str | None:
        return self.polling_pair.error if self.polling_pair else None

    @property
    def poll_count(self) -> int:
        """Polls completed on the pair shown now (tests and the benchmark wait on it)."""
        return self.polling_pair.count if self.polling_pair else 0

    async def wait_for_poll(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` polls of the pair shown now have completed (tests and the benchmark use this)."""
        deadline = time.monotonic() + timeout
        while self.poll_count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.poll_count} of {count} polls done")
            await asyncio.sleep(0.005)

    def backoff(self) -> dict[str, float]:
        return self.polling_pair.backoff() if self.polling_pair else {}

    def _poll_failed(self, message: str, new: bool) -> None:
        if new and self.showing:
            self.main.add_events([StateEvent(self.clock(), None, "poll", "ok", "failed", Severity.WARNING, message)])
        self._tick()

    def freshness(self) -> Freshness:
        # Data older than a few poll intervals is no longer shown as current.
        return Freshness(self.clock(), max(3 * self.poll_interval, self.poll_interval + 2))

    def apply_snapshot(self, snap: ClusterSnapshot) -> None:
        """Show a new snapshot: stacks, link, findings, and the events since the last one."""
        prev, self.snapshot = self.snapshot, snap
        if self.history is not None and self.RECORDS_POLLS:  # into the history
            self.history.record(self.config.cluster.name, snap)
        events = transitions(prev, snap)
        if prev is None:
            events = [StateEvent(snap.taken_at, None, "first poll", "", f"verdict {snap.verdict}",
                                 snap.verdict, f"VIP on {' + '.join(snap.vip_holders) or 'nobody'}")]
        views = {r.resource: sync_view(snap, r.resource) for r in self.config.drbd}
        speeds = {name: self.speeds.update(name, view) for name, view in views.items()}
        if not self.showing:  # the console is closing: a late poll has nowhere to go
            return
        main = self.main
        main.show_snapshot(snap, self.freshness(), views, speeds, self.poll_error, self.backoff())
        main.add_events(events)
        moves = self.roles.update(snap)
        if not self.action_running:  # during an action its own steps are the story's rows
            main.add_timing(moves)
        main.add_timing(self.journals.update(snap, self.actions.action_at if self.actions else None))
        if isinstance(self.screen, DetailScreen):
            self.screen.show(snap)

    @property
    def showing(self) -> bool:
        """The main screen can show data (not while the console starts up or closes)."""
        try:
            return self.main.showing
        except (ScreenStackError, AssertionError):
            return False

    def _tick(self) -> None:
        if self.showing:
            self.main.tick(self.snapshot, self.freshness(), self.poll_error, self.backoff())

    # --- actions: the controller drives them, its messages land here (and on the main screen) ----------

    @property
    def action_busy(self) -> bool:
        """A chooser, a plan screen or a run is open: a second F/B/R is refused."""
        return self.action_phase is not ActionPhase.IDLE

    @property
    def action_running(self) -> bool:
        """The runner works: the loops stand aside (the runner's polls are shown; its steps are the story)."""
        return self.polling_pair is not None and self.polling_pair.held

    @property
    def timing_log(self) -> TimingLog:
        return self.main.query_one(TimingLog)

    async def action_quit(self) -> None:
        """Quitting mid-run would leave the pair half switched and the lock held: ask twice."""
        in_run = self.action_phase in (ActionPhase.RUNNING, ActionPhase.WAITING)
        if in_run and time.monotonic() - self._quit_armed > QUIT_AGAIN:
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
            self.action_phase = ActionPhase.DIALOG  # the chooser is this action's first dialog
            self.push_screen(ResyncChooser(), callback=self._resync_chosen)

    def _resync_chosen(self, kind: str | None) -> None:
        self.action_phase = ActionPhase.IDLE
        if kind:
            self._begin_action(f"resync-{kind}")
        elif self.actions is not None:
            self.actions.cancelled("resync", None, "", where="the choice of flow")

    def _action_allowed(self, kind: str) -> bool:
        why = refusal(kind, read_only=self.read_only, phase=self.action_phase,
                      has_data=self.snapshot is not None and self.actions is not None)
        if why is not None:
            self.notify(why, title=f"{kind} refused", severity="error" if self.read_only else "warning")
        return why is None

    def _begin_action(self, kind: str) -> None:
        if self._action_allowed(kind):
            assert self.actions is not None and self.snapshot is not None  # _action_allowed says so
            self.action_phase = ActionPhase.DIALOG
            self.run_worker(self.actions.flow(kind, self.snapshot), name=kind, group="action", exit_on_error=False)

    def on_action_notice(self, message: ActionNotice) -> None:
        self.notify(message.text, title=message.title, severity=message.severity, timeout=message.timeout)

    def on_confirm_needed(self, message: ConfirmNeeded) -> None:
        self.push_screen(message.screen, callback=message.answer)

    @on(ActionStarted)
    @on(ActionResumed)
    def _action_runs(self) -> None:
        self.action_phase = ActionPhase.RUNNING

    def on_action_paused(self, message: ActionPaused) -> None:
        self.action_phase = ActionPhase.WAITING  # the loops poll again while the operator decides

    def on_action_finished(self, message: ActionFinished) -> None:
        self.action_phase = ActionPhase.IDLE
        self.wake_polls()
        if self.history is not None:
            self.history.actions_done(self.config.cluster.name, self.config)

    # --- commands --------------------------------------------------------------------

    def allows(self, action: str) -> bool:
        """False for an action that would change the cluster while read-only."""
        return not (self.read_only and action.split("(")[0] in self.MUTATING_ACTIONS)

    def console_commands(self) -> list[tuple[str, str, str]]:
        """(key, action, description) of every console command allowed now, in table order."""
        return [(keys.display(self.config, c.id), c.action, c.description)
                for c in keys.COMMANDS if self.allows(c.action)]

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            rows = [(key, description) for key, _, description in self.console_commands()]
            self.push_screen(HelpScreen(rows, self.read_only))

    def action_refresh(self) -> None:
        if self.action_running:
            self.notify("an action is running: the screen follows its own polls until it ends",
                        title="refresh", timeout=4)
            return
        waiting = self.backoff()
        if self.polling_pair is not None:  # an operator asking for "now" should not wait out a backoff
            self.polling_pair.retry_now()
        if waiting:
            self.notify(f"reconnecting to {' and '.join(waiting)} now instead of waiting", title="retry", timeout=3)
        self.wake_polls()

    def wake_polls(self) -> None:
        """Poll now instead of at the end of the interval (every loop)."""
        if self.polling_pair is not None:
            self.polling_pair.wake()

    def action_filter(self) -> None:
        self._to_main()
        self.main.open_filter()

    def action_show_panel(self, name: str) -> None:
        self._to_main()
        self.main.show_panel(name)

    def action_zoom(self) -> None:
        """Toggle a full-screen view of the focused pane (main screen)."""
        if len(self.screen_stack) > 1 or not isinstance(self.screen, MainScreen):
            self.notify("zoom works on the main screen's panes: esc first", title="zoom", timeout=3)
            return
        self.main.toggle_zoom()

    def action_copy(self) -> None:
        """Copy the selected finding's command (main screen) or the raw output (details) via OSC 52."""
        copy_selection(self)

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.main.focus_stacks()

    def action_cycle_theme(self) -> None:
        names = self.theme_names or [self.theme]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme {self.theme}", timeout=2)

    def _to_main(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def on_node_stack_selected(self, message: NodeStack.Selected) -> None:
        if self.snapshot is None or message.row is None:
            self.notify(f"no data from {message.node} yet: wait for the first poll", title="details", timeout=3)
            return
        self.push_screen(DetailScreen(message.node, message.row, self.snapshot, self.hint_keys))


def run_console(config: Config, *, read_only: bool, theme: str | None, ascii: bool = False) -> None:
    """Entry point used by ``hatui`` and ``hatui demo``; the panes show the history, and the console adds to it."""
    from hatui.history.store import default_path

    HatuiApp(config, read_only=read_only, theme=theme, ascii=ascii, history=default_path()).run()
