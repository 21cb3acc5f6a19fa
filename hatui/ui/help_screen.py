"""`?`: every key of the console, including actions added later (from the app's bindings)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

NAVIGATION = (
    ("↑ ↓  j k", "select a layer, or a finding in its pane"),
    ("← →  h", "switch to the other node's stack"),
    ("tab / shift+tab", "move focus: panes; a dialog's controls"),
    ("enter", "layer details; in a dialog: the focused control"),
    ("space", "in a dialog: tick [x] / untick [ ], choose (•)"),
    ("esc", "back, unzoom, clear the filter, cancel a dialog"),
    ("ctrl+p", "command palette: every command and theme"),
)


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; any of esc, q, ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, commands: list[tuple[str, str]], read_only: bool) -> None:
        super().__init__()
        self.commands = commands
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self._content(), id="help-text")

    def _content(self) -> Content:
        width = max(len(k) for k, _ in (*NAVIGATION, *self.commands)) + 2
        lines = [Content.styled("Keys", "bold underline")]
        lines += self._command_lines()
        lines += [Content(""), Content.styled("Navigation", "bold underline")]
        lines += [Content.assemble((key.ljust(width), "bold $accent"), text) for key, text in NAVIGATION]
        if self.read_only:
            lines += [Content(""), Content.styled("READ-ONLY: keys that change the cluster are off.", "bold $warning")]
        lines += [Content(""), Content.styled("States: ✔ OK ▲ WARNING ✖ CRITICAL ? UNKNOWN · ★ active ☆ standby",
                                              "$text-muted")]
        return Content("\n").join(lines)

    def _command_lines(self) -> list[Content]:
        """The console's keys, up to three to a line when they fit (the help must fit 80×24)."""
        width = max(len(k) for k, _ in self.commands) + 2
        column = width + max(len(t) for _, t in self.commands) + 3
        cells = [Content.assemble((key.ljust(width), "bold $accent"), text.ljust(column - width))
                 for key, text in self.commands]
        room = max(self.app.size.width - 10, 40)
        per_line = max(1, min(3, room // column))
        return [Content("").join(cells[i:i + per_line]) for i in range(0, len(cells), per_line)]

    def action_dismiss(self) -> None:
        self.dismiss(None)
