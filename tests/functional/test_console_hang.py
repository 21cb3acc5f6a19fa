"""A hung node never makes the other look stale: the console polls each node on its own.

The demo's simulator stands behind in-process transports (tests/sim_pair.py); vm2,
the active node, hangs (accepts, never answers). vm12's data must stay as fresh as
one poll interval the whole time, and the header must say what is unknown.
"""

from __future__ import annotations

import asyncio

import pytest

from hatui.ui.app import HatuiApp
from tests.functional.conftest import screen_text
from tests.sim_pair import SimPair

INTERVAL = 0.2


@pytest.mark.asyncio
async def test_hung_active_node_leaves_the_standby_fresh() -> None:
    pair = SimPair()
    pair.advance(2)
    pair.config = pair.config.model_copy(update={"cluster": pair.config.cluster.model_copy(
        update={"command_timeout": 1.0, "connect_timeout": 1.0})})
    pair.poller.config = pair.config
    real = pair.poller.transports["vm2"].run

    async def hanging(command, *, timeout=None, input=None):
        if pair.sim.node("vm2").hung:  # accepted, never answered (the transport's timeout is the bound)
            await asyncio.sleep(3600)
        return await real(command, timeout=timeout, input=input)

    pair.poller.transports["vm2"].run = hanging
    app = HatuiApp(pair.config, poller=pair.poller, poll_interval=INTERVAL)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_for_poll(2)
        pair.fault("hang vm2")
        worst_age = 0.0
        loop = asyncio.get_running_loop()
        end = loop.time() + 4.5  # past the node's bound (connect + command timeout + 2 s slack)
        while loop.time() < end:
            await asyncio.sleep(0.1)
            snap = app.snapshot
            vm12 = snap.node("vm12")
            assert vm12.reachable
            worst_age = max(worst_age, app.clock() - vm12.polled_at)
            assert "vm12 ⌛ STALE" not in screen_text(app)
        await pilot.pause()
        text = screen_text(app)
    # fresh: never older than a poll interval plus one poll of the simulated node (generous for CI)
    assert worst_age <= INTERVAL + 0.5, worst_age
    assert app.snapshot.node("vm2").reachable is False
    assert "vm12 does not hold it; vm2 unknown" in text
    assert "vm2 ✖ UNREACHABLE" in text
    assert app.snapshot.findings[0].code == "node-hung"
