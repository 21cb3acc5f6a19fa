"""The timing log: one story per incident, with T+ from its T+0, budget and over/under.

Three sources push rows here: the console's observations (the verdict, the
active role moving), the node kit's journal, and the console's own actions,
live from the runner's events. The pane only keeps them and renders what
:func:`hatui.timelines.incident.build_incidents` makes of them (one T+0 per incident,
chronological, duplicates folded), so the pane and ``hatui timeline --auto``
tell the same story. An action's step is put under a key when it starts and
replaced when it ends (:meth:`TimingLog.put`); :meth:`begin` marks an action's
start (T+0 of its incident, or a retry within it), and an un-keyed action row
(the runner's result) its end. The status line above the table says what is
running now.
"""

from __future__ import annotations

import dataclasses
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from hatui.timelines.incident import Cue, Kind, Source, budget_text, build_incidents, story_rows
from hatui.ui import cells
from hatui.timelines.trackers import TimingRow

# Budget before the (long) step text: over/under must be visible in a narrow pane.
COLUMNS = ("time", "T+", "budget", "node", "step", "note")
NOTE_WIDTH = 40  # a longer note wraps inside its row, so the pane's width stays what its columns need
MAX_ENTRIES = 2000
# The table follows its entries after the screen's next refresh and at most this often: rebuilding the
# stories of a long incident costs tens of milliseconds, and during a takeover rows come in bursts
# (every kit step, every poll) while the node stacks, which must show each change at once, wait on
# the same event loop. ``rows`` is always current; only the table lags, by at most this much.
REDRAW_EVERY = 0.25


def _budget(row: TimingRow, theme) -> Text:
    # DataTable sizes Rich text by its full width, so cells are Rich Text in the theme's colours.
    text = budget_text(row.budget)
    if not text or row.over is None:
        return Text(text)
    if row.over:
        return Text.assemble(f"{text} ", ("▲ over", f"bold {theme.warning}"))
    return Text.assemble(f"{text} ", ("✔ under", theme.success))


