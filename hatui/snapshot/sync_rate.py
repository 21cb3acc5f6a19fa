"""Sync speed and ETA from two successive snapshots.

DRBD 9's status reports how much is still out of sync but not how fast it
shrinks (only /proc/drbd on 8.4 prints ``speed`` and ``finish``). The poller
has the previous snapshot, so the rate is the drop in out-of-sync KiB (or,
failing that, the rise in percent) over the time between the two polls.
"""

from __future__ import annotations

import dataclasses

from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.probes.records import DrbdPeerDevice, DrbdResource
from hatui.states import is_syncing


def _peer_device(node: NodeSnapshot | None, resource: str, peer: str, volume: int) -> DrbdPeerDevice | None:
    if node is None or not node.reachable:
        return None
    res = node.resource(resource)
    if res is None:
        return None
    for conn in res.connections:
        if conn.peer == peer:
            for dev in conn.peer_devices:
                if dev.volume == volume:
                    return dev
    return None


def _rated(dev: DrbdPeerDevice, before: DrbdPeerDevice | None, dt: float, size_kib: int | None) -> DrbdPeerDevice:
    if dev.speed_kib_s is not None or before is None or dt <= 0:
        return dev
    speed = None
    if dev.out_of_sync_kib is not None and before.out_of_sync_kib is not None:
        speed = (before.out_of_sync_kib - dev.out_of_sync_kib) / dt
    elif dev.sync_percent is not None and before.sync_percent is not None and size_kib:
        speed = (dev.sync_percent - before.sync_percent) / 100 * size_kib / dt
    if speed is None or speed <= 0:
        return dev
    remaining = dev.out_of_sync_kib
    if remaining is None and dev.sync_percent is not None and size_kib:
        remaining = (100 - dev.sync_percent) / 100 * size_kib
    eta = remaining / speed if remaining is not None and dev.eta_seconds is None else dev.eta_seconds
    return dataclasses.replace(dev, speed_kib_s=speed, eta_seconds=eta)


def _resource_rated(res: DrbdResource, prev_node: NodeSnapshot | None, dt: float) -> DrbdResource:
    size = next((d.size_kib for d in res.devices if d.size_kib), None)
    conns = []
    for conn in res.connections:
        devs = tuple(
            _rated(dev, _peer_device(prev_node, res.name, conn.peer, dev.volume), dt, size)
            if is_syncing(dev.replication)
            else dev
            for dev in conn.peer_devices
        )
        conns.append(dataclasses.replace(conn, peer_devices=devs))
    return dataclasses.replace(res, connections=tuple(conns))


def rate_node(node: NodeSnapshot, prev_node: NodeSnapshot | None) -> NodeSnapshot:
    """``node`` with speed and ETA of its syncing peer devices, from the node's previous answer."""
    if not node.reachable or node.drbd is None or prev_node is None:
        return node
    dt = node.polled_at - prev_node.polled_at
    resources = tuple(_resource_rated(r, prev_node, dt) for r in node.drbd.resources)
    return dataclasses.replace(node, drbd=dataclasses.replace(node.drbd, resources=resources))


def with_sync_rates(snapshot: ClusterSnapshot, previous: ClusterSnapshot | None) -> ClusterSnapshot:
    """Fill in speed and ETA of syncing peer devices from the previous snapshot."""
    if previous is None:
        return snapshot
    nodes = [rate_node(n, next((p for p in previous.nodes if p.name == n.name), None)) for n in snapshot.nodes]
    return dataclasses.replace(snapshot, nodes=(nodes[0], nodes[1]))
