"""One batched exec per node per cycle → a :class:`ClusterSnapshot` with findings.

The nodes are polled independently: :meth:`ClusterPoller.poll_node` asks one
node and keeps its answer (with the moment it was taken, so every node's data
carries its own age); :meth:`ClusterPoller.assemble` builds a snapshot from the
latest answer of each node. A hung or slow node therefore never holds back
what is known about the other: the console re-assembles whenever either node
answers, and a one-shot ``hatui status --timeout`` shows every node that
answered in time, the others as "no answer within N s".

A node is never polled twice at once: a caller that asks for a node whose poll
is in flight waits for that same poll (up to its own deadline) instead of
opening another channel. The previous answer of each node gives sync speed
and ETA where DRBD does not report them, and "unreachable since".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

from hatui.config import Config
from hatui.errors import FailureKind, HatuiError, TransportError
from hatui.health import evaluate
from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.snapshot.assemble import build_node_snapshot, carry_between_reads, unreachable_node
from hatui.probes import catalog
from hatui.probes.script import (
    KEEPALIVED_SIGNUM, build_script, keepalived_probes, new_nonce, parse_signum, split_sections,
)
from hatui.snapshot.streams import ClusterStreams
from hatui.snapshot.sync_rate import rate_node
from hatui.transport import NodeTransport

NOT_POLLED = "not polled yet"


class ClusterPoller:
    """Polls both nodes of the configured pair, each on its own."""

    def __init__(self, config: Config, transports: dict[str, NodeTransport] | None = None) -> None:
        self.config = config
        self.transports = transports or {
            node.name: NodeTransport(node, config.cluster) for node in config.nodes
        }
        self.previous: ClusterSnapshot | None = None
        self.latest: dict[str, NodeSnapshot] = {}
        self.cycles: dict[str, int] = {name: 0 for name in config.node_names}
        self._inflight: dict[str, asyncio.Task[NodeSnapshot]] = {}
        # keepalived's JSON signal per node, learnt once per connection: (connection serial, signal).
        self._ka_signal: dict[str, tuple[int, int]] = {}
        # The DRBD configuration per node, last read on: (connection serial, cycle); see catalog.DRBD_CONFIG_EVERY.
        self._config_read: dict[str, tuple[int, int]] = {}
        self.streams: ClusterStreams | None = None  # set by start_streams()

    @property
    def node_names(self) -> tuple[str, ...]:
        return self.config.node_names

    @property
    def ready(self) -> bool:
        """Every node has answered (or failed) at least once: a snapshot shows no "not polled yet"."""
        return all(name in self.latest for name in self.node_names)

    def start_streams(self, **options: object) -> ClusterStreams:
        """Follow each node's DRBD events and journal between polls (see :mod:`hatui.snapshot.streams`)."""
        if self.streams is None:
            self.streams = ClusterStreams(self, **options)
            self.streams.start()
        return self.streams

    def interval_for(self, name: str, poll_interval: float) -> float:
        """Seconds between two polls of ``name``: longer while its streams deliver (a reconcile)."""
        return self.streams.reconcile_interval(name, poll_interval) if self.streams is not None else poll_interval

    def _serial(self, name: str | None) -> int:
        return getattr(self.transports.get(name), "connection_serial", 0) if name is not None else 0

    def known_signal(self, name: str | None) -> int | None:
        known = self._ka_signal.get(name) if name is not None else None
        return known[1] if known is not None and known[0] == self._serial(name) else None

    def config_due(self, name: str | None, cycle: int) -> bool:
        """Whether ``name``'s poll of ``cycle`` reads the DRBD configuration: on the first poll of each
        connection (and until one reading succeeds), then every :data:`catalog.DRBD_CONFIG_EVERY` cycles."""
        read = self._config_read.get(name) if name is not None else None
        if read is None or read[0] != self._serial(name):
            return True
        return cycle - read[1] >= catalog.DRBD_CONFIG_EVERY

    def script_for(self, nonce: str, cycle: int = 0, node: str | None = None) -> str:
        """The batched script of one node's cycle (slow probes every ``health_every`` cycles).

        For a known ``node``: without the probes its live streams deliver, with keepalived's signal
        number once learnt on this connection, and with the DRBD configuration only when it is due.
        """
        every = self.config.services.dag_processor.health_every
        probes = catalog.poll_probes(self.config, include_slow=cycle % every == 0,
                                     include_config=self.config_due(node, cycle))
        if node is not None and self.streams is not None:
            skip = self.streams.skip_probes(node)
            probes = [p for p in probes if p.name not in skip]
        probes = keepalived_probes(probes, catalog.KEEPALIVED, self.known_signal(node))
        return build_script(
            probes,
            nonce=nonce,
            prefix=self.config.cluster.prefix_words,
            keepalived_pid_file=self.config.keepalived.pid_file,
            keepalived_json_file=self.config.keepalived.json_file,
        )

    def node_bound(self) -> float:
        """The longest one node's poll can take: connect plus command timeout, plus slack."""
        return self.config.cluster.connect_timeout + self.config.cluster.command_timeout + 2

    async def poll_node(self, name: str, limit: float | None = None, *, keep_on_timeout: bool = False) -> NodeSnapshot:
        """Poll one node (or join its poll in flight); never raises for node trouble.

        A node that has not answered within ``limit`` seconds is recorded as
        hung ("no answer within N s") — or, with ``keep_on_timeout``, keeps its
        previous answer; its poll goes on in the background and its answer, if
        one comes, is kept for the next assembly.
        """
        task = self._inflight.get(name)
        if task is None or task.done():
            task = asyncio.ensure_future(self._ask(name))
            self._inflight[name] = task
        limit = self.node_bound() if limit is None else limit
        try:
            return await asyncio.wait_for(asyncio.shield(task), limit)
        except (TimeoutError, asyncio.TimeoutError):
            if keep_on_timeout and name in self.latest:
                return self.latest[name]
            node = unreachable_node(name, f"no answer within {limit:g}s", polled_at=time.time(),
                                    previous=self.latest.get(name), failure=FailureKind.HUNG,
                                    hint="The node accepts the connection but its commands do not finish: "
                                         "check its load, disks (hung I/O) and sshd on its console.")
            self.latest[name] = node
            return node

    async def _ask(self, name: str) -> NodeSnapshot:
        previous = self.latest.get(name)
        if previous is not None and previous.error == NOT_POLLED:
            previous = None
        transport = self.transports[name]
        cycle = self.cycles.get(name, 0)
        self.cycles[name] = cycle + 1
        nonce = new_nonce()
        started = time.monotonic()
        try:
            result = await transport.run("sh -s", input=self.script_for(nonce, cycle, name))
        except HatuiError as exc:
            reason = str(exc).removeprefix(f"{name}: ")
            kind = exc.kind if isinstance(exc, TransportError) else None
            hint = exc.hint if isinstance(exc, TransportError) else None
            node = unreachable_node(name, reason, polled_at=time.time(), previous=previous, failure=kind,
                                    hint=hint or None)
        else:
            latency = time.monotonic() - started
            sections = split_sections(result.stdout, nonce)
            if not sections:
                why = (result.stderr or result.stdout).strip().splitlines()
                detail = why[0] if why else f"exit status {result.exit_status}"
                node = unreachable_node(name, f"poll script produced no output ({detail})", polled_at=time.time(),
                                        previous=previous)
            else:
                self._learn_signal(name, sections)
                if (conf := sections.get(catalog.DRBD_CONFIG)) is not None and conf.ok:
                    self._config_read[name] = (self._serial(name), cycle)
                node = build_node_snapshot(name, sections, self.config, polled_at=time.time(), latency=latency)
                prev_answer = previous if previous is not None and previous.reachable else None
                node = rate_node(carry_between_reads(node, previous), prev_answer)
        if self.streams is not None:
            node = self.streams.merge_poll(name, node, started)
        self.latest[name] = node
        return node

    def _learn_signal(self, name: str, sections: dict) -> None:
        """Keep keepalived's signal number for this connection; forget it when the dump failed."""
        serial = self._serial(name)
        learnt = parse_signum(sections.pop(KEEPALIVED_SIGNUM, None))
        if learnt is not None:
            self._ka_signal[name] = (serial, learnt)
        elif (dump := sections.get(catalog.KEEPALIVED)) is not None and not dump.ok:
            self._ka_signal.pop(name, None)

    async def refresh_node(self, name: str) -> NodeSnapshot:
        """Poll ``name`` with a poll that starts now: one already in flight began before the change
        that prompted this (a journal line) and may not show it, so it is waited out first."""
        task = self._inflight.get(name)
        if task is not None and not task.done():
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), self.node_bound())
        return await self.poll_node(name)

    def assemble(self) -> ClusterSnapshot:
        """A snapshot from the latest answer of each node, with findings and verdict."""
        now = time.time()
        first, second = (
            self.latest.get(n) or unreachable_node(n, NOT_POLLED, polled_at=now, previous=None)
            for n in self.node_names
        )
        snapshot = ClusterSnapshot(config=self.config, nodes=(first, second), taken_at=now)
        findings, verdict = evaluate(snapshot)
        snapshot = dataclasses.replace(snapshot, findings=findings, verdict=verdict)
        self.previous = snapshot
        return snapshot

    async def poll(self, limit: float | None = None) -> ClusterSnapshot:
        """Poll both nodes concurrently (each bounded by ``limit``) and assemble.

        When a slow node made the others' answers older than a poll interval,
        those are asked once more (briefly), so the snapshot never shows a
        healthy node's data as old because of the other one.
        """
        started = time.monotonic()
        await asyncio.gather(*(self.poll_node(n, limit) for n in self.node_names))
        interval = self.config.cluster.poll_interval
        if time.monotonic() - started > interval:
            fresh = [n for n in self.node_names if self.latest[n].reachable]
            await asyncio.gather(*(self.poll_node(n, interval, keep_on_timeout=True) for n in fresh))
        return self.assemble()

    def retry_now(self) -> None:
        """Skip reconnect backoff on every node (used by the console's refresh key)."""
        for transport in self.transports.values():
            transport.reset_backoff()

    async def close(self) -> None:
        if self.streams is not None:
            await self.streams.close()
        for task in self._inflight.values():
            task.cancel()
        for task in self._inflight.values():
            with contextlib.suppress(BaseException):
                await task
        await asyncio.gather(*(t.close() for t in self.transports.values()))


def status_timeout(config: Config) -> float:
    """Bound on one whole poll: connect + command timeouts, plus slack."""
    return config.cluster.connect_timeout + config.cluster.command_timeout + 3


async def poll_once(config: Config, timeout: float | None = None) -> ClusterSnapshot:
    """Connect, poll both nodes once, close. A node that has not answered within
    ``timeout`` is shown as hung; every node that answered is shown."""
    poller = ClusterPoller(config)
    try:
        return await poller.poll(timeout)
    finally:
        await poller.close()
