"""Faults for the lab pair, made with the real means: kill, link down, routes, systemctl.

Kinds (the demo pair's names, where they make sense for real processes):

=================  ==========================================================================
crash NODE         SIGKILL every process in the node and take its links down (power loss)
restore NODE       links up, reboot state cleared, boot: DRBD Secondary, sshd, keepalived BACKUP
cut-link           the replication link (eth1) down: DRBD loses its connection, VRRP is untouched
heal-link          eth1 up again: DRBD reconnects and resyncs what changed
partition NODE     NODE cut off both networks while everything on it keeps running: eth1 down
                   (replication) and its public veth taken off the bridge (VRRP, SSH, clients,
                   fencing), so its own eth0 stays up and keepalived there sees nothing wrong,
                   as when a switch fails: neither node can fence the other
heal               every link of both nodes up again (ends a partition, a cut link, a crash's links)
stop-service …     ``systemctl stop UNIT`` on NODE (start-service: start)
stop-keepalived    ``systemctl stop keepalived.service`` on NODE (start-keepalived: start)
block-vrrp         each node's neighbour entry for the other points at a MAC nobody has: the
                   unicast VRRP adverts are lost, both nodes become MASTER and both hold the VIP
unblock-vrrp       remove those entries
split-brain        cut the link, force the standby Primary (fencing has outdated it: only
                   ``primary --force`` gets past that) and write on both sides, heal the link:
                   DRBD finds both sides changed and drops the connection (StandAlone)
=================  ==========================================================================
"""

from __future__ import annotations

import time

from hatui.lab import netns, topology
from hatui.lab.lab import NAMES, Lab
from hatui.lab.netns import LabError
from hatui.lab.node_setup import PY, boot, reboot_cleanup, wait_for

KINDS = ("crash", "restore", "cut-link", "heal-link", "partition", "heal", "stop-service", "start-service", "stop-keepalived",
         "start-keepalived", "block-vrrp", "unblock-vrrp", "split-brain")
BLACKHOLE_MAC = "02:00:00:00:00:00"  # locally administered, never used by a lab interface
NEEDS_NODE = {"crash", "restore", "partition", "stop-service", "start-service", "stop-keepalived", "start-keepalived"}


def inject(lab: Lab, kind: str, node: str | None = None, unit: str | None = None) -> str:
    """Apply one fault; returns a one-line description of what was done."""
    if kind not in KINDS:
        raise LabError(f"unknown fault {kind!r}: one of {', '.join(KINDS)}")
    if kind in NEEDS_NODE and node not in NAMES:
        raise LabError(f"fault {kind} needs a node: {' or '.join(NAMES)}")
    if kind in ("stop-service", "start-service") and not unit:
        raise LabError(f"fault {kind} needs a unit, e.g. nfs-server.service")
    if not lab.is_up():
        raise LabError("the lab is not up (hatui lab up)")
    if kind == "crash":
        killed = netns.kill_netns_processes(node)
        for dev in ("eth0", "eth1"):
            netns.set_link(node, dev, False)
        return f"{node} crashed: {killed} processes killed, eth0 and eth1 down"
    if kind == "restore":
        files = lab.files(node)
        netns.kill_netns_processes(node)
        reboot_cleanup(files)
        for dev in ("eth0", "eth1"):
            netns.set_link(node, dev, True)
        boot(files)
        return f"{node} restored: DRBD Secondary, sshd and keepalived (BACKUP, nopreempt) started"
    if kind == "partition":
        netns.set_link(node, "eth1", False)
        netns.run(["ip", "link", "set", topology.node(node).host_veth, "nomaster"])
        return (f"{node} partitioned: eth1 (replication) down, {topology.node(node).host_veth} off the bridge "
                "(public: VRRP, SSH, clients, fencing)")
    if kind == "heal":
        for n in topology.NODES:
            netns.run(["ip", "link", "set", n.host_veth, "master", topology.BRIDGE])
            for dev in ("eth0", "eth1"):
                netns.set_link(n.name, dev, True)
        return "every link of both nodes up, both on the bridge"
    if kind in ("cut-link", "heal-link"):
        up = kind == "heal-link"
        for name in NAMES:
            netns.set_link(name, "eth1", up)
        return "replication link " + ("up" if up else "down")
    if kind in ("stop-service", "start-service", "stop-keepalived", "start-keepalived"):
        verb = kind.split("-")[0]
        unit = unit if kind.endswith("service") else "keepalived.service"
        out = netns.node_run(node, ["systemctl", verb, unit], check=False, timeout=20)
        if out.returncode != 0:
            raise LabError(f"{node}: systemctl {verb} {unit}: {(out.stderr or out.stdout).strip()}")
        return f"{node}: systemctl {verb} {unit}"
    if kind in ("block-vrrp", "unblock-vrrp"):
        # No iptables/nft here, and a blackhole route does not stop keepalived (its socket is bound
        # to eth0). A permanent neighbour entry with a MAC nobody has makes each node's unicast
        # adverts to the other go nowhere, and touches nothing else: SSH comes from the host,
        # clients from the client namespace, DRBD runs over eth1.
        for n in topology.NODES:
            other = topology.peer(n.name)
            if kind == "block-vrrp":
                netns.run(["ip", "-n", n.netns, "neigh", "replace", other.public_ip, "lladdr", BLACKHOLE_MAC,
                           "dev", "eth0", "nud", "permanent"])
            else:
                netns.run(["ip", "-n", n.netns, "neigh", "del", other.public_ip, "dev", "eth0"], check=False)
        return "VRRP adverts between the nodes " + ("blocked" if kind == "block-vrrp" else "unblocked")
    return _split_brain(lab)


def _drbd(node: str, *args: str) -> None:
    netns.node_run(node, [PY, "-m", "hatui.lab.drbd_cli", *args], timeout=10)


def _split_brain(lab: Lab) -> str:
    """Both sides Primary with their own writes while disconnected, then reconnect."""
    active = next((n for n in NAMES if lab.local_drbd(n).get("role") == "Primary"), None)
    if active is None:
        raise LabError("no Primary: a split brain needs an active node to diverge from")
    standby = topology.peer(active).name
    inject(lab, "cut-link")
    wait_for(lambda: all(lab.local_drbd(n).get("connection") != "Connected" for n in NAMES), 10,
             "DRBD did not notice the cut link")
    # With fencing the active node froze I/O until its handler outdated the standby: wait for that.
    wait_for(lambda: lab.local_drbd(active).get("suspended") is None, 20, f"{active}'s I/O stayed suspended")
    netns.node_run(standby, ["drbdadm", "primary", "--force", "r0"], timeout=45)
    stamp = f"{time.time():.3f}"
    _drbd(standby, "write", f"split-{standby}", stamp)
    _drbd(active, "write", f"split-{active}", stamp)
    inject(lab, "heal-link")
    wait_for(lambda: all(lab.local_drbd(n).get("connection") == "StandAlone" for n in NAMES), 15,
             "DRBD did not detect the split brain after the link came back")
    return f"split brain: {active} and {standby} both Primary with divergent writes, both StandAlone"
