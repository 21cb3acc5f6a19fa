"""Every pair of the fleet polled on its own, for the fleet overview (no Textual here).

One :class:`PairWatch` per pair: its own poller (a :class:`~hatui.snapshot.poller.ClusterPoller`
with its own connections, or anything with ``async poll()`` / ``async close()``), its own
asyncio task, and its own bound — ``connect_timeout + command_timeout + 3`` s of that
pair's config, plus its poll interval for a :class:`ClusterPoller` (which bounds each node
itself and marks a hung node as such). So one pair's dead or hung nodes cost only that
pair's row; a pair whose config failed to load has no task at all and shows its error.

The pairs' first polls are staggered over one poll interval (at most 2 s), and each loop keeps its own
schedule, so 50 pairs at 2 s are 25 polls a second spread evenly, not 50 at once.

While the console shows one pair's screen, that pair's loop stands aside
(:meth:`FleetPolling.hold`): the pair screen polls it through the same poller (each node on
its own) and hands its snapshots back with :meth:`FleetPolling.observe`, so its row stays
current and no second connection is opened. Every other pair keeps being polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from hatui.errors import HatuiError
from hatui.fleet import Fleet, PairEntry
from hatui.model import ClusterSnapshot
from hatui.snapshot.poller import ClusterPoller, status_timeout
from hatui.ui.fleet_rows import FailoverTracker, FleetRow, failed_row, snapshot_row
from hatui.ui.pair_polling import Poller, Reconnecting


STAGGER_MAX = 2.0  # seconds over which the first polls are spread (at most one interval)


def cluster_poller(entry: PairEntry) -> Poller:
    assert entry.config is not None
    return ClusterPoller(entry.config)


class PairWatch:
    """One pair: its poller, its latest snapshot and its overview row."""

    def __init__(self, entry: PairEntry, poller: Poller | None) -> None:
        self.entry = entry
        self.poller = poller
        self.snapshot: ClusterSnapshot | None = None
        self.row = FleetRow(entry.name, error=entry.error) if entry.config is None else FleetRow(entry.name)
        self.failover = FailoverTracker()
        self.wake = asyncio.Event()
        self.held = False  # the pair screen polls this pair meanwhile
        self.polls = 0
        self.task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    def bound(self) -> float:
        """This pair's own limit on one poll."""
        config = self.entry.config
        assert config is not None
        limit = status_timeout(config)
        return limit + config.cluster.poll_interval if isinstance(self.poller, ClusterPoller) else limit


class FleetPolling:
    """Polls every pair of ``fleet`` on its own; ``on_row(name)`` says a pair's row changed."""

    def __init__(self, fleet: Fleet, on_row: Callable[[str], None], *,
                 make_poller: Callable[[PairEntry], Poller] = cluster_poller, interval: float | None = None,
                 stagger: float = STAGGER_MAX,
                 on_snapshot: Callable[[str, ClusterSnapshot], None] | None = None) -> None:
        self.fleet = fleet
        self.on_snapshot = on_snapshot  # every pair's every snapshot (the fleet console records them)
        self.stagger = stagger
        self.on_row = on_row
        self.interval = interval  # None: each pair's own poll_interval
        self.watches: dict[str, PairWatch] = {
            e.name: PairWatch(e, make_poller(e) if e.config is not None else None) for e in fleet.pairs
        }

    def rows(self) -> list[FleetRow]:
        return [w.row for w in self.watches.values()]

    def interval_of(self, watch: PairWatch) -> float:
        if self.interval is not None:
            return self.interval
        return watch.entry.config.cluster.poll_interval if watch.entry.config is not None else 2.0

    def start(self) -> None:
        """One task per pair that has a config; first polls spread over one interval."""
        live = [w for w in self.watches.values() if w.poller is not None]
        for index, watch in enumerate(live):
            delay = min(self.interval_of(watch), self.stagger) * index / len(live)
            watch.task = asyncio.create_task(self._loop(watch, delay), name=f"hatui-fleet-{watch.name}")

    async def _loop(self, watch: PairWatch, delay: float) -> None:
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.wake.wait(), delay)
        while True:
            watch.wake.clear()
            started = time.monotonic()
            if not watch.held:
                await self.poll_once(watch)
            left = self.interval_of(watch) - (time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.wake.wait(), max(0.05, left))

    async def poll_once(self, watch: PairWatch) -> None:
        """One poll of one pair within its own bound; never raises for the pair's trouble."""
        assert watch.poller is not None
        limit = watch.bound()
        try:
            snap = await asyncio.wait_for(watch.poller.poll(), limit)
        except (TimeoutError, asyncio.TimeoutError):
            if isinstance(watch.poller, ClusterPoller):  # every node answered or was marked hung meanwhile
                self.observe(watch.name, watch.poller.assemble())
            else:
                self._failed(watch, f"no answer from the pair within {limit:g}s")
        except asyncio.CancelledError:
            raise
        except HatuiError as exc:
            self._failed(watch, str(exc))
        except Exception as exc:  # a bug must not stop this pair's row, nor any other: show it, go on
            self._failed(watch, f"{type(exc).__name__}: {exc}")
        else:
            self.observe(watch.name, snap)
        watch.polls += 1

    def _failed(self, watch: PairWatch, error: str) -> None:
        watch.row = failed_row(watch.row, error)
        self.on_row(watch.name)

    def observe(self, name: str, snap: ClusterSnapshot) -> None:
        """A new snapshot of pair ``name`` (from its loop, or from the pair screen's polls)."""
        watch = self.watches[name]
        watch.snapshot = snap
        if self.on_snapshot is not None:
            self.on_snapshot(name, snap)
        watch.row = snapshot_row(name, snap, watch.failover.update(snap))
        self.on_row(name)

    def hold(self, name: str) -> None:
        """The pair screen polls ``name`` from now on."""
        self.watches[name].held = True

    def release(self, name: str) -> None:
        watch = self.watches[name]
        watch.held = False
        watch.wake.set()

    def wake_all(self) -> None:
        """Poll every pair now (the refresh key); skips reconnect backoff too."""
        for watch in self.watches.values():
            if isinstance(watch.poller, Reconnecting):
                watch.poller.retry_now()
            watch.wake.set()

    @property
    def polls(self) -> int:
        return sum(w.polls for w in self.watches.values())

    async def close(self) -> None:
        tasks = [w.task for w in self.watches.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        closers: list[Any] = [w.poller.close() for w in self.watches.values() if w.poller is not None]
        await asyncio.gather(*closers, return_exceptions=True)
