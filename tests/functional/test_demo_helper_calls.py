"""DRBD helper calls from the demo's events2 stream, on the console's screen: the event log and the timing log.

Cutting the replication link makes the demo's Primary (fencing resource-and-stonith) run its fence-peer
handler, which outdates the peer over the public network: DRBD prints ``call helper`` and then
``response helper … status:1024`` (exit 4) on the stream.
"""

from __future__ import annotations

import pytest

from hatui.config import load_config
from hatui.ui.app import HatuiApp
from hatui.ui.event_log import EventLog
from tests.functional.test_demo_console import pair, running_console, until  # noqa: F401 - pair is a fixture


@pytest.mark.asyncio
async def test_a_fence_peer_run_is_in_the_event_log_and_the_story_once(pair) -> None:  # noqa: F811
    app = HatuiApp(load_config(pair.config_path), poll_interval=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        active = await running_console(pair, pilot, app)
        await pair.fault("cut-link")
        log = app.main.query_one(EventLog)

        def said() -> list[str]:
            return [e.text for e in log.events if "handler" in e.text]

        await until(lambda: len(said()) >= 2)
        await app.wait_for_poll(app.poll_count + 3)  # polls (reconciles) re-read the state: nothing repeats
        await pilot.pause()
        assert said() == [f"fence-peer handler started on {active} for r0",
                          f"fence-peer handler ran on {active} for r0, exit 4 (peer outdated)"]
        rows = [r for r in app.timing_log.rows if "handler" in r.step]
        assert [r.step for r in rows] == [f"fence-peer handler ran on {active} for r0, exit 4 (peer outdated)"]
        assert rows[0].t_plus is not None, "the row is in the link loss's incident"
