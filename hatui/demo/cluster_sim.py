"""The whole simulated pair: nodes, keepalived/VRRP, services, mounts, DRBD.

Time is simulated: :meth:`ClusterSim.tick` takes ``now`` in simulated seconds (the server multiplies
real time by ``time_scale``), so tests run a whole failover in milliseconds. Wall-clock timestamps
(journal, keepalived's ``last_transition``, ActiveEnterTimestamp) come from ``wall_clock``.

The automatic behaviour follows the seed's design: keepalived with nopreempt
and initial state BACKUP on both nodes; a BACKUP that hears no advert for the
master-down interval (3 x advert_int + (256 - priority)/256 s) becomes MASTER,
adds the VIP first and then its notify_master runs a guarded node kit: promote
DRBD (refused when the local disk is not UpToDate or the peer is Primary),
mount, start NFS, start the DAG processor (components: :class:`~hatui.demo.vrrp.Vrrp`,
:class:`~hatui.demo.notify_kit.NotifyKit`). Every automatic step goes to the node's ``journal``.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable

from hatui.emulator.drbd_machine import PRIMARY, DrbdMachine
from hatui.demo.notify_kit import FAILOVER_STEPS, NotifyKit
from hatui.demo.sim_parts import Keepalived, SimNode, Unit
from hatui.demo.vrrp import Vrrp

__all__ = ["FAILOVER_STEPS", "ClusterSim", "SimNode"]


class ClusterSim:
    """Two nodes, the first one starting active (MASTER, Primary, services up)."""

    def __init__(
        self,
        names: tuple[str, str] = ("vm2", "vm12"),
        *,
        priorities: tuple[int, int] = (110, 100),
        addresses: tuple[str, str] = ("192.168.83.2", "192.168.83.12"),
        vip: str = "192.168.83.200/24",
        interface: str = "eth0",
        resource: str = "r0",
        device: str = "/dev/drbd0",
        mount_point: str = "/srv/ha",
        fs_type: str = "ext4",
        backing_disk: str = "/dev/vdb",
        exports: tuple[str, ...] = ("/srv/ha/export",),
        nfs_unit: str = "nfs-server.service",
        dag_unit: str = "airflow-dag-processor.service",
        keepalived_unit: str = "keepalived.service",
        advert_int: float = 1.0,
        step_delay: float = 1.0,
        heartbeat_interval: float = 5.0,
        sync_rate_kib_s: float = 40 * 1024,
        fencing: str = "resource-and-stonith",
        wall_clock: Callable[[], float] | None = None,
        now: float = 0.0,
    ) -> None:
        self.names = names
        self.vip, self.interface = vip, interface
        self.device, self.mount_point, self.fs_type = device, mount_point, fs_type
        self.backing_disk, self.exports = backing_disk, exports
        self.nfs_unit, self.dag_unit, self.keepalived_unit = nfs_unit, dag_unit, keepalived_unit
        self.advert_int, self.step_delay, self.heartbeat_interval = advert_int, step_delay, heartbeat_interval
        self.now = now
        self._epoch0 = time.time() - now
        self._wall = wall_clock or (lambda: self._epoch0 + self.now)
        self._pids = itertools.count(1200, 37)
        self.vrrp_blocked = False
        self.kit = NotifyKit(self)  # the node kit's notify_master, run by keepalived's VRRP on a new MASTER
        self.vrrp = Vrrp(self, on_master=self.kit.notify_master)
        seed = {"export/README": "hatui demo share", "export/data-0001": "initial"}
        self.drbd = DrbdMachine(names, resource=resource, primary=names[0], blocks=seed,
                                sync_rate_kib_s=sync_rate_kib_s, now=now, fencing=fencing)
        self.nodes: dict[str, SimNode] = {}
        wall = self.wall()
        for name, prio, addr in zip(names, priorities, addresses):
            node = SimNode(name, addr, prio, boot_wall=wall - 3600)
            node.units = {u: Unit(u) for u in (nfs_unit, dag_unit, keepalived_unit)}
            self.nodes[name] = node
            self.start_unit(node, keepalived_unit, at=wall - 3500)
            node.ka.pid = node.units[keepalived_unit].main_pid
            node.ka.last_transition = wall - 3500
            node.ka.down_deadline = now + self.vrrp.master_down_interval(name)
        # Steady state: the first node has been active for a while.
        first = self.nodes[names[0]]
        first.ka.state, first.ka.become_master, first.vip, first.mounted = "MASTER", 1, True, True
        self.drbd.set_open(names[0], True)
        for unit in (nfs_unit, dag_unit):
            self.start_unit(first, unit, at=wall - 3400)
        first.next_heartbeat, first.last_heartbeat = now, wall - 1
        self.nodes[names[1]].ka.master_priority = first.priority

    # ---- helpers ------------------------------------------------------------------

    def wall(self) -> float:
        return self._wall()

    def node(self, name: str) -> SimNode:
        if name not in self.nodes:
            raise KeyError(f"no such node {name!r} (have {', '.join(self.names)})")
        return self.nodes[name]

    def peer_of(self, name: str) -> SimNode:
        return next(n for k, n in self.nodes.items() if k != name)

    def active_node(self) -> str | None:
        """The node that serves the data: up, DRBD Primary and mounted (VIP holder first)."""
        cands = [n for n in self.nodes.values() if n.up and n.mounted and self.drbd.node(n.name).role == PRIMARY]
        cands.sort(key=lambda n: not n.vip)
        return cands[0].name if cands else None

    def unit(self, node: str, unit: str) -> Unit:
        n = self.node(node)
        return n.units.setdefault(unit, Unit(unit))

    def start_unit(self, node: SimNode, unit: str, at: float | None = None) -> None:
        u = node.units.setdefault(unit, Unit(unit))
        if not u.active:
            u.active, u.main_pid, u.enter_wall = True, next(self._pids), at or self.wall()

    def stop_unit(self, node: SimNode, unit: str) -> None:
        u = node.units.setdefault(unit, Unit(unit))
        u.active, u.main_pid = False, 0

    def record(self, node: str, step: str, detail: str, ok: bool = True) -> None:
        """Append one automatic step to the node's journal (read by a later issue)."""
        entry = {"ts": round(self.wall(), 6), "node": node, "step": step, "detail": detail, "ok": ok}
        journal = self.nodes[node].journal
        journal.append(entry)
        del journal[:-500]

    # ---- time -----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance the whole pair to simulated time ``now``."""
        now = max(now, self.now)
        self.now = now
        self.vrrp.tick(now)
        for node in self.nodes.values():
            while node.up and node.plan and node.plan[0][0] <= now:
                _, step = node.plan.pop(0)
                self.kit.run_step(node, step)
            self._heartbeat(node, now)
        self.drbd.tick(now)

    def _heartbeat(self, node: SimNode, now: float) -> None:
        """The DAG processor writes its heartbeat (and a run record) to the shared disk."""
        if not (node.up and self.unit(node.name, self.dag_unit).active) or now < node.next_heartbeat:
            return
        node.next_heartbeat = now + self.heartbeat_interval
        if not node.mounted:
            return  # no database on a missing filesystem: the heartbeat goes stale
        wall = self.wall()
        if self.drbd.write(node.name, "dag/heartbeat", f"{wall:.3f}").rc == 0:
            node.heartbeats += 1
            self.drbd.write(node.name, f"dag/run/{node.heartbeats % 64:02d}", f"{node.name} {wall:.3f}")
            node.last_heartbeat = wall

    # ---- the node kit (notify scripts) ---------------------------------------------------

    def release(self, node: SimNode, why: str) -> None:
        """notify_backup/notify_stop: stop services, unmount, demote (reverse order)."""
        node.plan = []
        did = []
        for unit in (self.dag_unit, self.nfs_unit):
            if node.units[unit].active:
                self.stop_unit(node, unit)
                did.append(f"stop {unit}")
        if node.mounted:
            self.umount(node.name)
            did.append("umount")
        if self.drbd.node(node.name).role == PRIMARY and self.drbd.secondary(node.name).rc == 0:
            did.append("secondary")
        if did:
            self.record(node.name, "release", f"{why}: {', '.join(did)}")

    # ---- node operations (also used by the node shell) -------------------------------------

    def mount(self, name: str) -> str | None:
        """Mount the DRBD device; returns mount(8)'s error text or None."""
        node = self.node(name)
        if node.mounted:
            return f"mount: {self.mount_point}: {self.device} already mounted on {self.mount_point}."
        if self.drbd.node(name).role != PRIMARY:
            return f"mount: {self.mount_point}: mount(2) system call failed: Wrong medium type."
        node.mounted = True
        self.drbd.set_open(name, True)
        return None

    def umount(self, name: str) -> str | None:
        node = self.node(name)
        if not node.mounted:
            return f"umount: {self.mount_point}: not mounted."
        if any(node.units[u].active for u in (self.nfs_unit, self.dag_unit)):
            return f"umount: {self.mount_point}: target is busy."
        node.mounted = False
        self.drbd.set_open(name, False)
        return None

    def start_service(self, name: str, unit: str) -> None:
        if unit == self.keepalived_unit:
            return self.vrrp.start_keepalived(name)
        node = self.node(name)
        self.start_unit(node, unit)
        if unit == self.dag_unit:
            node.next_heartbeat = self.now

    def stop_service(self, name: str, unit: str) -> None:
        if unit == self.keepalived_unit:
            return self.vrrp.stop_keepalived(name)
        self.stop_unit(self.node(name), unit)

    def write(self, key: str, value: str) -> str:
        """Write through the active node; returns its name (ValueError if none)."""
        name = self.active_node()
        if name is None:
            raise ValueError("no active node: nothing is mounted on a Primary")
        res = self.drbd.write(name, key, value)
        if res.rc != 0:
            raise ValueError(res.stderr.strip())
        return name

    def read(self, key: str, node: str | None = None) -> str | None:
        name = node or self.active_node()
        return None if name is None else self.drbd.read(name, key)

    # ---- faults ---------------------------------------------------------------------------

    def crash(self, name: str) -> None:
        node = self.node(name)
        if not node.up:
            return
        node.up, node.vip, node.mounted, node.plan = False, False, False, []
        node.hung = node.drop_pending = False
        node.files.clear()
        for u in node.units.values():
            u.active, u.main_pid = False, 0
        node.ka = Keepalived(running=False, state="INIT")
        self.drbd.crash(name)

    def restore(self, name: str) -> None:
        """Reboot: DRBD comes back Secondary and reconnects; keepalived starts BACKUP."""
        node = self.node(name)
        if node.up:
            return
        node.up, node.boot_wall = True, self.wall()
        self.drbd.restore(name)
        self.vrrp.start_keepalived(name)
        self.record(name, "rejoin", "booted: DRBD Secondary, keepalived BACKUP (nopreempt)")

    def cut_link(self) -> None:
        """Replication link down (the dedicated DRBD link; VRRP is separate)."""
        self.drbd.cut_link()

    def heal_link(self) -> None:
        self.drbd.heal_link()

    def hang(self, name: str) -> None:
        self.node(name).hung = True

    def unhang(self, name: str) -> None:
        self.node(name).hung = False

    def drop(self, name: str) -> None:
        self.node(name).drop_pending = True

    def split_brain(self) -> None:
        """A real split brain: cut the link, both Primary with divergent writes, heal."""
        a, b = self.names
        active = self.active_node() or a
        victim = b if active == a else a
        self.drbd.cut_link(immediate=True)
        stamp = f"{self.wall():.3f}"
        # --force: what an unguarded notify script does (even over a half-synced disk).
        self.drbd.primary(active, force=True)
        self.drbd.write(active, "splitbrain/survivor", f"{active} {stamp}")
        if self.drbd.primary(victim, force=True).rc == 0:
            self.drbd.write(victim, "splitbrain/victim", f"{victim} {stamp}")
            self.drbd.write(victim, "export/data-0001", f"overwritten on {victim}")
        self.record(victim, "promote", "split-brain scenario: promoted while the peer was unreachable")
        self.drbd.heal_link()

    def sync(self, keys: int = 100) -> None:
        """Start a visible resync: cut the link, write ``keys`` blocks, heal."""
        name = self.active_node()
        if name is None:
            raise ValueError("no active node to write through")
        self.drbd.cut_link(immediate=True)
        for i in range(keys):
            self.drbd.write(name, f"sync/{i:04d}", f"{self.wall():.3f}")
        self.drbd.heal_link()

    def partition(self, name: str) -> None:
        """Both links of ``name`` cut: replication, and the public network its fence-peer handler and
        VRRP use (hatui's own path to the node stays, as over a separate admin network)."""
        self.drbd.public_cut.add(name)
        self.vrrp_blocked = True
        self.drbd.cut_link()

    def heal_partition(self) -> None:
        self.drbd.public_cut.clear()
        self.vrrp_blocked = False
        self.drbd.heal_link()

    FAULTS = ("crash", "restore", "cut-link", "heal-link", "stop-service", "start-service", "stop-keepalived",
              "start-keepalived", "block-vrrp", "unblock-vrrp", "split-brain", "hang", "unhang", "drop", "sync",
              "partition", "heal-partition")

    def fault(self, kind: str, node: str | None = None, unit: str | None = None) -> str:
        """Dispatch a fault by name (``hatui-sim fault``, the thread handle, the TUI)."""
        kind = kind.replace("_", "-")
        if kind not in self.FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of: {', '.join(self.FAULTS)}")
        pair: dict[str, Callable[[], None]] = {
            "cut-link": self.cut_link, "heal-link": self.heal_link, "block-vrrp": self.vrrp.block,
            "unblock-vrrp": self.vrrp.unblock, "split-brain": self.split_brain, "sync": self.sync,
            "heal-partition": self.heal_partition}
        if kind in pair:
            pair[kind]()
            return kind
        if node is None:
            raise ValueError(f"fault {kind} needs a node")
        self.node(node)
        if kind in ("stop-service", "start-service"):
            if not unit:
                raise ValueError(f"fault {kind} needs a unit")
            (self.stop_service if kind == "stop-service" else self.start_service)(node, unit)
            return f"{kind} {node} {unit}"
        on_node: dict[str, Callable[[str], None]] = {
            "crash": self.crash, "restore": self.restore, "hang": self.hang, "unhang": self.unhang, "drop": self.drop,
            "partition": self.partition, "stop-keepalived": self.vrrp.stop_keepalived,
            "start-keepalived": self.vrrp.start_keepalived}
        on_node[kind](node)
        return f"{kind} {node}"

    def snapshot(self) -> dict[str, object]:
        """JSON-able state of the whole simulation (``hatui-sim state``)."""
        nodes = {}
        for name, n in self.nodes.items():
            nodes[name] = {
                "up": n.up, "address": n.address, "priority": n.priority, "vip": n.vip,
                "mounted": n.mounted, "hung": n.hung, "drop_pending": n.drop_pending,
                "keepalived": {"running": n.ka.running, "state": n.ka.state if n.ka.running else "STOP",
                               "become_master": n.ka.become_master},
                "units": {u.name: {"active": u.active, "pid": u.main_pid} for u in n.units.values()},
                "last_heartbeat": n.last_heartbeat, "journal": list(n.journal),
            }
        return {"now": self.now, "wall": self.wall(), "active": self.active_node(),
                "vrrp_blocked": self.vrrp_blocked, "link_up": self.drbd.link_up,
                "nodes": nodes, "drbd": self.drbd.snapshot()}
