"""The streams against the demo pair over real SSH: a change reaches the model before any poll would."""

from __future__ import annotations

import asyncio
import time

import pytest

from hatui.config import load_config
from hatui.snapshot.poller import ClusterPoller
from hatui.snapshot.streams import DRBD, JOURNAL
from hatui.states import ConnectionState, VrrpState

pytestmark = pytest.mark.asyncio


async def until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def connection(poller: ClusterPoller, node: str) -> object:
    res = poller.latest[node].resource("r0")
    return res.connections[0].connection if res is not None and res.connections else None


async def streaming_poller(demo) -> tuple[ClusterPoller, list[tuple[str, frozenset[str]]]]:
    poller = ClusterPoller(load_config(demo.config_path))
    await poller.poll()
    heard: list[tuple[str, frozenset[str]]] = []
    poller.start_streams().listeners.append(lambda node, kinds: heard.append((node, kinds)))
    await until(lambda: all(poller.streams.status(n)[DRBD] == "on" for n in poller.node_names))
    return poller, heard


async def test_a_drbd_change_is_in_the_model_without_a_poll(demo) -> None:
    poller, heard = await streaming_poller(demo)
    try:
        active = demo.sim.active_node()
        cycles = dict(poller.cycles)
        assert connection(poller, active) is ConnectionState.CONNECTED
        heard.clear()
        await demo.fault("cut-link")
        await until(lambda: connection(poller, active) not in (ConnectionState.CONNECTED, None))
        assert poller.cycles == cycles, "no poll ran: the stream brought it"
        assert any(node == active and DRBD in kinds for node, kinds in heard)
        assert poller.latest[active].drbd.source == "events2"
        assert poller.latest[active].streams[DRBD] == "on"
        # The next poll reconciles: it agrees with the stream, which keeps going.
        await poller.poll()
        assert connection(poller, active) not in (ConnectionState.CONNECTED, None)
        assert poller.streams.nodes[active].mismatches == 0
        assert poller.streams.nodes[active].drbd.runs == 1
    finally:
        await poller.close()


async def test_the_kit_journal_streams_and_the_poll_stops_reading_it(demo) -> None:
    poller, heard = await streaming_poller(demo)
    try:
        active = demo.sim.active_node()
        peer = demo.sim.peer_of(active).name
        assert "_h journal " in poller.script_for("ab", 1, peer), "an empty journal: the poll still reads it"
        before = len(poller.latest[peer].journal)
        cycles = dict(poller.cycles)
        await demo.fault("stop-keepalived", active)  # the kit on the peer takes over, step by step
        await until(lambda: any(e.step == "promote" for e in poller.latest[peer].journal[before:]))
        assert any(node == peer and JOURNAL in kinds for node, kinds in heard), "the stream brought the steps"
        assert poller.streams.status(peer)[JOURNAL] == "on"
        # A journal line means keepalived moved: the node is polled at once (no poll loop runs here).
        await until(lambda: poller.latest[peer].vrrp is not None and poller.latest[peer].vrrp.state is VrrpState.MASTER)
        assert poller.cycles[peer] > cycles[peer]
        assert any(node == peer and "poll" in kinds for node, kinds in heard)
        assert "_h journal " not in poller.script_for("ab", 1, peer), "the poll skips what the stream delivers"
        await poller.poll()
        steps = [e.step for e in poller.latest[peer].journal[before:]]
        assert len(steps) == len(set(steps)), f"each step once: {steps}"
    finally:
        await poller.close()


async def test_a_dropped_stream_reconnects_and_shows_what_changed_meanwhile(demo) -> None:
    poller, heard = await streaming_poller(demo)
    try:
        active = demo.sim.active_node()
        follower = poller.streams.nodes[active].drbd
        await demo.fault("drop", active)  # the node's connections are cut: the streams with them
        await until(lambda: follower.runs >= 2 and follower.status == "on", timeout=30)
        await demo.fault("cut-link")  # after the reconnect: the new stream reports it
        await until(lambda: connection(poller, active) not in (ConnectionState.CONNECTED, None))
        await demo.fault("heal-link")
        await until(lambda: connection(poller, active) is ConnectionState.CONNECTED, timeout=30)
        names = [c.peer for c in poller.latest[active].resource("r0").connections]
        assert len(names) == len(set(names)) == 1, "one connection: nothing doubled by the re-read dump"
    finally:
        await poller.close()
