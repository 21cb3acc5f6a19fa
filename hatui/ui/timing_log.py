"""The timing log: steps of a (fail)over sequence with T+, budget and over/under.

For now the app pushes the observed moves of the active role (who holds the
VIP / DRBD Primary, and when), so an automatic failover is visible. The
actions runner can push its own :class:`~hatui.ui.history.TimingRow` steps
through :meth:`TimingLog.add_rows` and mark a new sequence with :meth:`begin`.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from hatui.ui import cells
from hatui.ui.history import TimingRow

COLUMNS = ("time", "T+", "step", "node", "budget", "note")


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
    """A table of steps, newest at the bottom."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Timing"
        self.rows: list[TimingRow] = []

    def compose(self) -> ComposeResult:
        table = DataTable(id="timing-table", cursor_type="none", zebra_stripes=False, show_cursor=False)
        table.add_columns(*COLUMNS)
        yield table

    def begin(self, title: str, at: float) -> None:
        """Start a new sequence (an action's T+0): a separator row."""
        self.add_rows([TimingRow(f"── {title}", None, at, 0.0)])

    def add_rows(self, rows: list[TimingRow]) -> None:
        if not rows:
            return
        table = self.query_one(DataTable)
        for row in rows:
            self.rows.append(row)
            t_plus = f"{row.t_plus:.1f}s" if row.t_plus is not None else ""
            table.add_row(cells.clock_text(row.start), t_plus, row.step, row.node or "", _budget(row, self.app.current_theme),
                          Text(row.note, style="dim"))
        table.scroll_end(animate=False, immediate=False)
