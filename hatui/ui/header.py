"""The console header: cluster, verdict, VIP and its holder; per node poll age and latency."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from hatui.present.layers import vip_text
from hatui.model import ClusterSnapshot
from hatui.ui import cells


@dataclass(frozen=True)
class Freshness:
    """How old the data of each node is; the header and the stacks agree on "stale"."""

    now: float
    stale_after: float  # seconds without a new poll before data counts as stale

    def age(self, polled_at: float) -> float:
        return max(0.0, self.now - polled_at)

    def stale(self, polled_at: float) -> bool:
        return self.age(polled_at) > self.stale_after


class ClusterHeader(Static):
    """Two lines: the cluster at a glance, then how fresh each node's data is."""

    def __init__(self, *, read_only: bool, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.read_only = read_only

    def show(self, snap: ClusterSnapshot | None, fresh: Freshness, poll_error: str | None = None,
             cluster_name: str = "") -> None:
        self.update(self.compose_content(snap, fresh, poll_error, cluster_name))

    def compose_content(self, snap: ClusterSnapshot | None, fresh: Freshness, poll_error: str | None,
                        cluster_name: str) -> Content:
        badge = [("  READ-ONLY ", "bold reverse $warning")] if self.read_only else []
        if snap is None:
            waiting = (f"▲ poll failed: {poll_error}", "bold $warning") if poll_error else (
                "… first poll in progress", cells.MUTED)
            return Content.assemble((f" {cluster_name} ", "bold"), "  ", waiting, *badge)
        holders, text = snap.vip_holders, vip_text(snap)
        if len(holders) == 2:
            where = (text, "bold $error")
        elif holders:
            where = (text.replace(holders[0], f"{holders[0]} ★", 1), cells.ACTIVE_STYLE)
        elif snap.facts.vip_unknown:
            where = (text, "bold $warning")
        else:
            where = (text, "bold $error")
        top = Content.assemble(
            (f" {snap.config.cluster.name} ", "bold"), "  ", cells.severity(snap.verdict),
            "   VIP ", (snap.config.vip.ip, "bold"), " → ", where, *badge,
        )
        line = [" "]
        for i, node in enumerate(snap.nodes):
            if i:
                line.append(("  │  ", cells.MUTED))
            line.append((node.name, "bold"))
            if not node.reachable:
                seen = f"last seen {cells.age(fresh.age(node.last_seen))} ago" if node.last_seen else "never seen"
                label = "✖ UNREACHABLE" if node.unreachable else "? NOT ASKED"
                line += [" ", (label, "bold $error"), (f" {seen}", cells.MUTED)]
                continue
            if fresh.stale(node.polled_at):
                line += [" ", (f"⌛ STALE {cells.age(fresh.age(node.polled_at))} old", "bold $warning")]
                continue
            latency = f" · {node.latency * 1000:.0f} ms" if node.latency is not None else ""
            line.append((f" polled {cells.age(fresh.age(node.polled_at))} ago{latency}", cells.MUTED))
        if poll_error:
            line += [("  │  ", cells.MUTED), (f"▲ poll failed: {poll_error}", "bold $warning")]
        return Content("\n").join([top, Content.assemble(*line)])
