"""The fleet overview: one row per pair, sortable, filterable, `enter` into a pair's screen.

Layout, top to bottom: a header (how many pairs per verdict, the sort, the filter), the
table (:class:`~hatui.ui.fleet_table.FleetTable`), the selected pair's root finding whole
with its next step, the filter box (`/`, hidden until used) and the footer.

The screen gets rows from the app (:meth:`FleetScreen.set_row`, from
:mod:`hatui.ui.fleet_poll`) and redraws at most every :data:`FLUSH_EVERY` seconds, however
many pairs answered meanwhile; a clock tick moves the failover ages on. What the rows say,
their order and what a filter matches come from :mod:`hatui.ui.fleet_rows`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from hatui.present.layers import GLYPH
from hatui.states import Severity
from hatui.ui import cells
from hatui.ui.fleet_rows import FleetRow, SortMode, counts, matches, ordered, row_texts
from hatui.ui.fleet_table import WIDE_FROM, FleetTable, TableRow
from hatui.ui.help_screen import HelpScreen

FLUSH_EVERY = 0.25  # seconds: polls that land meanwhile are drawn together
NAVIGATION_KEYS = {"up", "down", "j", "k", "pageup", "pagedown", "home", "end"}
PAIR_ONLY = {"failover", "failback", "resync", "zoom", "copy", "findings", "events", "timing"}


class FleetHeader(Static):
    """Two lines: the fleet at a glance (pairs per verdict), then the sort and the filter."""

    _shown: tuple | None = None

    def show(self, rows: list[FleetRow], shown: int, sort: SortMode, needle: str, keys: dict[str, str],
             read_only: bool) -> None:
        tally = counts(rows)
        key = (tuple(sorted(tally.items(), key=lambda kv: str(kv[0]))), len(rows), shown, sort, needle, read_only)
        if key == self._shown:  # an update lays the screen out again: only when the words change
            return
        self._shown = key
        top: list[tuple[str, str] | str | Content] = [(" hatui fleet ", "bold"), f"  {len(rows)} pairs  "]
        for sev in (Severity.CRITICAL, Severity.UNKNOWN, Severity.WARNING, Severity.OK):
            if tally.get(sev):
                top += ["  ", (f"{GLYPH[sev]} {tally[sev]} {sev.value}", cells.STYLE[sev])]
        if tally.get(None):
            top += ["  ", (f"… {tally[None]} polling", cells.MUTED)]
        if read_only:
            top.append(("  READ-ONLY ", "bold reverse $warning"))
        sort_text = f"sorted: {sort.value} (s)"
        if needle:
            second = Content.assemble(" ", (f"filter {needle!r}: {shown} of {len(rows)} pairs", "bold $accent"),
                                      (f" ({keys.get('filter', '/')} edits, esc clears) · {sort_text}", cells.MUTED))
        else:
            second = Content.styled(f" {sort_text} · {keys.get('filter', '/')} filter · ⏎ opens a pair (esc returns here)",
                                    cells.MUTED)
        self.update(Content("\n").join([Content.assemble(*top), second]))


class PairDetail(Static):
    """The selected pair's root finding (or error) in full, and its next step."""

    _shown: tuple | None = None

    def show(self, row: FleetRow | None, needle: str) -> None:
        if (row, needle) == self._shown:  # an update lays the screen out again: only when the words change
            return
        self._shown = (row, needle)
        if row is None:
            text = f"no pair matches {needle!r} (esc clears the filter)" if needle else "no pairs"
            self.update(Content.styled(text, cells.MUTED))
            return
        verdict = cells.severity(row.verdict) if row.verdict is not None else Content.styled("… polling", cells.MUTED)
        texts = row_texts(row, 0.0)
        lines = [Content.assemble((row.name, "bold"), " ", verdict, "  ", texts["root"])]
        if row.hint:
            lines.append(Content.styled(f"→ {row.hint.strip()}", cells.MUTED))
        self.update(Content("\n").join(lines))


class FleetHelpScreen(HelpScreen):
    """`?` on the overview: its keys (a pair's screen has its own `?`)."""

    NAVIGATION = (
        ("↑ ↓  j k", "choose a pair (PgUp/PgDn, Home/End)"),
        ("enter", "open its screen: every pair key works there"),
        ("esc", "on a pair's screen: back here; here: clear the filter"),
        ("ctrl+p", "command palette"),
    )

    def _content(self) -> Content:
        width = max(len(k) for k, _ in (*self.NAVIGATION, *self.commands)) + 2
        lines = [Content.styled("Fleet overview: keys", "bold underline")]
        lines += self._command_lines()
        lines += [Content(""), Content.styled("Navigation", "bold underline")]
        lines += [Content.assemble((key.ljust(width), "bold $accent"), text) for key, text in self.NAVIGATION]
        lines += [Content(""), Content.styled("Columns: verdict, pair, active node, VIP holder, replication,\n"
                                              "sync % + ETA, last failover, root finding", "$text-muted")]
        lines += [Content.styled("States: ✔ OK ▲ WARNING ✖ CRITICAL ? UNKNOWN · … polling", "$text-muted")]
        return Content("\n").join(lines)


