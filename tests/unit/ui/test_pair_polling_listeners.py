"""A stopped pair polling leaves the streams: the fleet console makes one per visit of a pair's screen."""

from __future__ import annotations

import pytest

from hatui.snapshot.poller import ClusterPoller
from hatui.snapshot.streams import ClusterStreams
from hatui.ui.pair_polling import PairPolling
from tests.builders import config


class Silent:
    connection_serial = 0

    async def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_stop_removes_the_stream_listener_and_the_next_visit_adds_its_own():
    cfg = config()
    poller = ClusterPoller(cfg, transports={name: Silent() for name in cfg.node_names})
    poller.streams = ClusterStreams(poller)  # not started: only its listeners matter here
    visits = []
    for _ in ("first", "second"):
        polling = PairPolling(poller, interval=1, timeout=1, on_snapshot=lambda snap: None,
                              on_failed=lambda message, new: None)
        for _, loop in polling.loops():
            loop.close()  # the loops are not run here
        visits.append(polling)
    assert len(poller.streams.listeners) == 2
    visits[0].stop()
    assert len(poller.streams.listeners) == 1
    visits[0].stop()  # stopping twice is harmless
    assert len(poller.streams.listeners) == 1
    visits[1].stop()
    assert poller.streams.listeners == []
