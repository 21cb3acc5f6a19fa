"""One long-lived stream from a node: run it, keep it running, say why it is not.

A :class:`Follower` runs one command on one node through a line source (the
node's :class:`~hatui.transport.NodeTransport`, or a fake in tests) and hands
every line to a :class:`LineSink` (DRBD's events2 state, the node kit's
journal). When the stream ends it is started again after a backoff
(0.5 s, doubling per run in a row that ended within 30 s, at most 30 s),
and the sink is reset first, so a reconnect re-reads the initial dump and no
state from before the gap survives it.

:attr:`Follower.status` is what the operator sees: ``"starting"``, ``"on"``
or ``"off: WHY"``. A stream that cannot work on this node (command not found,
permission denied, a drbd-utils without events2) is off at once with that
reason and retried only every :data:`PERMANENT_RETRY` seconds; one that keeps
ending is off after :data:`GIVE_UP_AFTER` short runs in a row (and retried
with the growing backoff). Off means the poll alone keeps the node's data, as
before streams existed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from hatui.errors import HatuiError, TransportError
from hatui.transport import StreamEnded

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
PERMANENT_RETRY = 300.0
GIVE_UP_AFTER = 4  # short runs in a row before the stream is reported off
STEADY_RUN = 30.0  # a run that lasted this long was not "short"

STARTING = "starting"
ON = "on"

_NOT_FOUND = re.compile(r"command not found|: not found", re.I)
_DENIED = re.compile(r"permission denied|operation not permitted|not allowed|sudo:|password is required", re.I)
_UNSUPPORTED = re.compile(r"unknown command|invalid command|unrecognized option|invalid option|usage:|not supported",
                          re.I)


class LineSource(Protocol):
    """Where a stream's lines come from (``NodeTransport.stream``)."""

    def stream(self, command: str) -> AsyncIterator[str]: ...


class LineSink(Protocol):
    """What a stream's lines go to."""

    def reset(self) -> None:
        """Forget everything: a new run's initial output follows."""

    def feed(self, line: str) -> bool:
        """Take one line; True when what the node reports changed."""

    @property
    def live(self) -> bool:
        """The stream's state is complete (e.g. DRBD's initial dump has ended)."""


def permanent_reason(error: StreamEnded) -> str | None:
    """Why a stream can never work on this node (None: it may work next time)."""
    text = error.stderr
    if error.exit_status == 127 or (error.exit_status is not None and _NOT_FOUND.search(text)):
        return f"command not found ({error.first_error_line or 'exit status 127'})"
    if error.exit_status == 126 or _DENIED.search(text):
        return f"permission denied ({error.first_error_line or 'exit status 126'})"
    if error.exit_status not in (None, 0) and _UNSUPPORTED.search(text):
        return f"not supported here ({error.first_error_line})"
    return None


class Follower:
    """Keeps one command streaming into one sink, with backoff and a status."""

    def __init__(self, node: str, kind: str, command: str, source: LineSource, sink: LineSink,
                 on_change: Callable[[str, str], None], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self.node, self.kind, self.command = node, kind, command
        self.source, self.sink = source, sink
        self._on_change = on_change  # (node, kind): the sink changed, or the status did
        self._clock, self._sleep = clock, sleep
        self.status = STARTING
        self.runs = 0  # streams started
        self.short_runs = 0  # runs in a row that ended soon without becoming live
        self.last_change = 0.0  # clock() of the last state change the stream delivered
        self._task: asyncio.Task[None] | None = None
        self._restart = False
        self._wake = asyncio.Event()
        self.node_lost = False  # the last run ended because the node did not answer

    @property
    def live(self) -> bool:
        """Running, and its state is complete: the sink's data may be shown."""
        return self.status == ON and self.sink.live

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except BaseException:  # noqa: BLE001 - stopping: whatever it ended with is moot
                pass

    def restart(self) -> None:
        """End the current run now; the next one re-reads the initial dump (the poll saw a difference)."""
        self._restart = True

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._on_change(self.node, self.kind)

    def retry_now(self) -> None:
        """The node answers again: a run that failed for want of it starts now, not after its backoff."""
        if self.node_lost:
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            started = self._clock()
            wait = await self._run_once(started)
            self._wake.clear()
            waits = {asyncio.ensure_future(self._sleep(wait)), asyncio.ensure_future(self._wake.wait())}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()

    def _backoff(self, started: float) -> float:
        """After a run that may work next time: 0.5 s after a steady run, doubling per short run in a row."""
        steady = self._clock() - started >= STEADY_RUN
        self.short_runs = 0 if steady else self.short_runs + 1
        return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, self.short_runs - 1))

    async def _run_once(self, started: float) -> float:
        """One run of the stream; returns how long to wait before the next one."""
        self.runs += 1
        self.sink.reset()
        self._restart = False
        self.node_lost = False
        became_live = False
        why = "ended"
        try:
            async for line in self.source.stream(self.command):
                if self.sink.feed(line):
                    self.last_change = self._clock()
                    if self.sink.live:
                        self._on_change(self.node, self.kind)
                if self.sink.live and not became_live:
                    became_live = True
                    self._set_status(ON)
                if self._restart:
                    why = "restarted: the poll saw what it missed"
                    break
            else:
                why = "ended (exit status 0)"
        except StreamEnded as error:
            permanent = permanent_reason(error)
            if permanent is not None:
                self.sink.reset()
                self._set_status(f"off: {permanent}")
                return PERMANENT_RETRY
            why = str(error).removeprefix(f"{self.node}: ")
        except TransportError as error:
            why = f"node not answering ({error.reason})"
            self.node_lost = True
        except HatuiError as error:
            why = str(error)
        self.sink.reset()  # nothing from this run is shown once it ended
        wait = self._backoff(started)
        if self.short_runs >= GIVE_UP_AFTER:
            self._set_status(f"off: {why}, {self.short_runs} times in a row within {STEADY_RUN:g} s")
        else:
            self._set_status(f"{STARTING} (after: {why})" if became_live else f"off: {why}")
        return wait
