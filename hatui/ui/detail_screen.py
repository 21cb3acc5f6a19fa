"""One layer of one node in depth: its state, the findings about it, the raw output it came from.

Raw output is shown as the node printed it, except that JSON is indented (the
tools print it on one line) and long lines wrap; the copy key (``c``) puts it
on the clipboard as shown.
"""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from hatui.present.layers import LayerState, node_layers
from hatui.model import ClusterSnapshot
from hatui.ui import cells
from hatui.ui.findings import finding_content


def _same_row(row: LayerState, other: LayerState) -> bool:
    return row.layer == other.layer and row.resource == other.resource


class DetailScreen(Screen):
    """Opened with enter on a layer; esc goes back. Follows new polls while open."""

    BINDINGS = [Binding("escape", "app.back", "Back")]

    def __init__(self, node: str, row: LayerState, snap: ClusterSnapshot, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.node = node
        self.row = row
        self.snap = snap
        self.keys = keys or {}  # command id → key, for hints that name the console's keys

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
            (f"   esc back · {self._copy_key()} copy raw", cells.MUTED)))
        summary = [Content.assemble(("state   ", "bold"), cells.layer_cell(row)),
                   Content.assemble(("health  ", "bold"), cells.severity(row.health))]
        if node.reachable:
            latency = f", poll took {node.latency * 1000:.0f} ms" if node.latency is not None else ""
            summary.append(Content.assemble(("polled  ", "bold"), f"{cells.clock_text(node.polled_at)}{latency}"))
            if node.streams:  # live between polls: on, starting, or off and why (then the poll alone)
                live = " · ".join(f"{source} {state}" for source, state in node.streams.items())
                summary.append(Content.assemble(("streams ", "bold"), live))
        else:
            summary.append(Content.assemble(("node    ", "bold"), ("✖ UNREACHABLE ", "bold $error"), node.error or ""))
        self.query_one("#detail-summary", Static).update(Content("\n").join(summary))
        related = [f for f in snap.findings if f.layer == row.layer and f.node in (self.node, None)]
        findings = Content("\n").join(finding_content(f, self.keys or None) for f in related) if related else Content.styled(
            "No finding about this layer.", cells.MUTED)
        self.query_one("#detail-findings", Static).update(findings)
        self.query_one("#detail-raw", Static).update(self._raw(node, row))

    def _copy_key(self) -> str:
        return self.keys.get("copy", "c")

    def _raw(self, node, row: LayerState) -> Content:
        parts = []
        for name, status, text in self.raw_sections(node, row):
            if text is None:
                parts.append(Content.styled(status, cells.MUTED) if name is None else
                             Content.assemble((f"── {name} ", "bold"), (status, cells.MUTED)))
                continue
            ok = status == "exit 0"
            parts.append(Content.assemble((f"── {name} ", "bold"), (status, "$success" if ok else "bold $error"),
                                          (" ──", "bold")))
            parts.append(Content(text))  # raw text as the node printed it: never interpreted as markup
        return Content("\n").join(parts)

    def raw_sections(self, node, row: LayerState) -> list[tuple[str | None, str, str | None]]:
        """(section, status, text or None) of each raw output this layer is read from, JSON indented."""
        if not node.reachable:
            return [(None, "No output: the node could not be polled (old output is not shown as current).", None)]
        if not row.sources:
            return [(None, "This layer is not read from any command (not configured).", None)]
        out: list[tuple[str | None, str, str | None]] = []
        for name in row.sources:
            section = node.sections.get(name)
            if section is None:
                out.append((name, "not collected this poll", None))
            else:
                out.append((name, "exit 0" if section.ok else f"exit {section.rc}", pretty(section.text)))
        return out

    def copy_payload(self) -> tuple[str, str]:
        """(text, what it is) for `c`: the raw outputs as shown."""
        return self.raw_text(), "the raw output"

    def raw_text(self) -> str:
        """The raw outputs as shown, for the clipboard."""
        node = self.snap.node(self.node)
        return "\n".join(f"── {name or self.node} {status}" + (f"\n{text}" if text is not None else "")
                         for name, status, text in self.raw_sections(node, self.row))


def pretty(text: str) -> str:
    """JSON indented two spaces; anything else as printed. Empty output says so."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return text.rstrip("\n") or "(no output)"
