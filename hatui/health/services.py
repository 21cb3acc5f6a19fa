"""Rules about each node's own stack: mounts, disks, services, foreign cluster managers, clocks."""

from __future__ import annotations

from collections.abc import Iterator

from hatui.model.facts import unit_running
from hatui.health.registry import CRIT, WARN, rule, up
from hatui.model import Act, ClusterSnapshot, Finding, Layer
from hatui.probes import catalog
from hatui.states import Role

CLOCK_SKEW_LIMIT = 2.0


@rule
def filesystem(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    for node in up(snap):
        for res in snap.config.drbd:
            role = facts.resources[res.resource].roles.get(node.name)
            mounted = node.mounts.get(res.resource)
            section = catalog.mount_section(res.resource)
            mount_known = section in node.sections and section not in node.unread
            if role == Role.PRIMARY and mounted is None and mount_known:
                yield Finding(CRIT, Layer.MOUNT, f"{res.mount_point} is not mounted on Primary {node.name}",
                              f"mount {res.device} {res.mount_point} on {node.name}, then start the services.",
                              "fs-not-mounted", node.name, acts=Act.MOUNT)
            if role is not None and role != Role.PRIMARY and mounted is not None:
                yield Finding(CRIT, Layer.MOUNT, f"{res.mount_point} is mounted on {node.name}, which is "
                              f"DRBD {role}", "Unmount it: a Secondary cannot serve the replicated data.",
                              "fs-mounted-on-secondary", node.name)
            disk = node.disks.get(res.resource)
            dsection = catalog.disk_section(res.resource)
            if res.backing_disk and dsection in node.sections and dsection not in node.unread and disk is None:
                yield Finding(CRIT, Layer.DISK, f"backing disk {res.backing_disk} not found on {node.name}",
                              "Check the disk (lsblk, dmesg).", "disk-missing", node.name)
            elif disk is not None and disk.read_only:
                yield Finding(CRIT, Layer.DISK, f"backing disk {res.backing_disk} is read-only on {node.name}",
                              "The kernel remounts failing disks read-only: check dmesg.", "disk-ro", node.name)


@rule
def services(snap: ClusterSnapshot) -> Iterator[Finding]:
    cfg = snap.config.services
    facts = snap.facts
    for node in up(snap):
        active = node.name in facts.active
        nfs_up = unit_running(node, cfg.nfs.unit)
        dag_up = unit_running(node, cfg.dag_processor.unit)
        secondary = facts.main.roles.get(node.name) == Role.SECONDARY
        if active and nfs_up is False:
            yield Finding(CRIT, Layer.NFS, f"NFS server is down on active node {node.name} (DRBD Primary)",
                          f"systemctl start {cfg.nfs.unit} on {node.name} (filesystem mounted first).",
                          "nfs-down-active", node.name, acts=Act.START_SERVICES)
        if active and dag_up is False:
            yield Finding(CRIT, Layer.DAG, f"DAG processor is down on active node {node.name} (DRBD Primary)",
                          f"systemctl start {cfg.dag_processor.unit} on {node.name}; check its log.",
                          "dag-down-active", node.name, acts=Act.START_SERVICES)
        if secondary and nfs_up:
            yield Finding(CRIT, Layer.NFS, f"NFS server runs on {node.name}, which is DRBD Secondary: "
                          "it serves an empty mount point", f"systemctl stop {cfg.nfs.unit} on {node.name}.",
                          "nfs-on-secondary", node.name)
        if secondary and dag_up:
            yield Finding(WARN, Layer.DAG, f"DAG processor runs on {node.name}, which is DRBD Secondary",
                          f"systemctl stop {cfg.dag_processor.unit} on {node.name}.", "dag-on-secondary", node.name)
        if nfs_up and node.exports is not None and not node.exports.error and cfg.nfs.exports:
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
    for node in up(snap):
        if node.cluster_stack is not None and node.cluster_stack.processes:
            names = ", ".join(sorted({p.name for p in node.cluster_stack.processes}))
            yield Finding(WARN, Layer.CLUSTER, f"{names} running on {node.name}: this pair is managed by "
                          "keepalived, and two managers fight over the same resources",
                          "Stop and disable pacemaker/corosync on this node.", "pacemaker-present", node.name)


@rule
def clock_skew(snap: ClusterSnapshot) -> Iterator[Finding]:
    # Each node's clock minus the moment hatui received it: nodes polled at different
    # moments (one slow, one fresh) are compared fairly.
    offsets = [n.clock - n.polled_at for n in snap.nodes if n.reachable and n.clock is not None]
    if len(offsets) == 2 and abs(offsets[0] - offsets[1]) > CLOCK_SKEW_LIMIT:
        yield Finding(WARN, Layer.CLUSTER, f"node clocks differ by {abs(offsets[0] - offsets[1]):.1f}s: "
                      "timelines across nodes will be off", "Check NTP/chrony on both nodes.", "clock-skew")
