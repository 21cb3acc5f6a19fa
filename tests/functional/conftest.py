"""Console tests: fixed time zone and clock, scripted poller, and a plain-text view of the screen."""

from __future__ import annotations

import os
import time

import pytest

from hatui.ui.app import HatuiApp
from tests import builders as b
from tests.functional.scenarios import T0, ScriptedPoller

# Time stamps in the event/timing logs are local time: pin it so snapshots are the same everywhere.
os.environ["TZ"] = "UTC"
time.tzset()


class NotedApp(HatuiApp):
    """The console, keeping every notification it showed (what an operator read), in order."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def notify(self, message: str, *, title: str = "", **kwargs) -> None:
        self.notes.append(f"{title}: {message}" if title else message)
        super().notify(message, title=title, **kwargs)

    def notes_text(self) -> str:
        return "\n".join(self.notes)


def make_app(*snapshots, clock_at: float | None = None, read_only: bool = False, app_class=HatuiApp,
             theme: str | None = None, poller=None, config=None, **kwargs) -> HatuiApp:
    """A console on scripted snapshots; it polls only when asked (`r` / refresh).

    Its clock runs 1 s behind the snapshot last polled (or sits at ``clock_at``), so ages are fixed.
    ``poller`` replaces the scripted one (it still gets ``snapshots``' clock), ``config`` the builders'
    config; other keywords go to the app (``ascii=True`` …).
    """
    poller = poller if poller is not None else ScriptedPoller(*snapshots)

    def clock() -> float:
        if clock_at is not None:
            return clock_at
        return (poller.last or snapshots[0]).taken_at + 1

    return app_class(config or b.config(), poller=poller, clock=clock, poll_interval=3600, read_only=read_only,
                     theme=theme, **kwargs)


def screen_text(app) -> str:
    """What is on the terminal right now, as plain text (for assertions)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


@pytest.fixture
def clock_t0() -> float:
    return T0
