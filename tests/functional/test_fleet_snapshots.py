"""SVG snapshots of the fleet overview (pytest-textual-snapshot): update with --snapshot-update after looking.

Seven pairs at a fixed clock: a crashed node, a split brain, a broken pair file, a resync, two
healthy pairs (one that failed over between its two polls, one whose journal has a takeover of
ten minutes ago) — worst first, the cursor on the worst, its root finding whole under the table.
"""

from __future__ import annotations

import html
import re

import pytest
from textual.widgets import Input

from tests.functional.test_fleet_console import make_fleet_app, polled
from tests import REPO

README = REPO / "README.md"

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


async def _all_polled_twice(pilot) -> None:
    app = pilot.app
    await polled(app, pilot)
    app.polling.wake_all()  # every pair's second poll (nfs-e: vm2 → vm12), without a notification
    await polled(app, pilot, 2)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_fleet_overview(snap_compare, size: str) -> None:
    assert snap_compare(make_fleet_app(), terminal_size=SIZES[size], run_before=_all_polled_twice)


async def _filtered(pilot) -> None:
    await _all_polled_twice(pilot)
    pilot.app.overview.query_one("#fleet-filter", Input).cursor_blink = False  # the same picture every run
    await pilot.press("slash", *"crit")
    await pilot.pause(0.3)


def test_fleet_overview_filtered(snap_compare) -> None:
    """`/` open with 'crit' typed: two of seven pairs, the box at the bottom, the header says so."""
    assert snap_compare(make_fleet_app(), terminal_size=SIZES["80x24"], run_before=_filtered)


def svg_text(svg: str) -> str:
    """The characters of an SVG screenshot (App.export_screenshot), row by row, each at its column."""
    cells = re.findall(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>(.*?)</text>',
                       svg, re.S)
    texts = [html.unescape(re.sub(r"<[^>]+>", "", t)).replace("\xa0", " ") for *_, t in cells]
    width = next(float(length) / len(t) for (_, _, length, _), t in zip(cells, texts) if t)  # one cell in px
    rows: dict[float, dict[int, str]] = {}
    for (x, y, _, _), text in zip(cells, texts):
        row = rows.setdefault(float(y), {})
        for i, char in enumerate(text):
            row[round(float(x) / width) + i] = char
    return "\n".join("".join(r.get(c, " ") for c in range(max(r, default=-1) + 1)).rstrip()
                     for _, r in sorted(rows.items()))


def readme_capture() -> str:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("<!-- fleet capture: overview 80x24 "):].split("```text\n", 1)[1]
    return block.split("\n```", 1)[0]


@pytest.mark.asyncio
async def test_the_readme_capture_is_the_overview() -> None:
    """README's console section shows the overview at 80x24: the same scene as the snapshot, as text."""
    app = make_fleet_app()
    async with app.run_test(size=SIZES["80x24"]) as pilot:
        await _all_polled_twice(pilot)
        shown = svg_text(app.export_screenshot())
    assert shown == "\n".join(line.rstrip() for line in readme_capture().splitlines())
