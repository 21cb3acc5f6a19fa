"""The fleet overview's table: one row per pair, drawn from texts it is given.

A :class:`~textual.widgets.DataTable` whose rows are keyed by pair name. :meth:`FleetTable.show`
takes the rows in the order to show them and changes only what differs: a cell whose text
changed is updated in place, a new order is applied as a sort (the cursor stays on its
pair), and rows are added or removed only when the set of pairs shown changes (a filter).
So a poll never rebuilds the table, and 50 pairs answering cost 50 cell updates at most.

Column widths follow the terminal: from 120 columns on, replication and sync have their own
columns; below, they share one and the root finding gets what is left (the line under the
table shows the selected pair's root finding whole).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from hatui.states import Severity

WIDE_FROM = 120
GAP = 1  # cells between columns
HEADERS = {"verdict": "VERDICT", "pair": "PAIR", "active": "ACTIVE", "vip": "VIP", "replication": "REPLICATION",
           "sync": "SYNC", "failover": "FAILOVER", "root": "ROOT FINDING"}
# Widths (cells) of every column but the root finding, wide and narrow; the pair column fits the names.
WIDE = {"verdict": 10, "active": 8, "vip": 20, "replication": 12, "sync": 26, "failover": 10}
NARROW = {"verdict": 10, "active": 6, "vip": 6, "replication": 14, "failover": 8}
PAIR_MAX = {True: 20, False: 10}
THEME_COLOURS = {Severity.OK: "success", Severity.WARNING: "warning", Severity.CRITICAL: "error",
                 Severity.UNKNOWN: "secondary"}


@dataclass(frozen=True)
class TableRow:
    """What one row shows: the pair (its key), each column's text, and the severities that colour it."""

    key: str
    texts: dict[str, str]
    verdict: Severity | None
    root: Severity | None = None


class FleetTable(DataTable):
    """Pairs as rows; renders only (the screen decides order, filter and texts)."""

    BINDINGS = [Binding("enter", "select_cursor", "Open pair", key_display="⏎")]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=0, **kwargs)
        self.wide: bool | None = None
        self.touched = False  # the operator moved the cursor: it follows its pair from then on
        self._widths: dict[str, int] = {}
        self.pair_width = 8
        self._shown: dict[str, TableRow] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._restyle, init=False)

    # --- layout -----------------------------------------------------------------------

    @property
    def columns_shown(self) -> tuple[str, ...]:
        names = ("verdict", "pair", "active", "vip", "replication", "sync", "failover", "root")
        return names if self.wide else tuple(n for n in names if n != "sync")

    def set_names(self, names: list[str]) -> None:
        """The pair names (so the pair column fits them)."""
        self.pair_width = max([4, *(len(n) for n in names)])

    def fit(self, width: int) -> None:
        """Columns for ``width`` cells; rebuilt only when the width class or the root's room changes."""
        wide = width >= WIDE_FROM
        widths = dict(WIDE if wide else NARROW)
        widths["pair"] = min(self.pair_width, PAIR_MAX[wide])
        shown = [c for c in ("verdict", "pair", "active", "vip", "replication", "sync", "failover")
                 if c in widths]
        used = sum(widths[c] + GAP for c in shown) + 1 + 1  # a margin, and the scrollbar
        widths["root"] = max(12, width - used)
        if wide == self.wide and self._widths == widths:
            return
        self.wide, self._widths = wide, widths
        rows = [self._shown[k] for k in self._order]
        self.clear(columns=True)
        self._shown, self._order = {}, []
        for column in self.columns_shown:
            label = HEADERS[column] if column != "replication" or wide else "REPL / SYNC"
            self.add_column(Text(" " + label if column == "verdict" else label, style="bold"),
                            width=widths[column] + GAP + (1 if column == "verdict" else 0), key=column)
        self.show(rows)

    # --- rows ---------------------------------------------------------------------------

    def show(self, rows: list[TableRow]) -> None:
        """Show ``rows`` in this order, changing only what differs."""
        if not self.columns:
            self._shown = {r.key: r for r in rows}
            self._order = [r.key for r in rows]
            return
        keys = [r.key for r in rows]
        if set(keys) != set(self._order):
            self._rebuild(rows)
            return
        for row in rows:
            old = self._shown[row.key]
            if old == row:
                continue
            for column in self.columns_shown:
                if old.texts.get(column) != row.texts.get(column) or (
                        column in ("verdict", "root") and (old.verdict, old.root) != (row.verdict, row.root)):
                    self.update_cell(row.key, column, self._cell(row, column))
            self._shown[row.key] = row
        if keys != self._order:
            self._reorder(keys)

    def _rebuild(self, rows: list[TableRow]) -> None:
        selected = self.selected_key
        self.clear()
        self._shown = {r.key: r for r in rows}
        self._order = [r.key for r in rows]
        for row in rows:
            self.add_row(*(self._cell(row, c) for c in self.columns_shown), key=row.key)
        self._follow(selected)

    def _reorder(self, keys: list[str]) -> None:
        selected = self.selected_key
        index = {key: i for i, key in enumerate(keys)}
        self.sort("pair", key=lambda cell: index[cell.plain])
        self._order = keys
        self._follow(selected)

    def _follow(self, key: str | None) -> None:
        """Keep the cursor on the pair it was on once the operator chose one; until then on the first row."""
        if not self.touched:
            self.move_cursor(row=0, animate=False)
        elif key is not None and key in self._shown:
            self.move_cursor(row=self.get_row_index(key), animate=False)

    @property
    def selected_key(self) -> str | None:
        """The pair under the cursor (None when the table is empty)."""
        if not self._order or not self.is_valid_row_index(self.cursor_row):
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    # --- cells ----------------------------------------------------------------------------

    def _colour(self, severity: Severity | None) -> Style:
        if severity is None:
            return Style(dim=True)
        colour = self.app.theme_variables.get(THEME_COLOURS[severity])
        return Style(color=colour, bold=severity is not Severity.OK) if colour else Style(bold=True)

    def _cell(self, row: TableRow, column: str) -> Text:
        text = row.texts.get(column, "")
        style = Style()
        if column == "verdict":
            style = self._colour(row.verdict)
        elif column == "pair":
            style = Style(bold=True)
        elif column == "root" and row.root is not None and row.root is not Severity.OK:
            style = self._colour(row.root) + Style(bold=False)
        elif column == "root" and row.verdict is Severity.UNKNOWN:
            style = self._colour(Severity.UNKNOWN) + Style(bold=False)
        if text in ("—", "") or (column == "root" and row.verdict is None):
            style = Style(dim=True)
        cell = Text(" " + text if column == "verdict" else text, style=style, no_wrap=True, end="")
        cell.truncate(self._widths.get(column, 20) + (1 if column == "verdict" else 0), overflow="ellipsis")
        return cell

    def _restyle(self) -> None:
        """A new theme: the same rows in the theme's colours."""
        self._rebuild([self._shown[k] for k in self._order])
