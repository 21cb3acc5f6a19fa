"""The timing log touches only its table's rows from the first one that changed: the rows before stay."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from hatui.timelines.incident import Source
from hatui.timelines.trackers import TimingRow
from hatui.ui.timing_log import TimingLog


class Host(App):
    def compose(self) -> ComposeResult:
        yield TimingLog()


async def drawn(pilot, log: TimingLog) -> None:
    """Until the table caught up with the rows (it redraws after a refresh, at most every 0.25 s)."""
    for _ in range(100):
        if log.drawn:
            return
        await pilot.pause(0.02)
    raise AssertionError("the timing log's table never caught up")


def shown(log: TimingLog) -> list[str]:
    table = log.query_one(DataTable)
    return [str(table.get_row_at(i)[4]) for i in range(table.row_count)]


@pytest.mark.asyncio
async def test_new_rows_are_appended_and_a_replaced_row_redraws_from_there():
    async with Host().run_test() as pilot:
        log = pilot.app.query_one(TimingLog)
        log.add_rows([TimingRow("demote", "vm2", 100.0, source=Source.JOURNAL, key="a")])
        await drawn(pilot, log)
        table = log.query_one(DataTable)
        first_keys = list(table.rows)
        before = shown(log)
        log.add_rows([TimingRow("promote", "vm12", 101.0, source=Source.JOURNAL, key="b")])
        await drawn(pilot, log)
        assert list(table.rows)[:len(first_keys)] == first_keys, "the rows already shown are kept"
        assert shown(log)[:len(before)] == before and "promote" in shown(log)
        assert shown(log) == [str(r.step) for r in log.rows]

        log.put("b", TimingRow("promote (done)", "vm12", 101.0, source=Source.JOURNAL))
        await drawn(pilot, log)
        assert "promote (done)" in shown(log) and "promote" not in shown(log)
        assert shown(log) == [str(r.step) for r in log.rows], "the table shows the stories, in order"
        assert list(table.rows)[:len(first_keys)] == first_keys, "the rows before the replaced one stay"

        log.set_wrap(not log.wrap_notes)  # how every row is drawn changed: all of them again
        assert shown(log) == [str(r.step) for r in log.rows]
        assert not set(first_keys) & set(table.rows)
