"""Console tests: fixed time zone and clock, scripted poller, and a plain-text view of the screen."""

from __future__ import annotations

import html
import os
import re
import time

import pytest
from rich.cells import cell_len

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


# Rich's SVG export (what Textual's public export_screenshot() returns) draws every run of
# text as <text x=… textLength=… clip-path="url(#…-line-N)">: x and textLength in pixels.
_SVG_TEXT = re.compile(r'<text [^>]*?x="([\d.]+)"[^>]*?textLength="([\d.]+)"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)"'
                       r"[^>]*>(.*?)</text>", re.S)


async def settled(app, pilot, timeout: float = 5.0) -> None:
    """Until the timing log's table shows every row (it redraws at most every 0.25 s), then a pause."""
    deadline = time.monotonic() + timeout
    while not app.timing_log.drawn and time.monotonic() < deadline:
        await pilot.pause(0.02)
    await pilot.pause()


def screen_text(app) -> str:
    """What is on the terminal right now, as plain text (for assertions): the screen (with any
    dialogs and toasts over it) through Textual's public screenshot, its text placed by cell."""
    lines: dict[int, list[tuple[float, str]]] = {}
    width = 0.0
    for x, length, line, raw in _SVG_TEXT.findall(app.export_screenshot()):
        text = html.unescape(raw).replace("\xa0", " ").replace("\n", "")
        width = width or float(length) / len(text)  # pixels per cell (the export's char width)
        lines.setdefault(int(line), []).append((float(x), text))
    out = []
    for number in range(app.size.height):
        row = ""
        for x, text in sorted(lines.get(number, [])):
            row += " " * max(0, round(x / width) - cell_len(row)) + text
        out.append(row.ljust(app.size.width))
    return "\n".join(out)


@pytest.fixture
def clock_t0() -> float:
    return T0
