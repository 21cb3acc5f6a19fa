"""The fleet overview over the real pipeline: one ClusterPoller per pair, each node on its own.

Three simulated pairs (the demo's simulator behind in-process transports, tests/sim_pair.py):
hatui's real poller parses, derives facts and diagnoses each. One pair's active node hangs
(accepts, never answers): only that pair waits out its own bound; the others stay fresh.
Entering a pair hands it to the pair screen's per-node loops; esc gives it back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hatui.fleet import Fleet, PairEntry
from hatui.snapshot.poller import ClusterPoller
from hatui.ui.main_screen import MainScreen
from tests.functional.test_fleet_console import NotedFleetApp, rows, until
from tests.sim_pair import SimPair, SimTransport

INTERVAL = 0.3
NAMES = ("sim-1", "sim-2", "sim-3")


def sim_fleet() -> tuple[Fleet, dict[str, SimPair]]:
    sims, entries = {}, []
    for name in NAMES:
        sim = SimPair()
        sim.advance(2)
        cluster = sim.config.cluster.model_copy(update={"name": name, "connect_timeout": 0.5,
                                                          "command_timeout": 0.5, "poll_interval": INTERVAL})
        sim.config = sim.config.model_copy(update={"cluster": cluster})
        sims[name] = sim
        entries.append(PairEntry(name, Path(f"/fleet/{name}.toml"), sim.config))
    return Fleet(Path("/fleet"), tuple(entries)), sims


def hanging(sim: SimPair, transport: SimTransport):
    """The node accepts and never answers while the simulator says it hangs (the transport's timeout is the bound)."""
    real = transport.run

    async def run(command, *, timeout=None, input=None):
        if sim.sim.node(transport.name).hung:
            await asyncio.sleep(3600)
        return await real(command, timeout=timeout, input=input)

    return run


def make_app(fleet: Fleet, sims: dict[str, SimPair]) -> NotedFleetApp:
    def poller(entry: PairEntry) -> ClusterPoller:
        sim = sims[entry.name]
        transports = {n: SimTransport(sim.sim, n) for n in sim.sim.names}
        for transport in transports.values():
            transport.run = hanging(sim, transport)
        return ClusterPoller(entry.config, transports)

    return NotedFleetApp(fleet, make_poller=poller)


def row(app, name: str) -> list[str]:
    return next(r for r in rows(app) if r[1] == name)


@pytest.mark.asyncio
async def test_a_hung_node_costs_only_its_own_pair() -> None:
    fleet, sims = sim_fleet()
    app = make_app(fleet, sims)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(lambda: all(row(app, n)[0] == "✔ OK" for n in NAMES))
        sims["sim-2"].fault("hang vm2")
        loop = asyncio.get_running_loop()
        end = loop.time() + 4.5  # past sim-2's node bound: connect 0.5 + command 0.5 + 2 s
        worst = 0.0
        while loop.time() < end:
            await asyncio.sleep(0.1)
            for name in ("sim-1", "sim-3"):
                snap = app.polling.watches[name].snapshot
                worst = max(worst, app.clock() - min(n.polled_at for n in snap.nodes))
        await pilot.pause(0.3)
        assert worst <= INTERVAL + 0.7, worst  # the others: never older than an interval plus a poll
        hung = row(app, "sim-2")
        assert hung[0] in ("✖ CRITICAL", "? UNKNOWN") and hung[-1].startswith("node-hung vm2"), hung
        assert row(app, "sim-1")[0] == "✔ OK" and row(app, "sim-3")[0] == "✔ OK"


@pytest.mark.asyncio
async def test_the_pair_screen_polls_its_pair_and_esc_hands_it_back() -> None:
    fleet, sims = sim_fleet()
    app = make_app(fleet, sims)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: all(row(app, n)[0] == "✔ OK" for n in NAMES))
        await pilot.press("down", "down", "enter")  # sim-3 (all OK: sorted by name)
        await until(lambda: isinstance(app.screen, MainScreen) and app.snapshot is not None)
        assert app.pair == "sim-3" and app.polling.watches["sim-3"].held
        watch = app.polling.watches["sim-3"]
        fleet_polls = watch.polls
        seen = app.poll_count
        await app.wait_for_poll(seen + 4)  # the pair screen's own loops, each node on its own
        assert watch.polls == fleet_polls  # the overview's loop stands aside meanwhile
        sims["sim-3"].fault("crash vm2")
        await until(lambda: not app.snapshot.node("vm2").reachable)
        # the row follows what the pair screen sees
        await pilot.press("escape")
        await until(lambda: app.pair is None and not watch.held)
        await until(lambda: watch.polls > fleet_polls)  # its overview loop polls it again
        await pilot.pause(0.3)
        assert row(app, "sim-3")[0] == "✖ CRITICAL" and row(app, "sim-3")[-1].startswith("connection-refused")
        assert rows(app)[0][1] == "sim-3"  # worst first