class FleetScreen(Screen):
    """Every pair at a glance."""

    AUTO_FOCUS = "FleetTable"
    BINDINGS = [
        Binding("enter", "open", "Open pair", key_display="⏎", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("j", "cursor(1)", show=False),
        Binding("k", "cursor(-1)", show=False),
    ]

    class Open(Message):
        """The operator chose a pair (enter)."""

        def __init__(self, pair: str) -> None:
            super().__init__()
            self.pair = pair

    def __init__(self, rows: list[FleetRow], *, read_only: bool, keys: dict[str, str]) -> None:
        super().__init__()
        self.rows = {r.name: r for r in rows}
        self.read_only = read_only
        self.keys = keys
        self.sort = SortMode.WORST
        self.needle = ""
        self._flush_timer = None

    def compose(self) -> ComposeResult:
        yield FleetHeader(id="fleet-header")
        yield FleetTable(id="fleet-table")
        yield Input(placeholder="filter pairs by name or any text (enter keeps it, esc clears)", id="fleet-filter")
        yield PairDetail(id="fleet-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#fleet-filter", Input).display = False
        table = self.query_one(FleetTable)
        table.set_names(list(self.rows))
        table.fit(self.size.width or WIDE_FROM)
        self.flush()

    def on_resize(self) -> None:
        self.query_one(FleetTable).fit(self.size.width)
        self.query_one(Footer).show_command_palette = self.size.width >= 100

    # --- data ------------------------------------------------------------------------------

    def set_row(self, row: FleetRow) -> None:
        """A pair's row changed; drawn with the others at the next flush."""
        self.rows[row.name] = row
        if self._flush_timer is None and self.is_attached:
            self._flush_timer = self.set_timer(FLUSH_EVERY, self.flush)

    def shown_rows(self) -> list[FleetRow]:
        """The rows the table shows, in its order (sorted, filtered)."""
        now = self.app.clock()
        return [r for r in ordered(list(self.rows.values()), self.sort) if matches(r, self.needle, now)]

    def flush(self) -> None:
        """Draw every row as it is now (also the clock tick: failover ages move on)."""
        self._flush_timer = None
        if not self.is_attached or self.app.screen is not self:  # a pair's screen (or a dialog) is on top
            return
        table = self.query_one(FleetTable)
        now = self.app.clock()
        shown = self.shown_rows()
        narrow = not table.wide
        table.show([TableRow(r.name, row_texts(r, now, narrow=narrow), r.verdict,
                             r.summary.root.severity if r.summary and r.summary.root and not r.error else None)
                    for r in shown])
        self.query_one(FleetHeader).show(list(self.rows.values()), len(shown), self.sort, self.needle, self.keys,
                                         self.read_only)
        self._show_detail()

    def on_screen_resume(self) -> None:
        self.flush()

    def _show_detail(self) -> None:
        key = self.query_one(FleetTable).selected_key
        self.query_one(PairDetail).show(self.rows.get(key) if key else None, self.needle)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @property
    def selected_pair(self) -> str | None:
        return self.query_one(FleetTable).selected_key

    # --- keys -------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.query_one(FleetTable).touched = True
        self.action_open()

    def action_open(self) -> None:
        pair = self.selected_pair
        if pair is None:
            self.notify("no pair to open: the filter hides them all (esc clears it)", title="open", timeout=3)
            return
        self.post_message(self.Open(pair))

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(FleetTable)
        (table.action_cursor_down if delta > 0 else table.action_cursor_up)()

    def action_cycle_sort(self) -> None:
        self.sort = self.sort.next()
        self.flush()
        self.notify(f"sorted by {self.sort.value}", title="sort", timeout=2)

    def open_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.display = True
        box.value = self.needle
        box.focus()
        self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self.flush()
        self.refresh_bindings()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = bool(self.needle)
        self.query_one(FleetTable).focus()
        self.refresh_bindings()

    @property
    def filtering(self) -> bool:
        """A filter is set or its box is open (esc has something to clear)."""
        return bool(self.needle) or self.query_one("#fleet-filter", Input).display

    def escape(self) -> None:
        """esc on the overview: clear the filter (and close its box)."""
        box = self.query_one("#fleet-filter", Input)
        if not self.needle and not box.display:
            self.query_one(FleetTable).focus()
            return
        box.value = ""
        box.display = False
        self.needle = ""
        self.flush()
        self.query_one(FleetTable).focus()
        self.refresh_bindings()

    def on_key(self, event) -> None:
        """Every key answers: a pair's command says to open a pair first; an unbound key says `?`."""
        if event.key in NAVIGATION_KEYS:
            self.query_one(FleetTable).touched = True
            return
        if event.key == "enter" and isinstance(self.focused, FleetTable) and self.selected_pair is None:
            self.action_open()  # an empty table selects nothing: still say why
            return
        char = event.character
        if not char or not char.isprintable() or char == " " or event.key in self.active_bindings:
            return
        for command in PAIR_ONLY:
            if self.keys.get(command) == char:
                self.notify(f"{char} works on one pair: choose it and press enter (esc comes back here)",
                            title=command, timeout=3)
                return
        self.notify(f"{char!r} is not a key here: {self.keys.get('help', '?')} lists every key", timeout=3)
