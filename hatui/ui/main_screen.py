"""The main screen: header, both stacks side by side, the replication link, and the lower panes.

The lower panes size to their content: Findings on top, as tall as its
findings (one line when there are none, at most about half the space), then
Events beside Timing, which takes the width its columns need. Below 120
columns Events and Timing share one slot (`e` / `l` switch it; Tab reaches
every pane shown). `z` shows the focused pane full screen (`z` or `esc` back).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from hatui.config import Config
from hatui.model import ClusterSnapshot, Finding
from hatui.ui.console_hints import copy_text
from hatui.ui.event_log import EventLog
from hatui.ui.findings import FindingsPanel
from hatui.ui.header import ClusterHeader, Freshness
from hatui.ui.history_load import Past
from hatui.present.events import StateEvent, SyncView
from hatui.timelines.trackers import TimingRow
from hatui.ui.action_controller import ActionLogged, ActionResumed, ActionRows, ActionStarted, ActionStatus, ActionStep
from hatui.ui.link import ReplicationLink
from hatui.ui.node_stack import NodeStack
from hatui.ui.timing_log import TimingLog

PANELS = {"findings": "#findings", "events": "#events", "timing": "#timing"}
PANES = (NodeStack, FindingsPanel, EventLog, TimingLog)
NARROW_BELOW = 120


class MainScreen(Screen):
    """Everything an operator needs at a glance."""

    AUTO_FOCUS = "NodeStack"

    def __init__(self, config: Config, *, read_only: bool, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.config = config
        self.read_only = read_only
        self.keys = keys or {"events": "e", "timing": "l", "zoom": "z", "copy": "c", "refresh": "r", "help": "?"}
        self.current_log = "events"

    def compose(self) -> ComposeResult:
        yield ClusterHeader(read_only=self.read_only, id="header")
        with Horizontal(id="stacks"):
            for index, name in enumerate(self.config.node_names):
                yield NodeStack(name, retry_key=self.keys["refresh"], id=f"stack-{index}")
        yield ReplicationLink([r.resource for r in self.config.drbd], id="link")
        with Vertical(id="lower"):
            yield FindingsPanel(copy_key=self.keys["copy"], hint_keys=self.keys, id="findings", classes="panel")
            with Horizontal(id="logs"):
                yield EventLog(id="events", classes="panel")
                yield TimingLog(id="timing", classes="panel")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.call_after_refresh(self.app.start_polling)

    # --- layout ------------------------------------------------------------------

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        # Below 100 columns the footer keeps every command key; ctrl+p stays in `?` (and works).
        self.query_one(Footer).show_command_palette = self.size.width >= 100
        self._apply_panels()

    def _apply_panels(self) -> None:
        narrow = self.narrow
        k = self.keys
        self.query_one(EventLog).display = not narrow or self.current_log == "events"
        self.query_one(TimingLog).display = not narrow or self.current_log == "timing"
        self.query_one(EventLog).set_hint(f"{k['timing']} timing · {k['zoom']} zoom" if narrow else "")
        self.query_one(TimingLog).set_wrap(not narrow)
        self.query_one(TimingLog).border_subtitle = f"{k['events']} events · {k['zoom']} zoom" if narrow else ""

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")

    def show_panel(self, name: str, *, focus: bool = True) -> None:
        """Bring a lower pane forward (events and timing share a slot when narrow) and focus it."""
        if self.maximized is not None:
            self.minimize()
        if name != "findings":
            self.current_log = name
        self._apply_panels()
        if name == "timing":  # it was hidden: show its newest rows
            self.query_one(TimingLog).follow()
        elif name == "events":
            self.query_one(EventLog).follow()
        if focus:
            panel = self.query_one(PANELS[name])
            target = {"events": "#events-scroll", "timing": "#timing-table"}.get(name)
            (panel.query_one(target) if target else panel).focus()

    def on_descendant_focus(self, event) -> None:
        # Narrow: a log pane the operator moved to gets the room (the findings shrink to a few lines).
        logs = self.query_one("#logs")
        self.set_class(self.focused is not None and logs in self.focused.ancestors_with_self, "-logs-focused")

    def focus_stacks(self) -> None:
        """esc on the main screen: back to the stacks."""
        if not isinstance(self.focused, NodeStack):
            self.query_one(NodeStack).focus()

    def open_filter(self) -> None:
        self.show_panel("events", focus=False)
        self.query_one(EventLog).open_filter()

    def focused_pane(self) -> Widget:
        """The pane that holds the focus (the findings when nothing is focused)."""
        node = self.focused
        while node is not None and not isinstance(node, PANES):
            node = node.parent if isinstance(node.parent, Widget) else None
        return node if node is not None else self.query_one(FindingsPanel)

    def toggle_zoom(self) -> None:
        """The focused pane full screen, or back to all panes."""
        if self.maximized is not None:
            self.maximized.border_subtitle = self._saved_subtitle
            self.minimize()
            self._apply_panels()
            return
        pane = self.focused_pane()
        self._saved_subtitle = pane.border_subtitle
        pane.border_subtitle = f"{self.keys['zoom']} or esc: all panes"
        if not self.maximize(pane, container=False):
            pane.border_subtitle = self._saved_subtitle

    def on_key(self, event) -> None:
        """A printable key that nothing here is bound to still answers (Inputs take their own keys)."""
        char = event.character
        if char and char.isprintable() and char != " " and event.key not in self.active_bindings:
            self.notify(f"{char!r} is not a key here: {self.keys['help']} lists every key", timeout=3)

    # --- data ----------------------------------------------------------------------

    def show_snapshot(self, snap: ClusterSnapshot, fresh: Freshness, views: dict[str, SyncView | None],
                      speeds: dict[str, list[float]], poll_error: str | None,
                      backoff: dict[str, float] | None = None) -> None:
        self.query_one(ClusterHeader).show(snap, fresh, poll_error, self.config.cluster.name)
        for stack in self.query(NodeStack):
            stack.show(snap, fresh, (backoff or {}).get(stack.node))
        self.query_one(ReplicationLink).show(snap, views, speeds)
        self.query_one(FindingsPanel).show(snap)

    def tick(self, snap: ClusterSnapshot | None, fresh: Freshness, poll_error: str | None,
             backoff: dict[str, float] | None = None) -> None:
        """Clock tick between polls: ages grow, data may turn stale, backoffs count down."""
        self.query_one(ClusterHeader).show(snap, fresh, poll_error, self.config.cluster.name)
        if snap is not None:
            for stack in self.query(NodeStack):
                stack.show(snap, fresh, (backoff or {}).get(stack.node))

    @property
    def showing(self) -> bool:
        """The widgets are there to show data (not yet, or no longer, while the app starts or exits)."""
        return self.is_attached and bool(self.query(ClusterHeader))

    def selected_finding(self) -> Finding | None:
        return self.query_one(FindingsPanel).selected

    def copy_payload(self) -> tuple[str, str] | None:
        """(text, what it is) for `c`: the selected finding's command, else its hint (None: no finding)."""
        finding = self.selected_finding()
        if finding is None:
            return None
        text = copy_text(finding.hint)
        return text, f"{finding.code}'s {'hint' if text == finding.hint.strip() else 'command'}"

    def add_events(self, events: list[StateEvent]) -> None:
        self.query_one(EventLog).add(events)

    def add_timing(self, rows: list[TimingRow]) -> None:
        self.query_one(TimingLog).add_rows(rows)

    def show_past(self, past: Past, opened: float) -> None:
        """The history from before the console opened (epoch ``opened``), dimmed, with its note."""
        self.query_one(EventLog).add_past(past.events, opened, past.note)
        self.query_one(TimingLog).add_past(past.timing, opened)

    # --- an action's messages (hatui.ui.action_controller): shown here, then on to the app -----------

    def on_action_started(self, message: ActionStarted) -> None:
        self.show_panel("timing", focus=False)
        self.query_one(TimingLog).begin(message.title, message.at)

    def on_action_resumed(self, message: ActionResumed) -> None:
        self.query_one(TimingLog).begin(message.title, message.at)

    def on_action_step(self, message: ActionStep) -> None:
        self.query_one(TimingLog).put(message.key, message.row)

    def on_action_status(self, message: ActionStatus) -> None:
        self.query_one(TimingLog).set_status(message.text)

    def on_action_rows(self, message: ActionRows) -> None:
        self.add_timing(message.rows)

    def on_action_logged(self, message: ActionLogged) -> None:
        self.add_events([message.event])
