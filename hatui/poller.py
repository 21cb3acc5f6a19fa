"""One batched exec per node per cycle → a :class:`ClusterSnapshot` with findings.

Both nodes are polled concurrently; each poll is bounded by the transport's
command timeout, so a hung or unreachable node costs at most that long and the
other node is always shown. The poller also remembers the previous snapshot to
tell how long a node has been unreachable and to derive sync speed and ETA
where DRBD does not report them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from hatui.config import Config
from hatui.errors import HatuiError
from hatui.health import evaluate
from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.observe import build_node_snapshot, carry_dag_health, unreachable_node
from hatui.probes import catalog
from hatui.probes.script import build_script, new_nonce, split_sections
from hatui.sync_rate import with_sync_rates
from hatui.transport import NodeTransport


class ClusterPoller:
    """Polls both nodes of the configured pair."""

    def __init__(self, config: Config, transports: dict[str, NodeTransport] | None = None) -> None:
        self.config = config
        self.transports = transports or {
            node.name: NodeTransport(node, config.cluster) for node in config.nodes
        }
        self.previous: ClusterSnapshot | None = None
        self.cycle = 0

    def script_for(self, nonce: str) -> str:
        """The batched script of this cycle (slow probes every ``health_every`` cycles)."""
        every = self.config.services.dag_processor.health_every
        probes = catalog.poll_probes(self.config, include_slow=self.cycle % every == 0)
        return build_script(
            probes,
            nonce=nonce,
            prefix=self.config.cluster.prefix_words,
            keepalived_pid_file=self.config.keepalived.pid_file,
            keepalived_json_file=self.config.keepalived.json_file,
        )

    async def poll_node(self, name: str, script: str, nonce: str) -> NodeSnapshot:
        """Poll one node; never raises for node trouble (it becomes "unreachable")."""
        previous = self.previous.node(name) if self.previous else None
        transport = self.transports[name]
        started = time.monotonic()
        try:
            result = await transport.run("sh -s", input=script)
        except HatuiError as exc:
            reason = str(exc).removeprefix(f"{name}: ")
            return unreachable_node(name, reason, polled_at=time.time(), previous=previous)
        latency = time.monotonic() - started
        sections = split_sections(result.stdout, nonce)
        if not sections:
            why = (result.stderr or result.stdout).strip().splitlines()
            detail = why[0] if why else f"exit status {result.exit_status}"
            return unreachable_node(
                name, f"poll script produced no output ({detail})", polled_at=time.time(), previous=previous
            )
        node = build_node_snapshot(name, sections, self.config, polled_at=time.time(), latency=latency)
        return carry_dag_health(node, previous)

    async def poll(self) -> ClusterSnapshot:
        """Poll both nodes concurrently and evaluate health."""
        nonce = new_nonce()
        script = self.script_for(nonce)
        self.cycle += 1
        names = self.config.node_names
        first, second = await asyncio.gather(*(self.poll_node(n, script, nonce) for n in names))
        snapshot = ClusterSnapshot(config=self.config, nodes=(first, second), taken_at=time.time())
        snapshot = with_sync_rates(snapshot, self.previous)
        findings, verdict = evaluate(snapshot)
        snapshot = dataclasses.replace(snapshot, findings=findings, verdict=verdict)
        self.previous = snapshot
        return snapshot

    def retry_now(self) -> None:
        """Skip reconnect backoff on every node (used by the console's refresh key)."""
        for transport in self.transports.values():
            transport.reset_backoff()

    async def close(self) -> None:
        await asyncio.gather(*(t.close() for t in self.transports.values()))


def status_timeout(config: Config) -> float:
    """Bound on one whole poll: connect + command timeouts, plus slack."""
    return config.cluster.connect_timeout + config.cluster.command_timeout + 3


async def poll_once(config: Config, timeout: float | None = None) -> ClusterSnapshot:
    """Connect, poll both nodes once, close; bounded by ``timeout`` (asyncio.TimeoutError past it)."""
    poller = ClusterPoller(config)
    try:
        return await asyncio.wait_for(poller.poll(), timeout or status_timeout(config))
    finally:
        await poller.close()
