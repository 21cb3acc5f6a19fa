"""The live console: a Textual app that polls the pair in a worker and renders the model.

The UI never blocks on SSH. With the real :class:`~hatui.snapshot.poller.ClusterPoller`
each node is polled by its own worker loop, and every answer re-assembles the
snapshot, so a hung node never makes the other one look stale (``r`` wakes
both loops early). Anything else with ``async poll()`` and ``async close()``
can stand in for the poller (tests use a scripted one): it is polled pairwise
by one loop. To run actions the poller also needs ``transports``.
Actions (``F``/``B``/``R``) live in :mod:`hatui.ui.actions_ui`; while one runs,
the loop here pauses and the runner's own polls are shown instead.

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
from typing import ClassVar, Protocol

from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.filter import LineFilter
from textual.screen import Screen

from hatui.config import Config, key_display
from hatui.errors import HatuiError
from hatui.model import ClusterSnapshot
from hatui.states import Severity
from hatui.ui import keys, themes
from hatui.ui.actions_ui import ActionsMixin
from hatui.ui.ascii import AsciiFilter
from hatui.ui.commands import ConsoleCommands
from hatui.ui.console_hints import copy_text
from hatui.ui.detail_screen import DetailScreen
from hatui.ui.header import Freshness
from hatui.ui.help_screen import HelpScreen
from hatui.present.events import SpeedHistory, StateEvent, sync_view, transitions
from hatui.timelines.trackers import JournalTracker, RoleTracker
from hatui.ui.main_screen import MainScreen
from hatui.ui.node_stack import NodeStack

HERE = Path(__file__).parent
# Each screen and widget has its stylesheet beside it; the app loads them all once.
STYLESHEETS = ["main_screen.tcss", "header.tcss", "node_stack.tcss", "link.tcss", "findings.tcss",
               "event_log.tcss", "timing_log.tcss", "detail_screen.tcss", "help_screen.tcss", "plan_screen.tcss",
               "controls.tcss"]


class Poller(Protocol):
    async def poll(self) -> ClusterSnapshot: ...

    async def close(self) -> None: ...


class HatuiApp(ActionsMixin, App):
    """The operations console for one HA pair."""

    TITLE = "hatui"
    CSS_PATH = [HERE / name for name in STYLESHEETS]
    COMMANDS = {ConsoleCommands}  # hatui's commands only (no second Quit, no Textual themes)
    ENABLE_COMMAND_PALETTE = True
    # The commands' keys are bound per console from the config (hatui.ui.keys); esc is fixed.
    BINDINGS = [Binding("escape", "back", "Back", show=False, key_display="esc")]
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, ClusterHeader"
    # Actions that change the cluster: hidden with --read-only (their keys answer with why).
    MUTATING_ACTIONS: ClassVar[frozenset[str]] = keys.MUTATING_ACTIONS

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
        self.poll_error: str | None = None
        self.poll_count = 0
        self.roles = RoleTracker()
        self.speeds = SpeedHistory()
        self.journals = JournalTracker()
        self._wakes: dict[str | None, asyncio.Event] = {}
        self.poll_lock = asyncio.Lock()  # one poll at a time: the loop's or the action runner's
        for binding in keys.bindings(config, read_only=read_only):
            for index, key in enumerate(binding.key.split(",")):  # the footer shows a command's first key
                self.bind(key, binding.action, description=binding.description, show=binding.show and index == 0,
                          key_display=key_display(key))
        available, self.theme_problems = themes.load_themes(themes_folder)
        for item in available.values():
            self.register_theme(item)
        self.theme = themes.resolve_theme(theme or config.theme, available)
        for name in list(self.available_themes):  # Textual's built-in themes are not hatui's
            if name not in available:
                self.unregister_theme(name)
        self.theme_names = sorted(available)
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

    def backoff(self) -> dict[str, float]:
        """Nodes whose transport waits before reconnecting → seconds left (the poller's transports)."""
        out = {}
        for name, transport in (getattr(self.poller, "transports", None) or {}).items():
            left = getattr(transport, "retry_in", None)
            if left:
                out[name] = left
        return out

    def start_polling(self) -> None:
        """Called by the main screen once its widgets exist."""
        from hatui.snapshot.poller import ClusterPoller

        if self.poller is None:
            self.poller = ClusterPoller(self.config)
        self._tick()
        if isinstance(self.poller, ClusterPoller):
            self.poller.start_streams().listeners.append(self._streamed)
            for name in self.poller.node_names:
                self.run_worker(self._poll_loop(name), name=f"poller-{name}", group="poll")
        else:
            self.run_worker(self._poll_loop(None), name="poller", group="poll", exclusive=True)
        self.set_interval(1.0, self._tick, name="age-tick")

    async def on_unmount(self) -> None:
        if self.poller is not None:
            try:
                await asyncio.wait_for(self.poller.close(), 2)
            except Exception:  # shutting down: nothing useful to tell the operator
                pass

    def poll_timeout(self) -> float:
        """Bound on one whole poll; the poller bounds each node itself, this catches the rest."""
        cluster = self.config.cluster
        return cluster.connect_timeout + cluster.command_timeout + 5

    async def _poll_loop(self, node: str | None) -> None:
        """Poll ``node`` (None: the whole pair through ``poll()``) every interval, or when woken."""
        wake = self._wakes.setdefault(node, asyncio.Event())
        while True:
            wake.clear()
            if not self.action_running:  # the runner polls (and shows) by itself meanwhile
                await self.poll_once(node)
            try:
                await asyncio.wait_for(wake.wait(), self._interval(node))
            except TimeoutError:
                pass

    def _interval(self, node: str | None) -> float:
        from hatui.snapshot.poller import ClusterPoller

        if node is None or not isinstance(self.poller, ClusterPoller):
            return self.poll_interval
        return self.poller.interval_for(node, self.poll_interval)

    def _streamed(self, node: str, kinds: frozenset[str]) -> None:
        """A stream changed ``node``'s data: show it now; a journal line (the kit saw keepalived move)
        also polls that node now, for its new VRRP state and VIP."""
        from hatui.snapshot.poller import ClusterPoller

        if "journal" in kinds and node in self._wakes:
            self._wakes[node].set()
        if isinstance(self.poller, ClusterPoller) and self.poller.ready and not self.action_running:
            self.apply_snapshot(self.poller.assemble())

    async def _poll(self, node: str | None) -> ClusterSnapshot | None:
        assert self.poller is not None
        if node is None:
            async with self.poll_lock:
                return await asyncio.wait_for(self.poller.poll(), self.poll_timeout())
        from hatui.snapshot.poller import ClusterPoller

        assert isinstance(self.poller, ClusterPoller)  # per-node loops run only for it (start_polling)
        # It bounds each node itself; joining an in-flight poll needs no lock.
        await asyncio.wait_for(self.poller.poll_node(node), self.poll_timeout())
        # Until every node has answered (or failed) once, a snapshot would show the others as
        # unreachable when they are only not asked yet: wait for the first round.
        return self.poller.assemble() if self.poller.ready else None

    async def poll_once(self, node: str | None = None) -> None:
        assert self.poller is not None
        try:
            snap = await self._poll(node)
        except (TimeoutError, asyncio.TimeoutError):
            self._poll_failed(f"no answer within {self.poll_timeout():g}s")
        except HatuiError as exc:
            self._poll_failed(str(exc))
        except Exception as exc:  # a bug must not stop the console: show it and keep polling
            self._poll_failed(f"{type(exc).__name__}: {exc}")
        else:
            if snap is not None:
                self.poll_error = None
                self.apply_snapshot(snap)
        self.poll_count += 1

    def _poll_failed(self, message: str) -> None:
        if message != self.poll_error and self.showing:
            self.main.add_events([StateEvent(self.clock(), None, "poll", "ok", "failed", Severity.WARNING, message)])
        self.poll_error = message
        self._tick()

    def freshness(self) -> Freshness:
        # Data older than a few poll intervals is no longer shown as current.
        return Freshness(self.clock(), max(3 * self.poll_interval, self.poll_interval + 2))

    def apply_snapshot(self, snap: ClusterSnapshot) -> None:
        """Show a new snapshot: stacks, link, findings, and the events since the last one."""
        prev, self.snapshot = self.snapshot, snap
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
        main.add_timing(self.journals.update(snap, self.action_at))
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

    async def wait_for_poll(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` polls have completed (tests and the benchmark use this)."""
        deadline = time.monotonic() + timeout
        while self.poll_count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.poll_count} of {count} polls done")
            await asyncio.sleep(0.005)

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
        retry_now = getattr(self.poller, "retry_now", None)
        if retry_now is not None:  # an operator asking for "now" should not wait out a backoff
            retry_now()
        if waiting:
            self.notify(f"reconnecting to {' and '.join(waiting)} now instead of waiting", title="retry", timeout=3)
        self.wake_polls()

    def wake_polls(self) -> None:
        """Poll now instead of at the end of the interval (every loop)."""
        for wake in self._wakes.values():
            wake.set()

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
        if isinstance(self.screen, DetailScreen):
            text, what = self.screen.raw_text(), "the raw output"
        elif isinstance(self.screen, MainScreen):
            finding = self.main.selected_finding()
            if finding is None:
                self.notify("nothing to copy: no finding", title="copy", timeout=3)
                return
            text = copy_text(finding.hint)
            what = f"{finding.code}'s {'hint' if text == finding.hint.strip() else 'command'}"
        else:
            self.notify("nothing to copy here", title="copy", timeout=3)
            return
        self.copy_to_clipboard(text)
        shown = text if len(text) <= 70 else text[:69] + "…"
        self.notify(f"{shown}\n(sent to your terminal's clipboard: OSC 52)", title=f"copied {what}", timeout=5)

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
        self.push_screen(DetailScreen(message.node, message.row, self.snapshot))


def run_console(config: Config, *, read_only: bool, theme: str | None, ascii: bool = False) -> None:
    """Entry point used by ``hatui`` and ``hatui demo``."""
    HatuiApp(config, read_only=read_only, theme=theme, ascii=ascii).run()
