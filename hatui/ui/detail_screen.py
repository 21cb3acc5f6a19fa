"""One layer of one node in depth: its state, the findings about it, the raw output it came from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from hatui.layers import LayerState, node_layers
from hatui.model import ClusterSnapshot
from hatui.ui import cells
from hatui.ui.findings import finding_content


def _same_row(row: LayerState, other: LayerState) -> bool:
    return row.layer == other.layer and row.resource == other.resource


class DetailScreen(Screen):
    """Opened with enter on a layer; esc goes back. Follows new polls while open."""

    BINDINGS = [Binding("escape", "app.back", "Back")]

    def __init__(self, node: str, row: LayerState, snap: ClusterSnapshot) -> None:
        super().__init__()
        self.node = node
        self.row = row
        self.snap = snap

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Static("", id="detail-summary")
            yield Static("", id="detail-findings")
            yield Static("", id="detail-raw")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.snap)
        self.query_one("#detail-body").focus()

    def show(self, snap: ClusterSnapshot) -> None:
        self.snap = snap
        node = snap.node(self.node)
        row = next((r for r in node_layers(snap, self.node) if _same_row(r, self.row)), self.row)
        self.row = row
        where = f" {row.resource}" if row.resource and len(snap.config.drbd) > 1 else ""
        self.query_one("#detail-title", Static).update(Content.assemble(
            (f" {self.node} · {row.layer.value}{where} ", "bold reverse"), "  ", cells.layer_cell(row),
            ("   esc back", cells.MUTED)))
        summary = [Content.assemble(("state   ", "bold"), cells.layer_cell(row)),
                   Content.assemble(("health  ", "bold"), cells.severity(row.health))]
        if node.reachable:
            latency = f", poll took {node.latency * 1000:.0f} ms" if node.latency is not None else ""
            summary.append(Content.assemble(("polled  ", "bold"), f"{cells.clock_text(node.polled_at)}{latency}"))
        else:
            summary.append(Content.assemble(("node    ", "bold"), ("✖ UNREACHABLE ", "bold $error"), node.error or ""))
        self.query_one("#detail-summary", Static).update(Content("\n").join(summary))
        related = [f for f in snap.findings if f.layer == row.layer and f.node in (self.node, None)]
        findings = Content("\n").join(finding_content(f) for f in related) if related else Content.styled(
            "No finding about this layer.", cells.MUTED)
        self.query_one("#detail-findings", Static).update(findings)
        self.query_one("#detail-raw", Static).update(self._raw(node, row))

    def _raw(self, node, row: LayerState) -> Content:
        if not node.reachable:
            return Content.styled("No output: the node could not be polled (old output is not shown as current).",
                                  cells.MUTED)
        if not row.sources:
            return Content.styled("This layer is not read from any command (not configured).", cells.MUTED)
        parts = []
        for name in row.sources:
            section = node.sections.get(name)
            if section is None:
                parts.append(Content.assemble((f"── {name} ", "bold"), ("not collected this poll", cells.MUTED)))
                continue
            status = ("exit 0", "$success") if section.ok else (f"exit {section.rc}", "bold $error")
            parts.append(Content.assemble((f"── {name} ", "bold"), status, (" ──", "bold")))
            # Raw text as the node printed it: never interpreted as markup.
            parts.append(Content(section.text.rstrip("\n") or "(no output)"))
        return Content("\n").join(parts)
