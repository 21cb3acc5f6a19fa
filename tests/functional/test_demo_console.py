"""The console against the real demo pair (in-process asyncssh servers on 127.0.0.1, fast sim time).

A fault injected in the simulator must be on screen after the first poll that
starts after it: poll number ``n + 2`` when ``n`` polls had finished at injection
(poll ``n + 1`` may already have been under way).
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from hatui.config import load_config
from hatui.demo.server import DemoPair
from hatui.ui.app import HatuiApp
from tests.functional.conftest import screen_text

POLL = 0.3
SIZE = (100, 30)


@pytest_asyncio.fixture
async def pair(tmp_path):
    demo = await DemoPair.start(None, state_dir=tmp_path, time_scale=10)
    try:
        yield demo
    finally:
        await demo.stop()


async def until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def running_console(pair: DemoPair, pilot, app: HatuiApp) -> str:
    await until(lambda: app.snapshot is not None and len(app.snapshot.active_nodes) == 1)
    await pilot.pause()
    return app.snapshot.active_nodes[0]


async def after_fault(pair: DemoPair, app: HatuiApp, pilot, *fault) -> str:
    seen = app.poll_count
    await pair.fault(*fault)
    await app.wait_for_poll(seen + 2)
    await pilot.pause()
    return screen_text(app)


@pytest.mark.asyncio
async def test_crash_in_simulator_is_on_screen_within_one_poll(pair: DemoPair) -> None:
    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL)
    async with app.run_test(size=SIZE) as pilot:
        active = await running_console(pair, pilot, app)
        assert f"{active} ★ ACTIVE" in screen_text(app)
        text = await after_fault(pair, app, pilot, "crash", active)
        assert f"{active} ✖ UNREACHABLE" in text
        # keepalived on the survivor takes over by itself; the timing log shows the move.
        survivor = pair.sim.peer_of(active).name
        await until(lambda: app.snapshot.vip_holders == (survivor,))
        await pilot.press("l")
        await pilot.pause()
        text = screen_text(app)
        assert f"VIP → {survivor}" in text and "active node unreachable" in text


@pytest.mark.asyncio
async def test_service_stop_and_link_cut_show_within_one_poll(pair: DemoPair) -> None:
    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL)
    async with app.run_test(size=SIZE) as pilot:
        active = await running_console(pair, pilot, app)
        text = await after_fault(pair, app, pilot, "cut-link")
        assert "Replication r0" in text and "Connected  Established" not in text
        text = await after_fault(pair, app, pilot, "stop-service", active, pair.sim.nfs_unit)
        assert "NFS server is down on active node" in text or "✖ inactive" in text or "✖ failed" in text
