"""Health rules: a cluster snapshot → findings (severity, layer, message, next step).

Each rule is a small function over the snapshot that yields findings. Messages
are written for an operator at 3 a.m.: what is wrong, on which node, and the
one next step that is safe. The verdict is the worst severity found; it is
UNKNOWN only when neither node could be asked at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hatui.probes import catalog
from hatui.model import ClusterSnapshot, Finding, Layer, NodeSnapshot
from hatui.states import (
    ConnectionState,
    DiskState,
    ReplicationState,
    Role,
    Severity,
    UnitActiveState,
    VrrpState,
    severity_rank,
)
from hatui.textfmt import duration_text as _duration

Rule = Callable[[ClusterSnapshot], Iterator[Finding]]
RULES: list[Rule] = []

CRIT, WARN, OK = Severity.CRITICAL, Severity.WARNING, Severity.OK
CLOCK_SKEW_LIMIT = 2.0


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _up(snap: ClusterSnapshot) -> list[NodeSnapshot]:
    return [n for n in snap.nodes if n.reachable]


def _unit_active(node: NodeSnapshot, unit: str) -> bool | None:
    status = node.unit(unit)
    if status is None or status.active is None:
        return None
    return status.active in (UnitActiveState.ACTIVE, UnitActiveState.RELOADING)


@rule
def nodes_reachable(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node in snap.nodes:
        if not node.reachable:
            yield Finding(CRIT, Layer.NODE, f"{node.name} is unreachable: {node.error}",
                          "Check the node's power, network and sshd; the peer is still shown and "
                          "keepalived should have moved the VIP to it.", "node-unreachable", node.name)


@rule
def vip_placement(snap: ClusterSnapshot) -> Iterator[Finding]:
    vip = snap.config.vip.ip
    holders = snap.vip_holders
    up = _up(snap)
    if len(holders) == 2:
        yield Finding(CRIT, Layer.VIP, f"VIP {vip} is on BOTH nodes: clients reach either at random",
                      "VRRP adverts are not getting through (firewall, multicast, link). Stop keepalived "
                      "on the node that is not DRBD Primary, then fix the VRRP path.", "vip-on-both")
    elif not holders and len(up) == 2:
        yield Finding(CRIT, Layer.VIP, f"VIP {vip} is on neither node: clients cannot connect",
                      "Check keepalived on the DRBD Primary (state FAULT? track script failing?).",
                      "vip-on-neither")
    elif not holders and up:
        down = ", ".join(n.name for n in snap.nodes if not n.reachable)
        yield Finding(CRIT, Layer.VIP, f"VIP {vip} is not on {up[0].name}, and {down} cannot be asked: "
                      "clients probably cannot connect", f"If {down} is really down, keepalived on "
                      f"{up[0].name} should take the VIP within seconds; if it does not, check its state.",
                      "vip-on-neither")
    first = snap.config.drbd[0].resource
    for name in holders:
        role = snap.node(name).drbd_role(first)
        if role is not None and role != Role.PRIMARY:
            yield Finding(CRIT, Layer.VIP, f"VIP {vip} is on {name}, whose DRBD {first} is {role}: "
                          "clients reach a node that cannot serve the data",
                          "Fail over properly (hatui failover) or move the VIP back to the DRBD Primary.",
                          "vip-on-secondary", name)


@rule
def keepalived_state(snap: ClusterSnapshot) -> Iterator[Finding]:
    masters = []
    for node in _up(snap):
        active = _unit_active(node, snap.config.keepalived.unit)
        if active is False:
            yield Finding(WARN, Layer.KEEPALIVED, f"keepalived is not running on {node.name}: it cannot take over",
                          f"systemctl start {snap.config.keepalived.unit} on {node.name}.",
                          "keepalived-down", node.name)
            continue
        if node.vrrp is None:
            if node.keepalived is not None and node.keepalived.source == "unavailable" and active:
                yield Finding(OK, Layer.KEEPALIVED, f"keepalived state dump unavailable on {node.name} "
                              f"({node.keepalived.error}); relying on who holds the VIP",
                              "Build keepalived with JSON support or let hatui read the pid file.",
                              "keepalived-json-unavailable", node.name)
            continue
        if node.vrrp.state == VrrpState.MASTER:
            masters.append(node.name)
        elif node.vrrp.state == VrrpState.FAULT:
            yield Finding(WARN, Layer.KEEPALIVED, f"keepalived on {node.name} is in FAULT: it will not take over",
                          "A track script or the tracked interface is failing; see the keepalived journal.",
                          "keepalived-fault", node.name)
    if len(masters) == 2:
        yield Finding(CRIT, Layer.KEEPALIVED, "keepalived is MASTER on both nodes (VRRP split)",
                      "The nodes do not hear each other's adverts; check the VRRP path (protocol 112).",
                      "keepalived-master-both")


@rule
def drbd_roles(snap: ClusterSnapshot) -> Iterator[Finding]:
    up = _up(snap)
    for res in snap.config.drbd:
        name = res.resource
        primaries = [n.name for n in up if n.drbd_role(name) == Role.PRIMARY]
        for node in up:
            if node.drbd is not None and node.drbd.source in ("error",):
                yield Finding(WARN, Layer.DRBD, f"DRBD status on {node.name} could not be read: {node.drbd.error}",
                              "Run `drbdadm status` on the node by hand.", "drbd-unreadable", node.name)
            elif node.drbd is not None and node.resource(name) is None:
                yield Finding(CRIT, Layer.DRBD, f"DRBD resource {name} is not up on {node.name}",
                              f"`drbdadm up {name}` on {node.name} (check the backing disk first).",
                              "drbd-resource-down", node.name)
        if len(primaries) == 2:
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on BOTH nodes: data is diverging",
                          "Stop services on the node that does not hold the VIP and demote it; expect a "
                          "split brain to resolve (hatui resync split-brain).", "drbd-both-primary")
        elif not primaries and len(up) == 2 and all(n.resource(name) for n in up):
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on neither node: nothing can serve data",
                          "Promote the node with UpToDate data (hatui failover / failback).", "drbd-no-primary")
        for node in up:
            r = node.resource(name)
            if r is None or r.role != Role.PRIMARY:
                continue
            for dev in r.devices:
                if dev.disk is not None and dev.disk != DiskState.UPTODATE:
                    yield Finding(CRIT, Layer.DRBD, f"DRBD {name} on Primary {node.name} has disk {dev.disk}",
                                  "The active node is not serving from a good local disk; check the "
                                  "backing device and dmesg.", "primary-disk-bad", node.name)


@rule
def replication(snap: ClusterSnapshot) -> Iterator[Finding]:
    up = _up(snap)
    for res in snap.config.drbd:
        name = res.resource
        standalone = []
        for node in up:
            r = node.resource(name)
            if r is None:
                continue
            for conn in r.connections:
                peer = conn.peer or "peer"
                if conn.connection == ConnectionState.STANDALONE:
                    standalone.append(node.name)
                elif conn.connection is not None and conn.connection != ConnectionState.CONNECTED:
                    yield Finding(WARN, Layer.REPLICATION,
                                  f"DRBD {name} on {node.name} is {conn.connection} to {peer}: writes are "
                                  "not replicated", "Check the replication link; DRBD reconnects by itself "
                                  "once it is back.", "replication-down", node.name)
                for dev in conn.peer_devices:
                    yield from _peer_device_findings(node, name, peer, dev)
        if len(standalone) == 2 or (standalone and _both_were_primary(snap, name)):
            yield Finding(CRIT, Layer.REPLICATION, f"SPLIT BRAIN on DRBD {name}: both sides StandAlone after "
                          "diverging; neither is replicating", "Choose the node whose changes are discarded "
                          "(hatui resync split-brain), after checking what each side has.", "split-brain")
        elif standalone:
            yield Finding(CRIT, Layer.REPLICATION, f"DRBD {name} is StandAlone on {', '.join(standalone)}: "
                          "it will not reconnect by itself", f"`drbdadm connect {name}` on "
                          f"{standalone[0]} (hatui resync reconnect); if it drops again, it is a split brain.",
                          "standalone", standalone[0])


def _both_were_primary(snap: ClusterSnapshot, name: str) -> bool:
    return all(n.reachable and n.drbd_role(name) == Role.PRIMARY for n in snap.nodes)


def _peer_device_findings(node: NodeSnapshot, name: str, peer: str, dev) -> Iterator[Finding]:
    repl = dev.replication
    if repl is not None and getattr(repl, "is_syncing", False):
        pct = f"{dev.sync_percent:.1f}%" if dev.sync_percent is not None else "?%"
        eta = f", ETA {_duration(dev.eta_seconds)}" if dev.eta_seconds is not None else ""
        if repl in (ReplicationState.SYNC_SOURCE, ReplicationState.PAUSED_SYNC_S):
            direction = f"{node.name} → {peer}"
        else:
            direction = f"{peer} → {node.name}"
        yield Finding(WARN, Layer.REPLICATION, f"DRBD {name} resync {direction}: {pct} in sync{eta}",
                      "Wait for the sync to finish before any failover: the target is Inconsistent until then.",
                      "sync-in-progress", node.name)
        return
    if repl in (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T) and node.drbd_role(name) == Role.PRIMARY:
        yield Finding(OK, Layer.REPLICATION, f"DRBD {name} online verify running", "No action needed.",
                      "verify-running", node.name)
    if node.drbd_role(name) != Role.PRIMARY:
        return
    if dev.peer_disk in (DiskState.OUTDATED, DiskState.INCONSISTENT, DiskState.DISKLESS, DiskState.FAILED):
        yield Finding(WARN, Layer.REPLICATION, f"peer {peer} of {node.name} has DRBD {name} disk "
                      f"{dev.peer_disk}: a failover now would lose data",
                      "Resync the peer (hatui resync reconnect / full) before relying on it.",
                      "peer-disk-not-uptodate", node.name)


@rule
def filesystem(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node in _up(snap):
        for res in snap.config.drbd:
            role = node.drbd_role(res.resource)
            mounted = node.mounts.get(res.resource)
            if role == Role.PRIMARY and mounted is None and catalog.mount_section(res.resource) in node.sections:
                yield Finding(CRIT, Layer.MOUNT, f"{res.mount_point} is not mounted on Primary {node.name}",
                              f"mount {res.device} {res.mount_point} on {node.name}, then start the services.",
                              "fs-not-mounted", node.name)
            if role is not None and role != Role.PRIMARY and mounted is not None:
                yield Finding(CRIT, Layer.MOUNT, f"{res.mount_point} is mounted on {node.name}, which is "
                              f"DRBD {role}", "Unmount it: a Secondary cannot serve the replicated data.",
                              "fs-mounted-on-secondary", node.name)
            disk = node.disks.get(res.resource)
            if res.backing_disk and catalog.disk_section(res.resource) in node.sections and disk is None:
                yield Finding(CRIT, Layer.DISK, f"backing disk {res.backing_disk} not found on {node.name}",
                              "Check the disk (lsblk, dmesg).", "disk-missing", node.name)
            elif disk is not None and disk.read_only:
                yield Finding(CRIT, Layer.DISK, f"backing disk {res.backing_disk} is read-only on {node.name}",
                              "The kernel remounts failing disks read-only: check dmesg.", "disk-ro", node.name)


@rule
def services(snap: ClusterSnapshot) -> Iterator[Finding]:
    cfg = snap.config.services
    first = snap.config.drbd[0].resource
    for node in _up(snap):
        active = snap.is_active(node.name)
        nfs_up = _unit_active(node, cfg.nfs.unit)
        dag_up = _unit_active(node, cfg.dag_processor.unit)
        secondary = node.drbd_role(first) == Role.SECONDARY
        if active and nfs_up is False:
            yield Finding(CRIT, Layer.NFS, f"NFS server is down on active node {node.name}",
                          f"systemctl start {cfg.nfs.unit} on {node.name} (filesystem mounted first).",
                          "nfs-down-active", node.name)
        if active and dag_up is False:
            yield Finding(CRIT, Layer.DAG, f"DAG processor is down on active node {node.name}",
                          f"systemctl start {cfg.dag_processor.unit} on {node.name}; check its log.",
                          "dag-down-active", node.name)
        if secondary and nfs_up:
            yield Finding(CRIT, Layer.NFS, f"NFS server runs on {node.name}, which is DRBD Secondary: "
                          "it serves an empty mount point", f"systemctl stop {cfg.nfs.unit} on {node.name}.",
                          "nfs-on-secondary", node.name)
        if secondary and dag_up:
            yield Finding(WARN, Layer.DAG, f"DAG processor runs on {node.name}, which is DRBD Secondary",
                          f"systemctl stop {cfg.dag_processor.unit} on {node.name}.", "dag-on-secondary", node.name)
        if nfs_up and node.exports is not None and cfg.nfs.exports:
            have = {e.path for e in node.exports.exports}
            missing = [p for p in cfg.nfs.exports if p not in have]
            if missing:
                yield Finding(CRIT, Layer.NFS, f"NFS is up on {node.name} but not exporting {', '.join(missing)}",
                              "exportfs -ra on the node; check /etc/exports and that the filesystem is mounted.",
                              "exports-missing", node.name)
        health = node.dag_health
        if active and dag_up and health is not None and not health.ok:
            yield Finding(WARN, Layer.DAG, f"DAG processor health check failed on {node.name} (exit {health.rc})",
                          "The unit runs but the job is not heartbeating; check the processor's log.",
                          "dag-health-failed", node.name)


@rule
def foreign_cluster_stack(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node in _up(snap):
        if node.cluster_stack is not None and node.cluster_stack.processes:
            names = ", ".join(sorted({p.name for p in node.cluster_stack.processes}))
            yield Finding(WARN, Layer.CLUSTER, f"{names} running on {node.name}: this pair is managed by "
                          "keepalived, and two managers fight over the same resources",
                          "Stop and disable pacemaker/corosync on this node.", "pacemaker-present", node.name)


@rule
def clock_skew(snap: ClusterSnapshot) -> Iterator[Finding]:
    clocks = [n.clock for n in snap.nodes if n.reachable and n.clock is not None]
    if len(clocks) == 2 and abs(clocks[0] - clocks[1]) > CLOCK_SKEW_LIMIT:
        yield Finding(WARN, Layer.CLUSTER, f"node clocks differ by {abs(clocks[0] - clocks[1]):.1f}s: "
                      "timelines across nodes will be off", "Check NTP/chrony on both nodes.", "clock-skew")




def evaluate(snap: ClusterSnapshot) -> tuple[tuple[Finding, ...], Severity]:
    """Run every rule; return findings (worst first) and the verdict."""
    findings = [f for r in RULES for f in r(snap)]
    findings.sort(key=lambda f: -severity_rank(f.severity))
    if not any(n.reachable for n in snap.nodes):
        return tuple(findings), Severity.UNKNOWN
    worst = max((severity_rank(f.severity) for f in findings), default=0)
    verdict = {0: Severity.OK, 1: Severity.WARNING, 2: Severity.CRITICAL}[min(worst, 2)]
    return tuple(findings), verdict
