"""The timing log: steps of a (fail)over sequence with T+, budget and over/under.

Three sources push :class:`~hatui.ui.history.TimingRow` rows here: the observed
moves of the active role, the node kit's journal (automatic takeovers), and the
console's own actions, live from the runner's events. An action's step is put
under a key when it starts and updated in place when it ends
(:meth:`TimingLog.put`); :meth:`begin` marks a new sequence's T+0. The status
line above the table says what is running now and, for a resync, % and ETA.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from hatui.ui import cells
from hatui.ui.history import TimingRow

# Budget before the (long) step text: over/under must be visible in a narrow pane.
COLUMNS = ("time", "T+", "budget", "node", "step", "note")


def _budget(row: TimingRow, theme) -> Text:
    # DataTable sizes Rich text by its full width, so cells are Rich Text in the theme's colours.
    if row.budget is None:
        return Text("")
    if row.over is None:
        return Text(f"≤{row.budget:g}s")
    if row.over:
        return Text.assemble(f"≤{row.budget:g}s ", ("▲ over", f"bold {theme.warning}"))
    return Text.assemble(f"≤{row.budget:g}s ", ("✔ under", theme.success))


class TimingLog(Vertical):
    """A table of steps, newest at the bottom, with a one-line status of a running action."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Timing"
        self.rows: list[TimingRow] = []
        self.keyed: dict[str, TimingRow] = {}

    def compose(self) -> ComposeResult:
        status = Static("", id="timing-status")
        status.display = False
        yield status
        table = DataTable(id="timing-table", cursor_type="none", zebra_stripes=False, show_cursor=False)
        for name in COLUMNS:
            table.add_column(name, key=name)
        yield table

    def begin(self, title: str, at: float) -> None:
        """Start a new sequence (an action's T+0): a separator row."""
        self.add_rows([TimingRow(f"── {title}", None, at, 0.0)])

    def _cells(self, row: TimingRow) -> tuple[object, ...]:
        t_plus = f"{row.t_plus:.1f}s" if row.t_plus is not None else ""
        return (cells.clock_text(row.start), t_plus, _budget(row, self.app.current_theme), row.node or "", row.step,
                Text(row.note, style="dim"))

    def add_rows(self, rows: list[TimingRow]) -> None:
        if not rows:
            return
        table = self.query_one(DataTable)
        for row in rows:
            self.rows.append(row)
            table.add_row(*self._cells(row))
        table.scroll_end(animate=False, immediate=False)

    def put(self, key: str, row: TimingRow) -> None:
        """Add the row under ``key``, or update the row already there (a step that ended)."""
        table = self.query_one(DataTable)
        if key not in self.keyed:
            self.keyed[key] = row
            self.rows.append(row)
            table.add_row(*self._cells(row), key=key)
            table.scroll_end(animate=False, immediate=False)
            return
        old = self.keyed[key]
        self.rows[self.rows.index(old)] = self.keyed[key] = row
        for column, value in zip(COLUMNS, self._cells(row), strict=True):
            table.update_cell(key, column, value, update_width=True)

    def set_status(self, text: str | None) -> None:
        """The running action's one-line status (None hides it)."""
        status = self.query_one("#timing-status", Static)
        status.display = text is not None
        status.update(Text(text or ""))
