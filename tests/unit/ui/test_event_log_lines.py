"""The event log keeps a bounded number of lines, adds new ones at the bottom, and a filter shows its matches."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from hatui.present.events import StateEvent
from hatui.states import Severity
from hatui.ui import event_log
from hatui.ui.event_log import EventLines, EventLog


class Host(App):
    def compose(self) -> ComposeResult:
        yield EventLog()


def event(n: int) -> StateEvent:
    return StateEvent(1000.0 + n, "vm2", "drbd", "a", "b", Severity.OK, f"event {n}")


def texts(log: EventLog) -> list[str]:
    return [line.plain for line in log.query_one(EventLines).lines]


def numbers(log: EventLog) -> list[str]:
    """Which events the lines show (each line ends with its event's "(event N)")."""
    return [t.rsplit("(", 1)[-1].rstrip(")") for t in texts(log)]


@pytest.mark.asyncio
async def test_lines_follow_the_events_bounded_and_filtered(monkeypatch):
    monkeypatch.setattr(event_log, "MAX_EVENTS", 5)
    async with Host().run_test() as pilot:
        log = pilot.app.query_one(EventLog)
        log.events = log.events.__class__(maxlen=5)
        assert texts(log) == ["no state change yet"]
        for n in range(4):
            log.add([event(n)])
        log.add([event(4), event(5), event(6)])
        assert numbers(log) == [f"event {n}" for n in range(2, 7)], "the newest 5"
        log.filter_text = "event 6"
        log.render_events()
        assert numbers(log) == ["event 6"]
        log.add([event(60), event(7)])
        assert numbers(log) == ["event 6", "event 60"], "under a filter: its matches"
        log.filter_text = "nothing"
        log.render_events()
        assert texts(log) == ["no event matches 'nothing'"]
        await pilot.pause()