class TimingLog(Vertical):
    """A table of incident stories, newest at the bottom, with a one-line status of a running action."""

    ALLOW_MAXIMIZE = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Timing"
        self.entries: list[TimingRow] = []
        self._shown: list[TimingRow] = []  # what the table shows: headers and story rows, in order
        self._row_keys: list = []  # the table's key of each of those rows
        self._stories: list[TimingRow] | None = None  # the story rows of ``entries`` (None: not made yet)
        self._pending = False  # a redraw of the table is scheduled
        self._drawn_at = -REDRAW_EVERY  # monotonic time of the last redraw
        self.wrap_notes = True  # off when the pane is too narrow to show the note column anyway
        self.opened: float | None = None  # rows before this are the past (add_past): dimmed

    def compose(self) -> ComposeResult:
        status = Static("", id="timing-status")
        status.display = False
        yield status
        table = DataTable(id="timing-table", cursor_type="none", zebra_stripes=False, show_cursor=False)
        for name in COLUMNS:
            table.add_column(name, key=name, width=NOTE_WIDTH if name == "note" else None)
        yield table

    def begin(self, title: str, at: float) -> None:
        """An action starts (T+0 of a new incident) or is retried / rolled back within its incident."""
        self.add_rows([TimingRow(f"▶ {title}", None, at, source=Source.ACTION, cue=Cue.ACTION_START,
                                 kind=Kind.ACTION, key=f"begin:{at}")])

    def add_past(self, rows: list[TimingRow], opened: float) -> None:
        """Rows from the history, from before the console opened (shown dimmed, dated when not that day).
        The live sources' rows with the same identity replace them (the journal replays its lines)."""
        self.opened = opened
        self.entries[:0] = rows
        self._invalidate()
        self._redraw(full=True)

    def _cells(self, row: TimingRow) -> tuple[object, ...]:
        t_plus = f"{row.t_plus:.1f} s" if row.t_plus is not None else ""
        if self.opened is not None and row.start < self.opened:
            return tuple(Text(str(c), style="dim") for c in (
                cells.past_text(row.start, self.opened), t_plus, _budget(row, self.app.current_theme).plain,
                row.node or "", row.step, row.note))
        return (cells.clock_text(row.start), t_plus, _budget(row, self.app.current_theme), row.node or "", row.step,
                Text(row.note, style="dim"))

    def add_rows(self, rows: list[TimingRow]) -> None:
        """Add rows from any source; an un-keyed row of an action (its result) ends that action."""
        if not rows:
            return
        for row in rows:
            if row.source is Source.ACTION and row.cue is Cue.NONE and not row.key:
                row = dataclasses.replace(row, cue=Cue.ACTION_END, key=f"end:{row.start}")
            self.entries.append(row)
        self._changed()

    @property
    def rows(self) -> list[TimingRow]:
        """The story rows of every entry, headers included, in order (the table shows them soon after)."""
        if self._stories is None:
            self._stories = story_rows(*build_incidents(self.entries))
        return self._stories

    def _changed(self) -> None:
        """The entries changed: redraw the table after the next screen refresh, at most every REDRAW_EVERY."""
        self._invalidate()
        if self._pending:
            return
        self._pending = True
        wait = self._drawn_at + REDRAW_EVERY - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._flush)
        else:
            self.call_after_refresh(self._flush)

    def _invalidate(self) -> None:
        """The entries changed: keep the newest MAX_ENTRIES, and make the stories again when next asked."""
        if len(self.entries) > MAX_ENTRIES:
            del self.entries[:-MAX_ENTRIES]
        self._stories = None

    def _flush(self) -> None:
        if self._pending and self.is_mounted:
            self._redraw()

    def put(self, key: str, row: TimingRow) -> None:
        """Add the row under ``key``, or replace the row already there (a step that ended)."""
        row = dataclasses.replace(row, key=key)
        same = next((i for i in range(len(self.entries) - 1, -1, -1)
                     if self.entries[i].key == key and self.entries[i].source is row.source), None)
        if same is None:
            self.entries.append(row)
        else:
            self.entries[same] = row
        self._changed()

    def _redraw(self, *, full: bool = False) -> None:
        """Show the stories of every entry, touching only the table's rows from the first one that
        changed: a new step appends, a step that ended or an incident that closed (its header) redraws
        that incident's rows. A row then costs about the same in a long table as in a short one
        (DataTable measures the rows added, a rebuild measures all of them, up to :data:`MAX_ENTRIES`).
        ``full`` rebuilds the table (the past or the wrap changed how every row is drawn)."""
        self._pending, self._drawn_at = False, time.monotonic()
        rows = self.rows
        table = self.query_one(DataTable)
        same = 0
        if not full:
            limit = min(len(rows), len(self._shown))
            while same < limit and rows[same] == self._shown[same]:
                same += 1
        if same == 0 and self._row_keys:
            table.clear()
            self._row_keys = []
        for key in self._row_keys[same:]:
            table.remove_row(key)
        del self._row_keys[same:]
        for row in rows[same:]:
            wrap = self.wrap_notes and len(row.note) > NOTE_WIDTH
            self._row_keys.append(table.add_row(*self._cells(row), height=None if wrap else 1))
        self._shown = rows
        self.follow()

    @property
    def drawn(self) -> bool:
        """The table shows every row (no redraw is waiting)."""
        return not self._pending

    def follow(self) -> None:
        """Scroll to the newest row (once the table has its size); a redraw that waits is done first."""
        if self._pending and self.is_mounted:
            self._redraw()
        self.call_after_refresh(self.query_one(DataTable).scroll_end, animate=False)

    def set_wrap(self, wrap: bool) -> None:
        """Wrap long notes inside their row (when the pane is wide enough to show the note column)."""
        if wrap != self.wrap_notes:
            self.wrap_notes = wrap
            self._redraw(full=True)

    def set_status(self, text: str | None) -> None:
        """The running action's one-line status (None hides it)."""
        status = self.query_one("#timing-status", Static)
        status.display = text is not None
        status.update(Text(text or ""))
