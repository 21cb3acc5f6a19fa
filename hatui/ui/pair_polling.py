"""One pair's polling for the console: its loops, the runner's polls between them, the count and the last error.

The UI never blocks on SSH. With the real :class:`~hatui.snapshot.poller.ClusterPoller`
each node is polled by its own loop, and every answer re-assembles the snapshot, so a
hung node never makes the other one look stale (``wake()`` runs every loop early).
Anything else with ``async poll()`` and ``async close()`` can stand in for the poller
(tests use a scripted one): it is polled pairwise by one loop.

Why a component of its own: the console (and the fleet console, once per visit of a
pair's screen) owns one and says what a snapshot or a failure means on screen through two
callbacks; the action runner polls through :meth:`PairPolling.poll`, one whole-pair poll
at a time with the loops (``lock``), and the action controller holds the loops back while
the runner works (:meth:`hold`, :meth:`release`: at once, not a message later). ``stop()``
ends the loops, mutes the callbacks and takes its listener off the streams, so a loop left
over from an earlier visit shows nothing and no listener piles up. No Textual here: the app runs :meth:`loops` as its workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, runtime_checkable

from hatui.errors import HatuiError
from hatui.model import ClusterSnapshot
from hatui.snapshot.poller import ClusterPoller


class Poller(Protocol):
    async def poll(self) -> ClusterSnapshot: ...

    async def close(self) -> None: ...


@runtime_checkable
class Reconnecting(Protocol):
    """A poller over real connections: its transports (they run actions, and may wait before
    reconnecting) and a way to skip that wait."""

    transports: dict[str, Any]

    def retry_now(self) -> None: ...


class PairPolling:
    """Polls one pair every ``interval`` (or when woken); each poll bounded by ``timeout``."""

    def __init__(self, poller: Poller, *, interval: float, timeout: float,
                 on_snapshot: Callable[[ClusterSnapshot], None], on_failed: Callable[[str, bool], None]) -> None:
        self.poller = poller
        self.interval, self.timeout = interval, timeout
        self.held = False  # the action runner polls (and shows) by itself meanwhile
        self.on_snapshot = on_snapshot
        self.on_failed = on_failed  # (message, new): new is False while the same failure repeats
        self.lock = asyncio.Lock()  # one whole-pair poll at a time: a loop's or the runner's
        self.count = 0  # polls completed (tests and the benchmark wait on it: HatuiApp.wait_for_poll)
        self.error: str | None = None  # the last poll's failure, None once one succeeds
        self.stopped = False
        self._wakes: dict[str | None, asyncio.Event] = {}

    @property
    def transports(self) -> dict[str, Any]:
        """The poller's transports (none for a stand-in that cannot run commands)."""
        return self.poller.transports if isinstance(self.poller, Reconnecting) else {}

    def backoff(self) -> dict[str, float]:
        """Nodes whose transport waits before reconnecting → seconds left."""
        return {name: transport.retry_in for name, transport in self.transports.items() if transport.retry_in}

    def retry_now(self) -> None:
        """Skip every reconnect wait (an operator asking for "now" should not wait out a backoff)."""
        if isinstance(self.poller, Reconnecting):
            self.poller.retry_now()

    def loops(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """(name, coroutine) of each loop to run: one per node for a ClusterPoller, else one."""
        if isinstance(self.poller, ClusterPoller):
            self.poller.start_streams().add_listener(self._streamed)
            return [(f"poller-{name}", self._loop(name)) for name in self.poller.node_names]
        return [("poller", self._loop(None))]

    def wake(self) -> None:
        """Poll now instead of at the end of the interval (every loop)."""
        for event in self._wakes.values():
            event.set()

    def hold(self) -> None:
        """The loops stand aside (the runner works and polls through :meth:`poll`)."""
        self.held = True

    def release(self) -> None:
        """The loops poll again, starting now."""
        self.held = False
        self.wake()

    def stop(self) -> None:
        """No more polls, nothing more shown (the app cancels the loops' workers too); the streams
        forget this polling's listener (the fleet console makes one per visit of a pair's screen)."""
        self.stopped = True
        if isinstance(self.poller, ClusterPoller) and self.poller.streams is not None:
            self.poller.streams.remove_listener(self._streamed)
        self.wake()

    async def _loop(self, node: str | None) -> None:
        """Poll ``node`` (None: the whole pair through ``poll()``) every interval, or when woken."""
        wake = self._wakes.setdefault(node, asyncio.Event())
        while not self.stopped:
            wake.clear()
            if not self.held:
                await self.poll_once(node)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._interval(node))

    def _interval(self, node: str | None) -> float:
        if node is None or not isinstance(self.poller, ClusterPoller):
            return self.interval
        return self.poller.interval_for(node, self.interval)

    def _streamed(self, node: str, kinds: frozenset[str]) -> None:
        """A stream changed ``node``'s data: show it now; a journal line (the kit saw keepalived move)
        also polls that node now, for its new VRRP state and VIP."""
        if "journal" in kinds and node in self._wakes:
            self._wakes[node].set()
        if isinstance(self.poller, ClusterPoller) and self.poller.ready and not self.held:
            self._show(self.poller.assemble())

    async def _poll(self, node: str | None) -> ClusterSnapshot | None:
        if node is None:
            async with self.lock:
                return await asyncio.wait_for(self.poller.poll(), self.timeout)
        assert isinstance(self.poller, ClusterPoller)  # per-node loops run only for it (loops())
        # It bounds each node itself; joining an in-flight poll needs no lock.
        await asyncio.wait_for(self.poller.poll_node(node), self.timeout)
        # Until every node has answered (or failed) once, a snapshot would show the others as
        # unreachable when they are only not asked yet: wait for the first round.
        return self.poller.assemble() if self.poller.ready else None

    async def poll_once(self, node: str | None = None) -> None:
        """One poll; a failure is reported, never raised (a bug must not stop the console either)."""
        try:
            snap = await self._poll(node)
        except (TimeoutError, asyncio.TimeoutError):
            self._failed(f"no answer within {self.timeout:g}s")
        except HatuiError as exc:
            self._failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown, and polling goes on
            self._failed(f"{type(exc).__name__}: {exc}")
        else:
            if snap is not None:
                self._show(snap)
        self.count += 1

    async def poll(self) -> ClusterSnapshot:
        """The action runner's poll: the whole pair, one at a time with the loops, shown like theirs."""
        async with self.lock:
            snap = await self.poller.poll()
        self._show(snap)
        self.count += 1
        return snap

    def _show(self, snap: ClusterSnapshot) -> None:
        if not self.stopped:
            self.error = None
            self.on_snapshot(snap)

    def _failed(self, message: str) -> None:
        if not self.stopped:
            new, self.error = message != self.error, message
            self.on_failed(message, new)
