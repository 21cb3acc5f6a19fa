"""The replication link between the two DRBD layers: connection, replication, sync progress.

During a sync it shows the direction (vm2 → vm12), a progress bar with % and
ETA, and a sparkline of the recent sync speed (the history is kept by the app).
In ASCII mode the bar is drawn as ``[######......] 42.5%`` (Textual's bar is one
character for done and to do, told apart only by colour).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Label, ProgressBar, Sparkline, Static

from hatui.present.layers import GLYPH, LayerState, node_layers
from hatui.model import ClusterSnapshot, Layer
from hatui.ui import cells
from hatui.present.events import SyncView


ASCII_BAR = 20


class LinkRow(Vertical):
    """One DRBD resource's link: a state line, and a sync line while a sync runs."""

    def __init__(self, resource: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.resource = resource

    def compose(self) -> ComposeResult:
        yield Static("", classes="link-state")
        with Horizontal(classes="link-sync"):
            yield Label("", classes="link-direction")
            yield ProgressBar(total=100, show_eta=False, classes="link-bar")
            yield Label("", classes="link-ascii-bar")
            yield Label("", classes="link-eta")
            yield Sparkline([], classes="link-speed-spark")
            yield Label("", classes="link-speed")

    def show(self, snap: ClusterSnapshot, view: SyncView | None, speeds: list[float]) -> None:
        rows = {n.name: _link_row(snap, n.name, self.resource) for n in snap.nodes}
        self.query_one(".link-state", Static).update(_state_line(self.resource, rows))
        sync = self.query_one(".link-sync", Horizontal)
        sync.display = view is not None
        if view is None:
            return
        self.query_one(".link-direction", Label).update(
            Content.assemble((f"{view.source} → {view.target}", "bold $warning"), " "))
        bar = self.query_one(".link-bar", ProgressBar)
        bar.update(progress=view.percent or 0.0)
        plain = self.query_one(".link-ascii-bar", Label)  # shown instead of the bar in ASCII mode (link.tcss)
        done = round((view.percent or 0.0) / 100 * ASCII_BAR)
        pct = "?" if view.percent is None else f"{view.percent:.1f}%"
        plain.update(f"[{'#' * done}{'.' * (ASCII_BAR - done)}] {pct}")
        self.query_one(".link-eta", Label).update(f" ETA {cells.duration(view.eta_seconds)} ")
        self.query_one(".link-speed-spark", Sparkline).data = speeds or [0.0]
        self.query_one(".link-speed", Label).update(f" {cells.speed(view.speed_kib_s)}")


def _link_row(snap: ClusterSnapshot, node: str, resource: str) -> LayerState | None:
    for row in node_layers(snap, node):
        if row.layer == Layer.REPLICATION and row.resource in (resource, None):
            return row
    return None


def _cell(row: LayerState | None) -> Content:
    if row is None:
        return Content.styled("? not reported", cells.MUTED)
    return cells.layer_cell(row, dim=row.state == "unreachable")


def _state_line(resource: str, rows: dict[str, LayerState | None]) -> Content:
    head = Content.assemble(("⇄ ", "bold"), (f"Replication {resource}", "bold"), "  ")
    values = list(rows.values())
    same = all(r is not None for r in values) and len({(r.state, r.detail, r.health) for r in values}) == 1
    if same:
        return head + _cell(values[0])
    parts: list[Content] = []
    shared = all(r is not None for r in values) and len({(r.state, r.health) for r in values}) == 1
    if shared:  # e.g. both "syncing": one word, then each side's detail
        first = values[0]
        head += Content.assemble((f"{GLYPH[first.health]} {first.state}", cells.STYLE[first.health]), "  ")
        for name, row in rows.items():
            parts.append(Content.assemble((name, "bold"), " ", (row.detail, cells.MUTED)))
    else:
        for name, row in rows.items():
            parts.append(Content.assemble((name, "bold"), " ", _cell(row)))
    return head + Content.styled("  │  ", cells.MUTED).join(parts)


class ReplicationLink(Vertical):
    """One :class:`LinkRow` per configured DRBD resource."""

    def __init__(self, resources: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.resources = resources

    def compose(self) -> ComposeResult:
        for index, resource in enumerate(self.resources):
            yield LinkRow(resource, id=f"link-{index}")

    def show(self, snap: ClusterSnapshot, views: dict[str, SyncView | None], speeds: dict[str, list[float]]) -> None:
        for row in self.query(LinkRow):
            row.show(snap, views.get(row.resource), speeds.get(row.resource, []))

