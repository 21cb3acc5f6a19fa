"""Every health finding: severity (glyph + word), the plain-language message, → the next step.

Findings form a tree: a root cause flush left, what it explains indented under
it with ``└``. One finding is selected (▶, the worst root to begin with; ↑↓
move when the pane has focus); its hint ends with the copy key and what it
copies: the command in backticks ("copy command"), else the hint. Hints name
the console's own keys where the rule wrote a command-line flag.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hatui.model import ClusterSnapshot, Finding
from hatui.states import Severity
from hatui.ui import cells
from hatui.ui.console_hints import console_hint, copy_text

NO_KEYS = {"failover": "F", "failback": "B", "resync": "R"}


def finding_content(finding: Finding, keys: dict[str, str] | None = None) -> Content:
    """One finding on two lines: severity, [node layer], message / → hint."""
    hint = console_hint(finding.hint, keys or NO_KEYS)
    return Content("\n").join([finding_message(finding), Content.assemble(("  → ", "bold $accent"), hint)])


def finding_message(finding: Finding, *, selected: bool = False) -> Content:
    """A root flush left; what it explains indented under it ("└"), so the cause reads first."""
    where = f"{finding.node} " if finding.node else ""
    lead = ("▶ " if selected else "", "bold $accent")
    tree = ("" if finding.root else "└ ", cells.MUTED)
    return Content.assemble(tree, lead, cells.severity(finding.severity),
                            (f" [{where}{finding.layer.value}] ", cells.MUTED), finding.message)


class HintLine(Static):
    """A hint, and the copy tag after its last word, kept whole (on a line of its own if it must)."""

    def __init__(self, hint: Content, tag: Content | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hint, self.tag = hint, tag

    def _lines(self, width: int) -> list[Content]:
        lines = self.hint.wrap(max(1, width))
        if self.tag is None:
            return lines
        if lines and lines[-1].cell_length + 2 + self.tag.cell_length <= width:
            lines[-1] = Content.assemble(lines[-1], "  ", self.tag)
        else:
            lines.append(self.tag)
        return lines

    def render(self) -> Content:
        return Content("\n").join(self._lines(self.content_size.width))

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self._lines(width))


def _identity(finding: Finding) -> tuple[str, str | None, str]:
    """What stays the same while a finding lasts (its message may carry a growing age)."""
    return finding.code, finding.node, finding.layer.value


class FindingsPanel(VerticalScroll):
    """Worst first; OK-level notes only when nothing is wrong. ↑↓ select; the copy key copies."""

    can_focus = True
    ALLOW_MAXIMIZE = True  # z shows it full screen
    BINDINGS = [
        Binding("up,k", "select(-1)", "Previous finding", show=False),
        Binding("down,j", "select(1)", "Next finding", show=False),
        Binding("home", "select_at(0)", "First finding", show=False),
        Binding("end", "select_at(-1)", "Last finding", show=False),
    ]

    def __init__(self, *, copy_key: str = "c", hint_keys: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Findings"
        self.copy_key = copy_key
        self.hint_keys = hint_keys or NO_KEYS
        self.shown: tuple[Finding, ...] = ()
        self.index = 0
        self._drawn: tuple[tuple[Finding, ...], int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("… waiting for the first poll", classes="finding-message")

    @property
    def selected(self) -> Finding | None:
        bad = [f for f in self.shown if f.severity != Severity.OK]
        return self.shown[self.index] if bad and self.index < len(self.shown) else None

    def show(self, snap: ClusterSnapshot) -> None:
        shown = tuple(f for f in snap.findings if f.severity != Severity.OK) or snap.findings
        if shown != self.shown:
            before = self.selected
            self.shown = shown
            same = [i for i, f in enumerate(shown) if before is not None and _identity(f) == _identity(before)]
            self.index = same[0] if same else 0
        self._draw()

    def _draw(self) -> None:
        if self._drawn == (self.shown, self.index):
            return
        self._drawn = (self.shown, self.index)
        bad = sum(1 for f in self.shown if f.severity != Severity.OK)
        self.border_title = f"Findings ({bad})" if bad else "Findings"
        self.border_subtitle = f"↑↓ select · {self.copy_key} copies the command" if bad else ""
        widgets: list[Static] = []
        if not bad:
            widgets.append(Static(Content.styled("✔ No findings: both nodes look as the documented setup expects.",
                                                 "$success"), classes="finding-message"))
        for index, finding in enumerate(self.shown if bad else ()):
            picked = index == self.index
            kind = ("" if finding.root else " -consequence") + (" -selected" if picked else "")
            widgets.append(Static(finding_message(finding, selected=picked), classes="finding-message" + kind))
            # The hint is its own block so wrapped lines stay indented under the arrow.
            hint = Content.assemble(("→ ", "bold $accent"), console_hint(finding.hint, self.hint_keys))
            tag = None
            if picked:  # what the copy key takes from this finding, and which key it is
                what = "command" if copy_text(finding.hint) != finding.hint.strip() else "hint"
                tag = Content.styled(f"[{self.copy_key}] copy {what}", "bold $accent")
            widgets.append(HintLine(hint, tag, classes="finding-hint" + kind))
        with self.app.batch_update():
            self.remove_children()
            self.mount_all(widgets)
        if bad:
            self.call_after_refresh(self._scroll_to_selected)

    def _scroll_to_selected(self) -> None:
        picked = self.query(".-selected")
        if picked:  # its message at the top of the pane
            self.scroll_to_widget(picked.first(), animate=False, top=True)

    def action_select(self, delta: int) -> None:
        if self.selected is not None:
            self.index = (self.index + delta) % len(self.shown)
            self._draw()

    def action_select_at(self, index: int) -> None:
        if self.selected is not None:
            self.index = index % len(self.shown)
            self._draw()
