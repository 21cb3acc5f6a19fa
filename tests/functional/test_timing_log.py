"""The timing log's table follows its rows in batches, so a burst of rows never holds up the screen."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from hatui.timelines.incident import Cue, Kind, Source
from hatui.timelines.trackers import TimingRow
from hatui.ui.timing_log import REDRAW_EVERY, TimingLog
from tests.functional import scenarios as sc
from tests.functional.conftest import make_app, settled


@pytest.mark.asyncio
async def test_a_burst_of_rows_is_drawn_in_a_few_batches_and_rows_are_always_current(monkeypatch) -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_for_poll(1)
        await settled(app, pilot)
        log = app.main.query_one(TimingLog)
        redraws = []
        real = log._redraw
        monkeypatch.setattr(log, "_redraw", lambda **kw: (redraws.append(kw), real(**kw)))
        t0 = sc.T0 + 100
        log.add_rows([TimingRow("active node unreachable", "vm2", t0, source=Source.OBSERVED, cue=Cue.OPENS,
                                kind=Kind.TAKEOVER, key="open")])
        for i in range(40):  # a takeover's burst: every step and every poll, within a fraction of a second
            log.add_rows([TimingRow(f"step {i}", "vm12", t0 + 0.01 * i, source=Source.JOURNAL, key=f"s{i}")])
            assert any(r.step == f"step {i}" for r in log.rows)  # the model side is current at once
        assert not log.drawn and redraws == []  # nothing drawn inside the burst itself
        await settled(app, pilot)
        assert log.drawn and 1 <= len(redraws) <= 3
        table = log.query_one(DataTable)
        assert table.row_count == len(log.rows)
        shown = [str(table.get_row_at(i)[4]) for i in range(table.row_count)]
        assert [r.step for r in log.rows] == shown and "step 39" in shown


@pytest.mark.asyncio
async def test_showing_the_pane_draws_what_waits_at_once() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=(80, 24)) as pilot:  # narrow: events and timing share a slot
        await app.wait_for_poll(1)
        await settled(app, pilot)
        log = app.main.query_one(TimingLog)
        log.add_rows([TimingRow("late row", "vm2", sc.T0 + 50, source=Source.OBSERVED, key="late")])
        log.add_rows([TimingRow("later row", "vm2", sc.T0 + 51, source=Source.OBSERVED, key="later")])
        app.main.show_panel("timing")  # no pause: the pane comes forward with every row
        table = log.query_one(DataTable)
        assert log.drawn and table.row_count == len(log.rows)
        assert REDRAW_EVERY <= 0.5  # the documented bound on how far the table may lag its rows
