"""The node kit's takeover (keepalived's notify_master) for the simulated pair (mixed into ClusterSim).

Why apart: it mirrors the takeover step functions of scripts/node/hatui-notify
and must stay as idempotent as they are: a step whose effect is already there
(already Primary, already mounted, already active) is journaled as a success
whose detail starts with "already". In a planned switchover hatui promotes,
mounts and starts everything before it moves the VIP, so the notify script
keepalived runs then finds nothing to do, and must not journal a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatui.emulator.drbd_machine import PRIMARY, UPTODATE

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hatui.demo.cluster_sim import ClusterSim, SimNode

FAILOVER_STEPS = ("promote", "mount", "nfs", "dag", "available")


class NotifyKitMixin:
    """notify_master's guarded, idempotent takeover; needs the ClusterSim attributes."""

    def _notify_master(self: ClusterSim, node: SimNode) -> None:
        """Schedule the guarded takeover: each step a little simulated time apart."""
        node.plan = [(self.now + self.step_delay * (i + 1), s) for i, s in enumerate(FAILOVER_STEPS)]

    def _run_step(self: ClusterSim, node: SimNode, step: str) -> None:
        """One takeover step, idempotent like the real kit: an effect already there is journaled as
        success ("already ..."), so a planned switchover (hatui did it all first) logs no failure."""
        name = node.name
        units = {"nfs": self.nfs_unit, "dag": self.dag_unit}
        if step == "promote":
            d = self.drbd.node(name)
            if d.role == PRIMARY:
                return self.record(name, step, f"already Primary ({self.drbd.resource})")
            if self.drbd.connected(name) and self.drbd.peer(name).role == PRIMARY:
                return self._abort(node, step, "refused: peer is Primary (would be two primaries)")
            if d.disk != UPTODATE:
                return self._abort(node, step, f"refused: local disk is {d.disk}, not UpToDate")
            res = self.drbd.primary(name)
            if res.rc != 0:
                return self._abort(node, step, res.stderr.strip())
            self.record(name, step, f"drbdadm primary {self.drbd.resource}")
        elif step == "mount":
            if node.mounted:
                return self.record(name, step, f"already mounted: {self.mount_point}")
            err = self.mount(name)
            if err:
                return self._abort(node, step, err)
            self.record(name, step, f"mount {self.device} {self.mount_point}")
        elif step in units:
            if self.unit(name, units[step]).active:
                return self.record(name, step, f"already active: {units[step]}")
            self.start_service(name, units[step])
            self.record(name, step, f"systemctl start {units[step]}")
        elif step == "available":
            self.record(name, step, "services available on the VIP")

    def _abort(self: ClusterSim, node: SimNode, step: str, why: str) -> None:
        node.plan = []
        self.record(node.name, step, why, ok=False)
