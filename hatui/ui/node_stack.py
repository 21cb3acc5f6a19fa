"""One node's stack, top (Virtual IP) to bottom (physical disk), with a selectable row.

The rows are :func:`hatui.present.layers.node_layers` as they are (the replication
rows are drawn by the link widget between the two stacks). An unreachable or
stale node is dimmed and says so in its title; its old data is never shown as
current. While hatui waits before reconnecting to it (the transport's
backoff), the bottom border counts down and names the key that retries now.
"""

from __future__ import annotations

import re

from textual.binding import Binding
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from hatui.present.layers import LayerState, node_layers
from hatui.model import ClusterSnapshot, Layer
from hatui.ui import cells
from hatui.ui.header import Freshness


class NodeStack(Widget, can_focus=True):
    """The layered stack of one node; ↑/↓ select a layer, enter opens its details."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Previous layer", show=False),
        Binding("down,j", "cursor(1)", "Next layer", show=False),
        Binding("home", "cursor_to(0)", "First layer", show=False),
        Binding("end", "cursor_to(-1)", "Last layer", show=False),
        Binding("left,h", "other_node", "Other node", show=False),
        Binding("right", "other_node", "Other node", show=False),
        Binding("enter", "select", "Details"),
    ]
    COMPONENT_CLASSES = {"node-stack--cursor", "node-stack--label"}

    cursor: reactive[int] = reactive(0)

    class Selected(Message):
        """The operator asked for the details of one layer of one node (``row`` None: no data yet)."""

        def __init__(self, stack: NodeStack, node: str, row: LayerState | None) -> None:
            super().__init__()
            self.stack = stack
            self.node = node
            self.row = row

    def __init__(self, node: str, *, retry_key: str = "r", **kwargs) -> None:
        super().__init__(**kwargs)
        self.node = node
        self.retry_key = retry_key
        self.rows: tuple[LayerState, ...] = ()
        self.multi = False
        self.dim = False
        self.border_title = node

    def show(self, snap: ClusterSnapshot, fresh: Freshness, retry_in: float | None = None) -> None:
        """Redraw from a new snapshot (or a clock tick that makes the data stale); ``retry_in``: seconds
        until hatui tries to reconnect (None: it is not waiting)."""
        node = snap.node(self.node)
        self.multi = len(snap.config.drbd) > 1
        rows = tuple(r for r in node_layers(snap, self.node) if r.layer != Layer.REPLICATION)
        stale = node.reachable and fresh.stale(node.polled_at)
        active = node.reachable and not stale and snap.is_active(self.node)
        self.set_class(not node.reachable, "-unreachable")
        self.set_class(stale, "-stale")
        self.set_class(active, "-active")
        self.dim = stale or not node.reachable
        if not node.reachable:
            seen = f"last seen {cells.age(fresh.age(node.last_seen))} ago" if node.last_seen else "never seen"
            label = "✖ UNREACHABLE" if node.unreachable else "? NOT ASKED"
            title = f"{self.node} [bold $error]{label}[/] [$text-muted]{seen}[/]"
            subtitle = Content(node.error or "")
            if retry_in is not None:  # the countdown replaces the error's own "(next retry in Ns)"
                error = re.sub(r" \(next retry in \d+s\)", "", node.error or "")
                subtitle = Content.assemble((f"reconnect in {max(1, round(retry_in))} s", "bold"), " · ",
                                            (f"{self.retry_key}: retry now", "bold $accent"), " · ", error)
        elif stale:
            title = f"{self.node} [bold $warning]⌛ STALE[/] [$text-muted]polled {cells.age(fresh.age(node.polled_at))} ago[/]"
            subtitle = Content("no fresh data")
        elif active:
            title = f"[bold]{self.node}[/] [bold $accent]★ ACTIVE[/]"
            subtitle = Content("")
        else:
            title = f"{self.node} [$text-muted]☆ standby[/]"
            subtitle = Content("")
        self.border_title = title
        self.border_subtitle = subtitle
        if rows != self.rows:
            self.rows = rows
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.refresh(layout=True)

    @property
    def selected(self) -> LayerState | None:
        return self.rows[self.cursor] if self.rows else None

    def render(self) -> Content:
        width = max(1, self.content_size.width)
        label_style = self.get_visual_style("node-stack--label")
        cursor_style = self.get_visual_style("node-stack--cursor")
        lines = []
        for index, row in enumerate(self.rows):
            label = Content.styled(cells.layer_label(row, self.multi).ljust(cells.LABEL_WIDTH), label_style)
            line = Content.assemble(label, " ", cells.layer_cell(row, dim=self.dim))
            line = line.truncate(width, ellipsis=True, pad=True)
            if index == self.cursor and self.has_focus:
                line = line.stylize(cursor_style)
            elif index == self.cursor:
                line = line.stylize("underline")
            lines.append(line)
        return Content("\n").join(lines)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.rows))

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self.cursor = (self.cursor + delta) % len(self.rows)

    def action_cursor_to(self, index: int) -> None:
        if self.rows:
            self.cursor = index % len(self.rows)

    def action_other_node(self) -> None:
        for other in self.screen.query(NodeStack):
            if other is not self:
                other.cursor = min(self.cursor, max(0, len(other.rows) - 1))
                other.focus()
                return

    def action_select(self) -> None:
        self.post_message(self.Selected(self, self.node, self.selected))

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < len(self.rows):
            if self.cursor == offset.y and event.chain >= 2:
                self.action_select()
            self.cursor = offset.y
        self.focus()
