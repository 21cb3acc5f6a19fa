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
hang NODE          SIGSTOP NODE's sshd: the listener, every session and every command running
                   under one (what hatui runs, a fence-peer request being served). TCP still
                   accepts, nothing answers: hatui's commands time out (node-hung), new
                   connections get no banner. Everything else on the node keeps running
                   (keepalived, DRBD, the services): a hung SSH path, not a dead node
unhang NODE        SIGCONT the same processes: commands that were stopped mid-way finish late
drop NODE          SIGKILL NODE's sshd session processes (not the listener): every SSH
                   connection breaks mid-command, as when a link flaps; reconnecting works
kill-service …     SIGKILL the unit's main process on NODE (it crashed; systemctl shows failed)
=================  ==========================================================================

Why hang and drop use signals: there is no iptables/nft here, and a node's own
network has no other way to hold a TCP connection open while never answering.
"""

from __future__ import annotations

import signal
import time

from hatui.lab.host import netns, topology
from hatui.lab.host.lab import NAMES, Lab
from hatui.lab.host.netns import LabError
from hatui.lab.host.node_setup import PY, boot, reboot_cleanup, wait_for

KINDS = ("crash", "restore", "cut-link", "heal-link", "partition", "heal", "stop-service", "start-service", "stop-keepalived",
         "start-keepalived", "block-vrrp", "unblock-vrrp", "split-brain", "hang", "unhang", "drop", "kill-service")
BLACKHOLE_MAC = "02:00:00:00:00:00"  # locally administered, never used by a lab interface
NEEDS_NODE = {"crash", "restore", "partition", "stop-service", "start-service", "stop-keepalived", "start-keepalived",
              "hang", "unhang", "drop", "kill-service"}
SSHD = ("sshd", "sshd-session")


def inject(lab: Lab, kind: str, node: str | None = None, unit: str | None = None) -> str:
    """Apply one fault; returns a one-line description of what was done."""
    if kind not in KINDS:
        raise LabError(f"unknown fault {kind!r}: one of {', '.join(KINDS)}")
    if kind in NEEDS_NODE and node not in NAMES:
        raise LabError(f"fault {kind} needs a node: {' or '.join(NAMES)}")
    if kind in ("stop-service", "start-service", "kill-service") and not unit:
        raise LabError(f"fault {kind} needs a unit, e.g. nfs-server.service")
    if not lab.is_up():
        raise LabError("the lab is not up (hatui lab up)")
    if kind in ("hang", "unhang", "drop", "kill-service"):
        return _signals(lab, kind, node, unit)
    if kind == "crash":
        lab.forget_hung(node)
        killed = netns.kill_netns_processes(node)
        for dev in ("eth0", "eth1"):
            netns.set_link(node, dev, False)
        return f"{node} crashed: {killed} processes killed, eth0 and eth1 down"
    if kind == "restore":
        lab.forget_hung(node)
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


def _signals(lab: Lab, kind: str, node: str, unit: str | None) -> str:
    if kind == "hang":
        stopped: set[int] = set()
        for _ in range(3):  # a session may fork while we stop the others
            pids = [p for p in netns.process_tree(node, SSHD) if p not in stopped]
            netns.signal_pids(pids, signal.SIGSTOP)
            stopped |= set(pids)
        lab.remember_hung(node, sorted(stopped))
        return f"{node} hung: sshd and everything under it stopped ({len(stopped)} processes)"
    if kind == "unhang":
        pids = set(lab.forget_hung(node)) | set(netns.process_tree(node, SSHD))
        return f"{node} unhung: {netns.signal_pids(sorted(pids), signal.SIGCONT)} processes continued"
    if kind == "drop":
        listener = _pid_file(lab.files(node).sub("run") / "sshd.pid")
        sessions = [p for p in netns.process_tree(node, SSHD)
                    if (i := netns.proc_parent(p)) and i[0] in SSHD and i[1] == listener]
        netns.signal_pids(sessions, signal.SIGKILL)
        return f"{node}: {len(sessions)} SSH session(s) cut"
    out = netns.node_run(node, ["systemctl", "show", "-p", "MainPID", "--value", unit], check=False, timeout=20)
    pid = int(out.stdout.strip() or 0) if out.stdout.strip().isdigit() else 0
    if pid <= 0:
        raise LabError(f"{node}: {unit} has no main process (not running)")
    netns.signal_pids([pid], signal.SIGKILL)
    return f"{node}: {unit} main process {pid} killed"


def _pid_file(path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return -1


def _drbd(node: str, *args: str) -> None:
    netns.node_run(node, [PY, "-m", "hatui.lab.drbd.cli", *args], timeout=10)


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
