"""SVG snapshots of the fleet overview (pytest-textual-snapshot): update with --snapshot-update after looking.

Seven pairs at a fixed clock: a crashed node, a split brain, a broken pair file, a resync, two
healthy pairs (one that failed over between its two polls, one whose journal has a takeover of
ten minutes ago) — worst first, the cursor on the worst, its root finding whole under the table.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.functional.test_fleet_console import make_fleet_app, polled

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
