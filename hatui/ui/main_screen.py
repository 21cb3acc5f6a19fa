"""The main screen: header, both stacks side by side, the replication link, and the lower panes.

Below 120 columns the lower panes (findings, events, timing) share one slot
and `f` / `e` / `l` switch between them; wider, findings sit on the left and
the event log above the timing log on the right.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from hatui.config import Config
from hatui.model import ClusterSnapshot
from hatui.ui.event_log import EventLog
from hatui.ui.findings import FindingsPanel
from hatui.ui.header import ClusterHeader, Freshness
from hatui.ui.history import StateEvent, SyncView, TimingRow
from hatui.ui.link import ReplicationLink
from hatui.ui.node_stack import NodeStack
from hatui.ui.timing_log import TimingLog

PANELS = {"findings": "#findings", "events": "#events", "timing": "#timing"}
NARROW_BELOW = 120
PANEL_HINT = "f findings · e events · l timing"


class MainScreen(Screen):
    """Everything an operator needs at a glance."""

    AUTO_FOCUS = "NodeStack"

    def __init__(self, config: Config, *, read_only: bool) -> None:
        super().__init__()
        self.config = config
        self.read_only = read_only
        self.current_panel = "findings"

    def compose(self) -> ComposeResult:
        yield ClusterHeader(read_only=self.read_only, id="header")
        with Horizontal(id="stacks"):
            for index, name in enumerate(self.config.node_names):
                yield NodeStack(name, id=f"stack-{index}")
        yield ReplicationLink([r.resource for r in self.config.drbd], id="link")
        with Horizontal(id="lower"):
            yield FindingsPanel(id="findings", classes="panel")
            with Vertical(id="logs"):
                yield EventLog(id="events", classes="panel")
                yield TimingLog(id="timing", classes="panel")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.app.allows(action) if hasattr(self.app, "allows") else True

    def on_mount(self) -> None:
        self.call_after_refresh(self.app.start_polling)

    # --- layout ------------------------------------------------------------------

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        hint = PANEL_HINT if narrow else ""
        self.query_one(FindingsPanel).border_subtitle = hint
        self.query_one(TimingLog).border_subtitle = hint
        self.query_one(EventLog).set_hint(hint)
        self._apply_panels()

    def _apply_panels(self) -> None:
        narrow = self.narrow
        for key, selector in PANELS.items():
            self.query_one(selector).display = not narrow or key == self.current_panel
        self.query_one("#logs").display = not narrow or self.current_panel != "findings"

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")

    def show_panel(self, name: str, *, focus: bool = True) -> None:
        """Bring a lower pane forward (the only one shown when narrow) and focus it."""
        self.current_panel = name
        self._apply_panels()
        if focus:
            panel = self.query_one(PANELS[name])
            target = {"events": "#events-scroll", "timing": "#timing-table"}.get(name)
            (panel.query_one(target) if target else panel).focus()

    def focus_stacks(self) -> None:
        """esc on the main screen: back to the stacks (the findings pane when narrow)."""
        if self.narrow:
            self.show_panel("findings", focus=False)
        if not isinstance(self.focused, NodeStack):
            self.query_one(NodeStack).focus()

    def open_filter(self) -> None:
        self.show_panel("events", focus=False)
        self.query_one(EventLog).open_filter()

    # --- data ----------------------------------------------------------------------

    def show_snapshot(self, snap: ClusterSnapshot, fresh: Freshness, views: dict[str, SyncView | None],
                      speeds: dict[str, list[float]], poll_error: str | None) -> None:
        self.query_one(ClusterHeader).show(snap, fresh, poll_error, self.config.cluster.name)
        for stack in self.query(NodeStack):
            stack.show(snap, fresh)
        self.query_one(ReplicationLink).show(snap, views, speeds)
        self.query_one(FindingsPanel).show(snap)

    def tick(self, snap: ClusterSnapshot | None, fresh: Freshness, poll_error: str | None) -> None:
        """Clock tick between polls: ages grow, data may turn stale."""
        self.query_one(ClusterHeader).show(snap, fresh, poll_error, self.config.cluster.name)
        if snap is not None:
            for stack in self.query(NodeStack):
                stack.show(snap, fresh)

    def add_events(self, events: list[StateEvent]) -> None:
        self.query_one(EventLog).add(events)

    def add_timing(self, rows: list[TimingRow]) -> None:
        self.query_one(TimingLog).add_rows(rows)
