"""Rich renderables of a cluster snapshot, shared by `hatui status` and the console."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hatui.present.layers import GLYPH, LayerState, node_layers, vip_text
from hatui.model import ClusterSnapshot, Finding, NodeSnapshot
from hatui.states import Severity
from hatui.present.text import age_text

STYLE = {
    Severity.OK: "green",
    Severity.WARNING: "yellow",
    Severity.CRITICAL: "bold red",
    Severity.UNKNOWN: "magenta",
}


def severity_text(severity: Severity) -> Text:
    """Glyph and word, coloured: the word carries the meaning, colour only helps."""
    return Text(f"{GLYPH[severity]} {severity.value}", style=STYLE[severity])




def node_heading(snap: ClusterSnapshot, node: NodeSnapshot, now: float | None = None) -> Text:
    """'vm2 ★ ACTIVE  polled 1s ago, 42 ms' or 'vm12 UNREACHABLE since …'."""
    now = time.time() if now is None else now
    text = Text(node.name, style="bold")
    if not node.reachable:
        text.append("  ✖ UNREACHABLE" if node.unreachable else "  ? NOT ASKED", style="bold red")
        if node.unreachable_since is not None:
            text.append(f" for {age_text(now - node.unreachable_since)}")
        if node.last_seen is not None:
            text.append(f", last seen {age_text(now - node.last_seen)} ago", style="dim")
        return text
    if snap.is_active(node.name):
        text.append("  ★ ACTIVE", style="bold cyan")
    else:
        text.append("  ☆ standby", style="dim")
    latency = f" {node.latency * 1000:.0f}ms" if node.latency is not None else ""
    text.append(f"  {age_text(now - node.polled_at)} ago{latency}", style="dim")
    return text


def cell(state: LayerState) -> Text:
    text = Text()
    text.append(f"{GLYPH[state.health]} ", style=STYLE[state.health])
    text.append(state.state, style="bold" if state.health == Severity.OK else STYLE[state.health])
    if state.detail:
        text.append(f"  {state.detail}", style="dim" if state.health == Severity.OK else "")
    return text


def stack_table(snap: ClusterSnapshot, now: float | None = None) -> Table:
    """Both nodes side by side, layer by layer (VIP at the top, disk at the bottom)."""
    table = Table(expand=True, show_lines=False, pad_edge=False)
    table.add_column("Layer", style="bold", no_wrap=True)
    for node in snap.nodes:
        table.add_column(node_heading(snap, node, now), ratio=1)
    left, right = (node_layers(snap, n.name) for n in snap.nodes)
    for a, b in zip(left, right):
        label = a.layer.value if a.resource is None or len(snap.config.drbd) == 1 else f"{a.layer.value} {a.resource}"
        table.add_row(label, cell(a), cell(b))
    for node_index, node in enumerate(snap.nodes):
        if not node.reachable and node.error:
            row = ["", Text(""), Text("")]
            row[node_index + 1] = Text(node.error, style="red")
            table.add_row(*row)
    return table


def header(snap: ClusterSnapshot) -> Text:
    """Cluster name, verdict and who holds the VIP."""
    text = Text()
    text.append(f"{snap.config.cluster.name}  ", style="bold")
    text.append_text(severity_text(snap.verdict))
    text.append(f"   VIP {snap.config.vip.ip} → {vip_text(snap)}")
    return text


def finding_line(finding: Finding) -> Text:
    """A root on its own line; what it explains indented under it with "└ caused by"."""
    indent = "" if finding.root else "    └ "
    text = Text(indent)
    text.append_text(severity_text(finding.severity))
    where = f"{finding.node} " if finding.node else ""
    text.append(f"  [{where}{finding.layer.value}] ", style="dim")
    text.append(finding.message)
    pad = "      " if finding.root else "          "
    text.append(f"\n{pad}→ {finding.hint}", style="italic")
    return text


def findings_block(snap: ClusterSnapshot) -> RenderableType:
    shown = [f for f in snap.findings if f.severity != Severity.OK] or list(snap.findings)
    if not shown:
        return Text("✔ No findings: both nodes look as the documented setup expects.", style="green")
    return Group(*(finding_line(f) for f in shown))


def frame_heading(at: float, interval: float, *, live: bool = True) -> Text:
    """The line above each ``status --watch`` frame: when it was taken (local time, with the zone)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(at))
    tail = " · Ctrl-C stops" if live else ""
    return Text.assemble(("hatui status ", "bold"), (stamp, "bold"), f" · every {interval:g} s{tail}")


def status_view(snap: ClusterSnapshot, now: float | None = None) -> RenderableType:
    """The whole `hatui status` picture."""
    return Group(header(snap), stack_table(snap, now), Text("Findings", style="bold underline"), findings_block(snap))
