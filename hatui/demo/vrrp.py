"""keepalived's VRRP behaviour for the simulated pair (a component of ClusterSim).

Kept apart from cluster_sim.py so each file stays readable. What is modelled,
after keepalived 2.2 with ``nopreempt`` and ``state BACKUP`` on both nodes:

* A MASTER sends an advert every ``advert_int``; a BACKUP that hears one
  restarts its master-down timer (3 x advert_int + (256 - priority)/256 s).
* A BACKUP whose timer fires becomes MASTER: it adds the VIP *before* running
  notify_master, and keepalived does not wait for the script.
* Two MASTERs that hear each other: the lower priority (then lower address)
  steps down to BACKUP and runs notify_backup. nopreempt means a BACKUP never
  takes over from a live MASTER, even one with a lower priority.
* A MASTER that stops cleanly sends priority 0: the BACKUP takes over after
  the skew time only.
* Blocked VRRP traffic: nobody hears anybody, so both become MASTER.
"""

from __future__ import annotations

from collections.abc import Callable

from hatui.demo.sim_parts import PairSim, SimNode


class Vrrp:
    """keepalived's VRRP between the simulated nodes: timers, elections, the faults that break it.

    A component of :class:`~hatui.demo.cluster_sim.ClusterSim`: it reads and
    changes the simulator's nodes, and hands a new MASTER to ``on_master`` (the node kit).
    """

    def __init__(self, sim: PairSim, *, on_master: Callable[[SimNode], None]) -> None:
        self.sim = sim
        self.on_master = on_master

    def master_down_interval(self, name: str) -> float:
        """3 x advert_int + skew; 3.61 s for priority 100 at advert_int 1."""
        return 3 * self.sim.advert_int + self.skew(name)

    def skew(self, name: str) -> float:
        return (256 - self.sim.nodes[name].priority) / 256 * self.sim.advert_int

    def hears(self, listener: SimNode, speaker: SimNode) -> bool:
        """Does ``listener`` receive ``speaker``'s adverts right now?"""
        return (
            not self.sim.vrrp_blocked
            and listener.up
            and speaker.up
            and speaker.ka.running
            and speaker.ka.state == "MASTER"
        )

    def tick(self, now: float) -> None:
        nodes = [n for n in self.sim.nodes.values() if n.up and n.ka.running]
        # Adverts: counted for the keepalived JSON stats.
        for node in nodes:
            if node.ka.state != "MASTER":
                continue
            while node.ka.next_advert <= now:
                node.ka.next_advert += self.sim.advert_int
                node.ka.advert_sent += 1
                peer = self.sim.peer_of(node.name)
                if peer.ka.running and self.hears(peer, node):
                    peer.ka.advert_rcvd += 1
        # Two masters that hear each other: the lower one steps down.
        masters = [n for n in nodes if n.ka.state == "MASTER"]
        if len(masters) == 2 and self.hears(masters[0], masters[1]):
            loser = min(masters, key=lambda n: (n.priority, tuple(int(p) for p in n.address.split("."))))
            winner = masters[1] if loser is masters[0] else masters[0]
            loser.ka.master_priority = winner.priority
            self._become_backup(loser, f"higher priority advert from {winner.name} ({winner.priority})")
        # BACKUPs: hearing a master restarts the timer; silence lets it fire.
        backups = [n for n in nodes if n.ka.state == "BACKUP"]
        backups.sort(key=lambda n: n.ka.down_deadline if n.ka.down_deadline is not None else now)
        for node in backups:
            peer = self.sim.peer_of(node.name)
            if self.hears(node, peer):
                node.ka.master_priority = peer.priority
                node.ka.down_deadline = now + self.master_down_interval(node.name)
            elif node.ka.down_deadline is None:
                node.ka.down_deadline = now + self.master_down_interval(node.name)
            elif now >= node.ka.down_deadline:
                waited = self.master_down_interval(node.name)
                self.sim.record(node.name, "detect", f"no VRRP advert for {waited:.2f} s: master down timer expired")
                self._become_master(node)

    def _become_master(self, node: SimNode) -> None:
        node.ka.state = "MASTER"
        node.ka.last_transition = self.sim.wall()
        node.ka.become_master += 1
        node.ka.next_advert = self.sim.now
        node.ka.master_priority = 0
        node.ka.down_deadline = None
        if not node.vip:
            node.vip = True
        # keepalived adds the VIP before notify_master runs.
        self.sim.record(node.name, "vip", f"VRRP VI_1 MASTER: added {self.sim.vip} dev {self.sim.interface} label {self.sim.interface}:vip")
        self.on_master(node)

    def _become_backup(self, node: SimNode, why: str) -> None:
        was_master = node.ka.state == "MASTER"
        node.ka.state = "BACKUP"
        node.ka.last_transition = self.sim.wall()
        node.ka.down_deadline = self.sim.now + self.master_down_interval(node.name)
        if was_master:
            node.ka.release_master += 1
            node.vip = False
            self.sim.record(node.name, "backup", f"VRRP VI_1 BACKUP ({why}): removed {self.sim.vip}")
            self.sim.release(node, "notify_backup")

    # ---- faults --------------------------------------------------------------------

    def block(self) -> None:
        """Drop all VRRP traffic: both time out and become MASTER, both hold the VIP."""
        self.sim.vrrp_blocked = True

    def unblock(self) -> None:
        self.sim.vrrp_blocked = False

    def stop_keepalived(self, name: str) -> None:
        """Clean stop: a MASTER sends priority 0 and releases (notify_stop)."""
        node = self.sim.node(name)
        if not node.ka.running:
            return
        peer = self.sim.peer_of(name)
        if node.ka.state == "MASTER":
            node.ka.pri_zero_sent += 1
            node.ka.release_master += 1
            node.vip = False
            self.sim.record(name, "stop", f"keepalived stopped: priority 0 sent, removed {self.sim.vip}")
            self.sim.release(node, "notify_stop")
            if peer.up and peer.ka.running and peer.ka.state == "BACKUP" and not self.sim.vrrp_blocked:
                peer.ka.pri_zero_rcvd += 1
                peer.ka.down_deadline = self.sim.now + self.skew(peer.name)
        node.ka.running = False
        node.ka.state = "INIT"
        node.plan = []
        self.sim.stop_unit(node, self.sim.keepalived_unit)

    def start_keepalived(self, name: str) -> None:
        """keepalived starts in BACKUP (nopreempt) and waits a master-down interval."""
        node = self.sim.node(name)
        if node.ka.running or not node.up:
            return
        self.sim.start_unit(node, self.sim.keepalived_unit)
        ka = node.ka
        ka.running, ka.state, ka.pid = True, "BACKUP", node.units[self.sim.keepalived_unit].main_pid
        ka.last_transition = self.sim.wall()
        ka.down_deadline = self.sim.now + self.master_down_interval(name)
