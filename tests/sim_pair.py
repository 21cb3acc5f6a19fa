"""The demo's simulated pair, polled in-process through hatui's real pipeline (no SSH).

:class:`SimTransport` answers like the demo's SSH server does (``hatui.demo.server``):
a crashed node refuses, a hung node never answers (a command timeout), a pending
drop cuts the command; everything else runs the real poll script through the
demo's :class:`~hatui.demo.node_shell.NodeShell`. A :class:`~hatui.snapshot.poller.ClusterPoller`
over these transports parses, derives facts and diagnoses exactly as it does
against real nodes, while the simulation advances in simulated time — so every
fault and pair of faults the demo can make runs in milliseconds.
"""

from __future__ import annotations

import time

from hatui.config import Config, parse_config
from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.node_shell import NodeShell
from hatui.errors import CommandTimeout, FailureKind, TransportError
from hatui.model import ClusterSnapshot
from hatui.snapshot.poller import ClusterPoller
from hatui.transport import CommandResult

NFS, DAG = "nfs-server.service", "airflow-dag-processor.service"


def sim_config(sim: ClusterSim) -> Config:
    """A config describing ``sim`` (the values the demo writes, without ports and keys)."""
    nodes = "".join(f'[[nodes]]\nname = "{n}"\nhost = "127.0.0.1"\n\n' for n in sim.names)
    exports = ", ".join(f'"{e}"' for e in sim.exports)
    return parse_config(f"""
[cluster]
name = "sim"
poll_interval = 1.0
command_timeout = 5.0
connect_timeout = 3.0
command_prefix = ""
preferred_node = "{sim.names[0]}"

{nodes}
[vip]
address = "{sim.vip}"
interface = "{sim.interface}"

[keepalived]
instance = "VI_1"
unit = "{sim.keepalived_unit}"

[[drbd]]
resource = "{sim.drbd.resource}"
device = "{sim.device}"
mount_point = "{sim.mount_point}"
fs_type = "{sim.fs_type}"
backing_disk = "{sim.backing_disk}"

[services.nfs]
unit = "{sim.nfs_unit}"
exports = [{exports}]

[services.dag_processor]
unit = "{sim.dag_unit}"
""")


class SimTransport:
    """One node of ``sim`` as :class:`~hatui.transport.NodeTransport` sees it."""

    retry_in: float | None = None  # never waits before reconnecting

    def __init__(self, sim: ClusterSim, name: str) -> None:
        self.sim, self.name = sim, name
        self.shell = NodeShell(sim, name)

    async def run(self, command: str, *, timeout: float | None = None, input: str | None = None) -> CommandResult:
        node = self.sim.node(self.name)
        if not node.up:
            raise TransportError(self.name, "cannot connect to 127.0.0.1: Connection refused",
                                 kind=FailureKind.REFUSED, hint="sshd is not listening.")
        if node.hung:
            raise CommandTimeout(self.name, "no answer within 5s", kind=FailureKind.HUNG,
                                 hint="The node accepts the connection but never answers.")
        if node.drop_pending:
            node.drop_pending = False
            raise TransportError(self.name, "connection dropped mid-command", kind=FailureKind.DROPPED)
        out, err, rc = self.shell.run(command, input or "")
        return CommandResult(command, rc, out, err, 0.001)

    def reset_backoff(self) -> None:
        pass

    async def close(self) -> None:
        pass


class SimPair:
    """A simulator, its config and a poller over in-process transports."""

    def __init__(self, sim: ClusterSim | None = None) -> None:
        self.sim = sim or ClusterSim(wall_clock=time.time)
        self.config = sim_config(self.sim)
        self.poller = ClusterPoller(self.config, {n: SimTransport(self.sim, n) for n in self.sim.names})

    def advance(self, seconds: float, step: float = 0.1) -> None:
        end = self.sim.now + seconds
        while self.sim.now < end:
            self.sim.tick(min(end, self.sim.now + step))

    async def poll(self) -> ClusterSnapshot:
        return await self.poller.poll()

    def fault(self, spec: str) -> None:
        """Apply a fault written as on the command line: "crash vm2", "stop-service vm2 nfs"."""
        kind, *args = spec.split()
        node = args[0] if args else None
        unit = {"nfs": NFS, "dag": DAG}.get(args[1]) if len(args) > 1 else None
        self.sim.fault(kind, node, unit)
