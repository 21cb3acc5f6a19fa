"""Every health finding: severity (glyph + word), the plain-language message, → the next step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hatui.model import ClusterSnapshot, Finding
from hatui.states import Severity
from hatui.ui import cells


def finding_content(finding: Finding) -> Content:
    """One finding on two lines: severity, [node layer], message / → hint."""
    return Content("\n").join([finding_message(finding), Content.assemble(("  → ", "bold $accent"), finding.hint)])


def finding_message(finding: Finding) -> Content:
    """A root flush left; what it explains indented under it ("└"), so the cause reads first."""
    where = f"{finding.node} " if finding.node else ""
    lead = ("" if finding.root else "└ ", cells.MUTED)
    return Content.assemble(lead, cells.severity(finding.severity), (f" [{where}{finding.layer.value}] ", cells.MUTED),
                            finding.message)


class FindingsPanel(VerticalScroll):
    """Worst first; OK-level notes only when nothing is wrong."""

    can_focus = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Findings"
        self._shown: tuple[Finding, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("… waiting for the first poll", classes="finding-message")

    def show(self, snap: ClusterSnapshot) -> None:
        shown = tuple(f for f in snap.findings if f.severity != Severity.OK) or snap.findings
        if shown == self._shown:
            return
        self._shown = shown
        bad = sum(1 for f in shown if f.severity != Severity.OK)
        self.border_title = f"Findings ({bad})" if bad else "Findings"
        widgets: list[Static] = []
        if not shown:
            widgets.append(Static(Content.styled("✔ No findings: both nodes look as the documented setup expects.",
                                                 "$success"), classes="finding-message"))
        for finding in shown:
            kind = "" if finding.root else " -consequence"
            widgets.append(Static(finding_message(finding), classes="finding-message" + kind))
            # The hint is its own block so wrapped lines stay indented under the arrow.
            widgets.append(Static(Content.assemble(("→ ", "bold $accent"), finding.hint),
                                  classes="finding-hint" + kind))
        with self.app.batch_update():
            self.remove_children()
            self.mount_all(widgets)
