"""The node kit's takeover (keepalived's notify_master) for the simulated pair (a component of ClusterSim).

Why apart: it mirrors the takeover step functions of scripts/node/hatui-notify
and must stay as idempotent as they are: a step whose effect is already there
(already Primary, already mounted, already active) is journaled as a success
whose detail starts with "already". In a planned switchover hatui promotes,
mounts and starts everything before it moves the VIP, so the notify script
keepalived runs then finds nothing to do, and must not journal a failure.
"""

from __future__ import annotations

from hatui.demo.sim_parts import PairSim, SimNode
from hatui.emulator.drbd_machine import PRIMARY, UPTODATE

FAILOVER_STEPS = ("promote", "mount", "nfs", "dag", "available")


class NotifyKit:
    """notify_master's guarded, idempotent takeover, as the node kit runs it (a component of
    :class:`~hatui.demo.cluster_sim.ClusterSim`)."""

    def __init__(self, sim: PairSim) -> None:
        self.sim = sim

    def notify_master(self, node: SimNode) -> None:
        """Schedule the guarded takeover: each step a little simulated time apart."""
        node.plan = [(self.sim.now + self.sim.step_delay * (i + 1), s) for i, s in enumerate(FAILOVER_STEPS)]

    def run_step(self, node: SimNode, step: str) -> None:
        """One takeover step, idempotent like the real kit: an effect already there is journaled as
        success ("already ..."), so a planned switchover (hatui did it all first) logs no failure."""
        name = node.name
        units = {"nfs": self.sim.nfs_unit, "dag": self.sim.dag_unit}
        if step == "promote":
            d = self.sim.drbd.node(name)
            if d.role == PRIMARY:
                return self.sim.record(name, step, f"already Primary ({self.sim.drbd.resource})")
            if self.sim.drbd.connected(name) and self.sim.drbd.peer(name).role == PRIMARY:
                return self._abort(node, step, "refused: peer is Primary (would be two primaries)")
            if d.disk != UPTODATE:
                return self._abort(node, step, f"refused: local disk is {d.disk}, not UpToDate")
            res = self.sim.drbd.primary(name)
            if res.rc != 0:
                return self._abort(node, step, res.stderr.strip())
            self.sim.record(name, step, f"drbdadm primary {self.sim.drbd.resource}")
        elif step == "mount":
            if node.mounted:
                return self.sim.record(name, step, f"already mounted: {self.sim.mount_point}")
            err = self.sim.mount(name)
            if err:
                return self._abort(node, step, err)
            self.sim.record(name, step, f"mount {self.sim.device} {self.sim.mount_point}")
        elif step in units:
            if self.sim.unit(name, units[step]).active:
                return self.sim.record(name, step, f"already active: {units[step]}")
            self.sim.start_service(name, units[step])
            self.sim.record(name, step, f"systemctl start {units[step]}")
        elif step == "available":
            self.sim.record(name, step, "services available on the VIP")

    def _abort(self, node: SimNode, step: str, why: str) -> None:
        node.plan = []
        self.sim.record(node.name, step, why, ok=False)
