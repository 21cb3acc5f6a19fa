"""The console for a fleet: the overview first, `enter` into today's pair screen, `esc` back.

:class:`FleetApp` is the one-pair console (:class:`~hatui.ui.app.HatuiApp`) with the fleet
overview (:class:`~hatui.ui.fleet_screen.FleetScreen`) as its first screen. Opening a pair
points the console at that pair — its config, its poller, fresh event/timing/sync
trackers — and pushes a :class:`~hatui.ui.main_screen.MainScreen`, so everything the pair
screen does (stacks, findings, details, `F`/`B`/`R` with their dialogs, zoom, copy) is the
same code as with one pair. `esc` on it comes back (refused while an action runs there).

Polling (the decision, see :mod:`hatui.ui.fleet_poll`): every pair keeps its own poller
for the life of the console, polled by its own loop, so the overview is current whenever
you come back to it. While a pair's screen is open, that pair is polled by the pair
screen's loops (each node on its own, as with one pair) through the same poller, and its
overview loop stands aside; the snapshots the pair screen shows also feed its row. Each
visit of a pair screen has its own :class:`~hatui.ui.pair_polling.PairPolling` and action
controller; going back stops that polling, so a poll still in flight shows nothing.

Keys: the command keys come from the first usable pair file's ``[keys]`` (one set for the
whole console); the overview adds `s` (sort), and `/` filters the pairs there.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import ScreenStackError
from textual.binding import Binding

from hatui.config import Config, parse_config
from hatui.fleet import Fleet, PairEntry
from hatui.model import ClusterSnapshot
from hatui.ui import keys
from hatui.ui.app import HatuiApp
from hatui.ui.fleet_poll import STAGGER_MAX, FleetPolling, Poller, cluster_poller
from hatui.ui.fleet_screen import PAIR_ONLY, FleetHelpScreen, FleetScreen
from hatui.present.events import SpeedHistory
from hatui.timelines.trackers import JournalTracker, RoleTracker
from hatui.ui.main_screen import MainScreen

# The commands the overview offers, in its words.
OVERVIEW_COMMANDS = {"help": "Help", "quit": "Quit", "refresh": "Refresh: poll every pair now",
                     "filter": "Filter pairs", "theme": "Theme"}


def keys_config(fleet: Fleet) -> Config:
    """The config whose ``[keys]`` and theme the console uses: the first pair that has one."""
    for entry in fleet.pairs:
        if entry.config is not None:
            return entry.config
    # Every pair file is broken: the overview still opens (each row says why); default keys.
    return parse_config(importlib.resources.files("hatui").joinpath("config_example.toml").read_text())


class FleetApp(HatuiApp):
    """The operations console for several HA pairs."""

    # esc shows in the footer where it does something: on a pair's screen (back to the overview), or to clear a filter.
    BINDINGS = [Binding("escape", "back", "Back", key_display="esc")]
    RECORDS_POLLS = False  # FleetPolling records every pair's snapshots (the open pair's too) into the history

    def __init__(self, fleet: Fleet, *, read_only: bool = False, theme: str | None = None,
                 make_poller: Callable[[PairEntry], Poller] = cluster_poller, clock: Callable[[], float] = time.time,
                 poll_interval: float | None = None, fleet_interval: float | None = None,
                 stagger: float = STAGGER_MAX, themes_folder: Path | None = None, ascii: bool = False,
                 history: Path | None = None) -> None:
        base = keys_config(fleet)
        super().__init__(base, read_only=read_only, theme=theme, clock=clock, poll_interval=poll_interval,
                         themes_folder=themes_folder, ascii=ascii, history=history)
        self.fleet = fleet
        self.base_config = base
        self.pair_interval = poll_interval  # None: each pair's own
        self.polling = FleetPolling(fleet, self._row_changed, make_poller=make_poller, interval=fleet_interval,
                                    stagger=stagger, on_snapshot=self.history.record if self.history else None)
        self.pair: str | None = None  # the pair whose screen is open
        self._pair_tick = None

    def get_default_screen(self) -> FleetScreen:
        return FleetScreen(self.polling.rows(), read_only=self.read_only, keys=self.hint_keys)

    @property
    def overview(self) -> FleetScreen:
        screen = self.screen_stack[0] if self.screen_stack else self.screen
        assert isinstance(screen, FleetScreen)
        return screen

    @property
    def main(self) -> MainScreen:
        """The open pair's screen (AssertionError when none is open, as HatuiApp.showing expects)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        raise AssertionError("no pair screen is open")

    def on_mount(self) -> None:
        super().on_mount()
        if self.history is not None:  # every pair's polls are recorded from the start (RECORDS_POLLS)
            self.run_worker(self.history.start(), name="history-writer", group="history")
        self.polling.start()
        self.set_interval(1.0, self._overview_tick, name="fleet-tick")

    async def on_unmount(self) -> None:
        try:
            await asyncio.wait_for(self.polling.close(), 3)
        except Exception:  # shutting down: nothing useful to tell the operator
            pass

    def _row_changed(self, name: str) -> None:
        try:
            self.overview.set_row(self.polling.watches[name].row)
        except (AssertionError, IndexError, ScreenStackError):  # starting up or closing
            pass

    def _overview_tick(self) -> None:
        if self.pair is None and isinstance(self.screen, FleetScreen):
            self.screen.flush()

    # --- one pair's screen ------------------------------------------------------------------

    def on_fleet_screen_open(self, message: FleetScreen.Open) -> None:
        self.open_pair(message.pair)

    def open_pair(self, name: str) -> None:
        """Point the console at pair ``name`` and show its screen."""
        watch = self.polling.watches[name]
        if watch.entry.config is None or watch.poller is None:
            self.notify(f"{name} cannot be opened: {watch.entry.error}. Fix {watch.entry.path} and restart hatui.",
                        title="config error", severity="error", timeout=8)
            return
        if self.pair is not None:
            return
        self.pair = name
        self.config = watch.entry.config
        self.poller = watch.poller
        self.poll_interval = self.pair_interval or self.config.cluster.poll_interval
        self.snapshot = None
        self.roles, self.speeds, self.journals = RoleTracker(), SpeedHistory(), JournalTracker()
        self.polling_pair = self.actions = None  # this visit's own, once its screen is up (start_polling)
        self.polling.hold(name)
        self.push_screen(MainScreen(self.config, read_only=self.read_only, keys=self.hint_keys))

    def start_polling(self) -> None:
        """The pair screen is up: show what the overview knew at once, then poll it as the one-pair console does."""
        if self.pair is None:
            return
        known = self.polling.watches[self.pair].snapshot
        if known is not None:
            super().apply_snapshot(known)
        self.poll_pair()  # this visit's polling: stopped when the operator goes back (leave_pair)
        self._pair_tick = self.set_interval(1.0, self._tick, name="age-tick")

    def apply_snapshot(self, snap: ClusterSnapshot) -> None:
        if self.pair is None:
            return
        super().apply_snapshot(snap)
        self.polling.observe(self.pair, snap)

    def leave_pair(self) -> None:
        """Back to the overview; the pair's own overview loop takes over again."""
        if self.pair is None:
            return
        if self.action_busy:
            self.notify(f"an action is running on {self.pair}: wait for it to end (or answer its dialog) "
                        "before going back to the overview", title="back", severity="warning", timeout=5)
            return
        if self.polling_pair is not None:
            self.polling_pair.stop()  # a poll in flight as it is cancelled shows nothing
        self.workers.cancel_group(self, "poll")
        if self._pair_tick is not None:
            self._pair_tick.stop()
        self.polling.release(self.pair)
        self.pair = None
        self.config, self.poller, self.snapshot = self.base_config, None, None
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.overview.flush()

    # --- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """On the overview, a pair's commands are not shown (their keys say to open a pair)."""
        if self.pair is None and self._command_id(action, parameters) in PAIR_ONLY:
            return False
        if action == "back" and isinstance(self.screen, FleetScreen):
            return self.screen.filtering
        return True

    @staticmethod
    def _command_id(action: str, parameters: tuple[object, ...]) -> str:
        """The [keys] name of an action: the action itself, or the pane that show_panel brings forward."""
        return str(parameters[0]) if action == "show_panel" and parameters else action

    def console_commands(self) -> list[tuple[str, str, str]]:
        if self.pair is not None:
            return super().console_commands()
        out = [(keys.display(self.config, c.id), c.action, OVERVIEW_COMMANDS[c.id]) for c in keys.COMMANDS
               if c.id in OVERVIEW_COMMANDS]
        return [*out, ("s", "sort", "Sort: worst first, name, last failover")]

    def action_sort(self) -> None:
        if self.pair is None:
            self.overview.action_cycle_sort()

    def action_help(self) -> None:
        if self.pair is not None:
            super().action_help()
        elif not isinstance(self.screen, FleetHelpScreen):
            rows = [(key, description) for key, _, description in self.console_commands()]
            self.push_screen(FleetHelpScreen(rows, self.read_only))

    def action_refresh(self) -> None:
        if self.pair is not None:
            super().action_refresh()
            return
        self.polling.wake_all()
        self.notify(f"polling all {len(self.polling.watches)} pairs now", title="refresh", timeout=2)

    def action_filter(self) -> None:
        if self.pair is not None:
            super().action_filter()
            return
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.overview.open_filter()

    def action_zoom(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.screen.toggle_zoom()
        else:
            super().action_zoom()

    def _to_main(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
            self.pop_screen()

    def action_back(self) -> None:
        screen = self.screen
        if isinstance(screen, FleetScreen):
            screen.escape()
        elif isinstance(screen, MainScreen):
            self.leave_pair()
        else:
            super().action_back()


def run_fleet_console(fleet: Fleet, *, read_only: bool, theme: str | None, ascii: bool = False) -> None:
    """Entry point used by ``hatui`` (and ``hatui demo --pairs N``) when more than one pair is configured."""
    from hatui.history.store import default_path

    FleetApp(fleet, read_only=read_only, theme=theme, ascii=ascii, history=default_path()).run()
