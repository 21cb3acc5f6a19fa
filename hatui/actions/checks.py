"""Effect checks: named predicates over a fresh :class:`ClusterSnapshot`.

A step's command exiting 0 proves little (``systemctl start`` returns before a
unit is up; keepalived moves the VIP on its own schedule), so every step says
what the cluster must look like afterwards, and the runner polls until it does.
A check never raises: a node that could not be polled makes it false.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.probes.records import DrbdPeerDevice
from hatui.states import (
    ConnectionState,
    DiskState,
    ReplicationState,
    Role,
    UnitActiveState,
    is_syncing,
)

_RUNNING = (UnitActiveState.ACTIVE, UnitActiveState.RELOADING)
_STOPPED = (UnitActiveState.INACTIVE, UnitActiveState.FAILED)


@dataclass(frozen=True)
class Check:
    """A predicate with the sentence an operator reads when it does not hold."""

    text: str
    fn: Callable[[ClusterSnapshot], bool]

    def __call__(self, snap: ClusterSnapshot) -> bool:
        try:
            return bool(self.fn(snap))
        except (KeyError, AttributeError, IndexError, TypeError):
            return False  # a snapshot missing a section is "not yet", never a crash

    def __and__(self, other: Check) -> Check:
        return Check(f"{self.text}; {other.text}", lambda s: self(s) and other(s))


def _up(snap: ClusterSnapshot, node: str) -> NodeSnapshot | None:
    n = snap.node(node)
    return n if n.reachable else None


def unit_active(node: str, unit: str) -> Check:
    """``unit`` is active (or reloading) on ``node``."""
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        st = n.unit(unit) if n else None
        return st is not None and st.active in _RUNNING
    return Check(f"{unit} active on {node}", fn)


def unit_stopped(node: str, unit: str) -> Check:
    """``unit`` is inactive or failed on ``node`` (an unknown state does not count)."""
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        st = n.unit(unit) if n else None
        return st is not None and st.active in _STOPPED
    return Check(f"{unit} inactive on {node}", fn)


def mounted(node: str, resource: str, mount_point: str, want: bool = True) -> Check:
    """The resource's mount point is (or is not) mounted on ``node``."""
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        if n is None or resource not in n.mounts:
            return False
        return (n.mounts[resource] is not None) == want
    return Check(f"{mount_point} {'mounted' if want else 'not mounted'} on {node}", fn)


def role(node: str, resource: str, want: Role) -> Check:
    """DRBD ``resource`` has role ``want`` on ``node``."""
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        return n is not None and n.drbd_role(resource) == want
    return Check(f"DRBD {resource} {want} on {node}", fn)


def exports_present(node: str, exports: tuple[str, ...]) -> Check:
    """Every configured export is listed by ``exportfs -v`` on ``node``."""
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        if n is None or n.exports is None:
            return False
        have = {e.path for e in n.exports.exports}
        return all(p in have for p in exports)
    return Check(f"exports {', '.join(exports)} present on {node}", fn)


def vip_only_on(node: str) -> Check:
    """Both nodes answered and only ``node`` holds the VIP."""
    def fn(s: ClusterSnapshot) -> bool:
        return all(n.reachable for n in s.nodes) and s.vip_holders == (node,)
    return Check(f"VIP only on {node}", fn)


def peer_devices(node: NodeSnapshot, resource: str) -> list[DrbdPeerDevice]:
    """All peer devices of ``resource`` as ``node`` sees them."""
    res = node.resource(resource)
    if res is None:
        return []
    return [d for c in res.connections for d in c.peer_devices]


def connection_state(node: NodeSnapshot, resource: str) -> object:
    """The (first) connection state of ``resource`` on ``node``, None if not reported."""
    res = node.resource(resource)
    if res is None or not res.connections:
        return ConnectionState.STANDALONE if res is not None else None
    return res.connections[0].connection


def local_disk(node: NodeSnapshot, resource: str) -> object:
    res = node.resource(resource)
    return res.devices[0].disk if res is not None and res.devices else None


def in_sync(resource: str, nodes: tuple[str, ...]) -> Check:
    """Connected, Established, UpToDate on both sides with nothing out of sync."""
    def fn(s: ClusterSnapshot) -> bool:
        for name in nodes:
            n = _up(s, name)
            if n is None or connection_state(n, resource) != ConnectionState.CONNECTED:
                return False
            if local_disk(n, resource) != DiskState.UPTODATE:
                return False
            devs = peer_devices(n, resource)
            if not devs:
                return False
            for d in devs:
                if d.replication != ReplicationState.ESTABLISHED or d.peer_disk != DiskState.UPTODATE:
                    return False
                if d.out_of_sync_kib:
                    return False
        return True
    return Check(f"DRBD {resource} Connected/Established/UpToDate on both", fn)


def connected(resource: str, nodes: tuple[str, ...]) -> Check:
    """Both sides report the resource Connected (a resync may still run)."""
    def fn(s: ClusterSnapshot) -> bool:
        return all((n := _up(s, x)) is not None and connection_state(n, resource) == ConnectionState.CONNECTED
                   for x in nodes)
    return Check(f"DRBD {resource} Connected on both", fn)


def connection_is(node: str, resource: str, wanted: tuple[ConnectionState, ...], text: str) -> Check:
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        return n is not None and connection_state(n, resource) in wanted
    return Check(f"DRBD {resource} {text} on {node}", fn)


def not_standalone(node: str, resource: str) -> Check:
    """``node`` is trying to connect (or connected): not StandAlone any more."""
    def fn(s: ClusterSnapshot) -> bool:
        n = _up(s, node)
        state = connection_state(n, resource) if n else None
        return state is not None and state != ConnectionState.STANDALONE
    return Check(f"DRBD {resource} not StandAlone on {node}", fn)


def syncing_or_verifying(resource: str, nodes: tuple[str, ...], kinds: tuple[ReplicationState, ...]) -> Check:
    """A resync/verify of ``resource`` has started (or the target turned Inconsistent)."""
    def fn(s: ClusterSnapshot) -> bool:
        for name in nodes:
            n = _up(s, name)
            if n is None:
                continue
            if any(d.replication in kinds for d in peer_devices(n, resource)):
                return True
        return False
    return Check(f"DRBD {resource} {'/'.join(str(k) for k in kinds)} started", fn)


def progress(snap: ClusterSnapshot, resource: str) -> tuple[float | None, float | None]:
    """(percent in sync, ETA seconds) of a running resync/verify, from either side."""
    best: tuple[float | None, float | None] = (None, None)
    for n in snap.nodes:
        if not n.reachable:
            continue
        for d in peer_devices(n, resource):
            syncing = is_syncing(d.replication)
            verifying = d.replication in (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T)
            # prefer a side that also reports an ETA
            if (syncing or verifying) and d.sync_percent is not None and (best[0] is None or d.eta_seconds):
                best = (d.sync_percent, d.eta_seconds)
    return best


def always_true(text: str) -> Check:
    return Check(text, lambda s: True)
