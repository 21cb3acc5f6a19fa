"""hatui's streams against the lab's real sshd: events2 and the kit journal are followed, a cut link reaches the
model before any poll, and the poll that follows agrees (it reconciles, the stream keeps going)."""

from __future__ import annotations

import asyncio
import time

from hatui.config import load_config
from hatui.snapshot.poller import ClusterPoller
from hatui.snapshot.streams import DRBD, JOURNAL
from hatui.states import ConnectionState
from tests.lab.conftest import active, healthy


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def _connection(poller: ClusterPoller, node: str) -> object:
    res = poller.latest[node].resource("r0")
    return res.connections[0].connection if res is not None and res.connections else None


def test_a_cut_link_reaches_the_model_through_the_stream_before_any_poll(lab_pair):
    doc = lab_pair.wait_status(healthy, what="healthy before the cut")
    node = active(doc)
    assert node is not None

    async def run() -> None:
        poller = ClusterPoller(load_config(lab_pair.config))
        try:
            await poller.poll()
            poller.start_streams()
            await _until(lambda: all(poller.streams.status(n)[DRBD] == "on" for n in poller.node_names), 20,
                         "the DRBD stream on, on both nodes")
            # The active node's kit journal has its takeover at boot: its follower is on too.
            await _until(lambda: poller.streams.status(node)[JOURNAL] == "on", 20, "the journal stream on")
            assert _connection(poller, node) is ConnectionState.CONNECTED
            cycles = dict(poller.cycles)
            lab_pair.fault("cut-link")
            try:
                await _until(lambda: _connection(poller, node) not in (ConnectionState.CONNECTED, None), 10,
                             "the connection loss in the model")
                assert poller.cycles == cycles, "no poll ran: the stream brought it"
                assert poller.latest[node].drbd.source == "events2"
                await poller.poll()  # the reconcile agrees with the stream
                assert _connection(poller, node) not in (ConnectionState.CONNECTED, None)
                assert poller.streams.status(node)[DRBD] == "on"
            finally:
                lab_pair.fault("heal-link")
            await _until(lambda: _connection(poller, node) is ConnectionState.CONNECTED, 30, "the link back")
        finally:
            await poller.close()

    asyncio.run(run())
    lab_pair.wait_status(healthy, timeout=60, what="healthy after the link is back")
