"""keepalived's VRRP behaviour for the simulated pair (mixed into ClusterSim).

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

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hatui.demo.cluster_sim import ClusterSim, SimNode

_Base = object


class VrrpMixin(_Base):
    """VRRP timers and transitions; needs the ClusterSim attributes."""

    def master_down_interval(self: ClusterSim, name: str) -> float:
        """3 x advert_int + skew; 3.61 s for priority 100 at advert_int 1."""
        return 3 * self.advert_int + self.skew(name)

    def skew(self: ClusterSim, name: str) -> float:
        return (256 - self.nodes[name].priority) / 256 * self.advert_int

    def hears(self: ClusterSim, listener: SimNode, speaker: SimNode) -> bool:
        """Does ``listener`` receive ``speaker``'s adverts right now?"""
        return (
            not self.vrrp_blocked
            and listener.up
            and speaker.up
            and speaker.ka.running
            and speaker.ka.state == "MASTER"
        )

    def _vrrp_tick(self: ClusterSim, now: float) -> None:
        nodes = [n for n in self.nodes.values() if n.up and n.ka.running]
        # Adverts: counted for the keepalived JSON stats.
        for node in nodes:
            if node.ka.state != "MASTER":
                continue
            while node.ka.next_advert <= now:
                node.ka.next_advert += self.advert_int
                node.ka.advert_sent += 1
                peer = self.peer_of(node.name)
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
            peer = self.peer_of(node.name)
            if self.hears(node, peer):
                node.ka.master_priority = peer.priority
                node.ka.down_deadline = now + self.master_down_interval(node.name)
            elif node.ka.down_deadline is None:
                node.ka.down_deadline = now + self.master_down_interval(node.name)
            elif now >= node.ka.down_deadline:
                waited = self.master_down_interval(node.name)
                self.record(node.name, "detect", f"no VRRP advert for {waited:.2f} s: master down timer expired")
                self._become_master(node)

    def _become_master(self: ClusterSim, node: SimNode) -> None:
        node.ka.state = "MASTER"
        node.ka.last_transition = self.wall()
        node.ka.become_master += 1
        node.ka.next_advert = self.now
        node.ka.master_priority = 0
        node.ka.down_deadline = None
        if not node.vip:
            node.vip = True
        # keepalived adds the VIP before notify_master runs.
        self.record(node.name, "vip", f"VRRP VI_1 MASTER: added {self.vip} dev {self.interface} label {self.interface}:vip")
        self._notify_master(node)

    def _become_backup(self: ClusterSim, node: SimNode, why: str) -> None:
        was_master = node.ka.state == "MASTER"
        node.ka.state = "BACKUP"
        node.ka.last_transition = self.wall()
        node.ka.down_deadline = self.now + self.master_down_interval(node.name)
        if was_master:
            node.ka.release_master += 1
            node.vip = False
            self.record(node.name, "backup", f"VRRP VI_1 BACKUP ({why}): removed {self.vip}")
            self._release(node, "notify_backup")

    # ---- faults --------------------------------------------------------------------

    def block_vrrp(self: ClusterSim) -> None:
        """Drop all VRRP traffic: both time out and become MASTER, both hold the VIP."""
        self.vrrp_blocked = True

    def unblock_vrrp(self: ClusterSim) -> None:
        self.vrrp_blocked = False

    def stop_keepalived(self: ClusterSim, name: str) -> None:
        """Clean stop: a MASTER sends priority 0 and releases (notify_stop)."""
        node = self.node(name)
        if not node.ka.running:
            return
        peer = self.peer_of(name)
        if node.ka.state == "MASTER":
            node.ka.pri_zero_sent += 1
            node.ka.release_master += 1
            node.vip = False
            self.record(name, "stop", f"keepalived stopped: priority 0 sent, removed {self.vip}")
            self._release(node, "notify_stop")
            if peer.up and peer.ka.running and peer.ka.state == "BACKUP" and not self.vrrp_blocked:
                peer.ka.pri_zero_rcvd += 1
                peer.ka.down_deadline = self.now + self.skew(peer.name)
        node.ka.running = False
        node.ka.state = "INIT"
        node.plan = []
        self._stop_unit(node, self.keepalived_unit)

    def start_keepalived(self: ClusterSim, name: str) -> None:
        """keepalived starts in BACKUP (nopreempt) and waits a master-down interval."""
        node = self.node(name)
        if node.ka.running or not node.up:
            return
        self._start_unit(node, self.keepalived_unit)
        ka = node.ka
        ka.running, ka.state, ka.pid = True, "BACKUP", node.units[self.keepalived_unit].main_pid
        ka.last_transition = self.wall()
        ka.down_deadline = self.now + self.master_down_interval(name)
