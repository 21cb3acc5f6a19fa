"""Facts about the pair, derived once from a snapshot and read by everything else.

Health rules, layer cells, the JSON document, the header and the guards all
ask the same questions: who is DRBD Primary, who holds the VIP, who serves,
which node is known and which is not, is a resync running and which way. When
each answered them on its own they drifted apart (the sync direction was
named both ways in one WFBitMapS screen). Here each is answered once.

Three-valued on purpose: a fact about a node hatui could not ask is ``None``
(unknown), never False. "VIP on neither" is only a fact when both nodes
answered; with one node unknown the honest answer is "vm12 does not hold it,
vm2 unknown". The DRBD peer's own view fills some gaps: a node that does not
answer SSH but that its peer sees Connected and Primary is alive at the DRBD
level and still Primary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hatui.probes import catalog
from hatui.states import ConnectionState, DiskState, Role, UnitActiveState, VrrpState, is_syncing, sync_side

if TYPE_CHECKING:
    from hatui.config import Config
    from hatui.model.node import NodeSnapshot


class PairView(Protocol):
    """What the facts are derived from: both nodes of one poll (:class:`hatui.model.ClusterSnapshot`
    satisfies it; declared here so the facts need nothing above the node records)."""

    config: Config
    nodes: tuple[NodeSnapshot, NodeSnapshot]

    def node(self, name: str) -> NodeSnapshot: ...  # noqa: E704

    def peer_of(self, name: str) -> NodeSnapshot: ...  # noqa: E704

RUNNING = (UnitActiveState.ACTIVE, UnitActiveState.RELOADING)


def unit_running(node: NodeSnapshot, unit: str) -> bool | None:
    """True/False as systemd reports it; None when the node or the unit was not reported."""
    if not node.reachable:
        return None
    status = node.unit(unit)
    if status is None or status.active is None:
        return None
    return status.active in RUNNING


@dataclass(frozen=True)
class Resync:
    """A running resync of one resource, named once: from ``source`` to ``target``."""

    resource: str
    source: str
    target: str
    state: str  # the replication word as the reporting node said it
    percent: float | None
    eta_seconds: float | None
    out_of_sync_kib: int | None


@dataclass(frozen=True)
class ResourceFacts:
    """One DRBD resource across the pair."""

    name: str
    roles: dict[str, object]  # node → Role (or UnknownState); None = not known
    primaries: tuple[str, ...]  # nodes known to be Primary (by themselves or by their peer)
    unknown: tuple[str, ...]  # nodes whose role is not known
    connected: bool | None  # the replication link, from whichever side answered
    standalone: tuple[str, ...]  # nodes whose connection is StandAlone (will not reconnect)
    resync: Resync | None
    peer_disks: dict[str, object]  # node → the disk state its peer reports for it
    fencing: dict[str, str]  # node → fencing policy its DRBD runs (absent: not known)
    suspended: dict[str, str]  # node → why its I/O is suspended ("fencing", "user", …, "unknown reason")
    exposed: dict[str, int | None]  # Primary → KiB its unreachable peer lacks: the data-loss window
    disks: dict[str, object]  # node → its own disk state (answered nodes)

    @property
    def both_primary(self) -> bool:
        return len(self.primaries) == 2

    @property
    def policy(self) -> str | None:
        """The fencing policy (the Primary's if the nodes differ; None when unknown)."""
        for node in (*self.primaries, *self.fencing):
            if node in self.fencing:
                return self.fencing[node]
        return None

    @property
    def may_have_other_primary(self) -> bool:
        """A Primary elsewhere cannot be ruled out (a node's role is unknown)."""
        return bool(self.unknown)


@dataclass(frozen=True)
class PairFacts:
    """The facts of one snapshot."""

    answered: tuple[str, ...]  # nodes that answered this poll
    unknown_nodes: tuple[str, ...]  # nodes hatui could not ask (any reason)
    unreachable: tuple[str, ...]  # of those, the ones that are not answering
    vip: dict[str, bool | None]  # node → holds the VIP (None: unknown)
    vrrp_master: dict[str, bool | None]
    resources: dict[str, ResourceFacts]
    first: str  # the first (main) resource
    active: tuple[str, ...]  # DRBD Primary of the main resource and answering
    serving: dict[str, bool | None]  # mounted and NFS running (None: unknown)
    split_brain: bool
    vrrp_split: bool

    @property
    def vip_holders(self) -> tuple[str, ...]:
        return tuple(n for n, held in self.vip.items() if held)

    @property
    def vip_unknown(self) -> tuple[str, ...]:
        return tuple(n for n, held in self.vip.items() if held is None)

    @property
    def main(self) -> ResourceFacts:
        return self.resources[self.first]

    def takeover_safe(self, node: str) -> tuple[bool | None, str]:
        """Could ``node`` (the standby) take over now without losing an acknowledged write? (yes/no/unknown, why)"""
        if node in self.unknown_nodes:
            return None, "its state is unknown"
        for res in self.resources.values():
            disk = res.disks.get(node) or res.peer_disks.get(node)
            own = res.roles.get(node)
            if own == Role.PRIMARY:
                return None, "it is the Primary"
            if disk in (DiskState.OUTDATED, DiskState.INCONSISTENT, DiskState.DISKLESS, DiskState.FAILED):
                return False, f"its disk of {res.name} is {disk}"
            if res.resync is not None and res.resync.target == node:
                return False, f"resync of {res.name} to it unfinished"
            if res.exposed:
                primary = next(iter(res.exposed))
                return False, f"{primary} acknowledged writes {node} never got (link down, {node} not outdated)"
            if res.connected is False:
                if any(r == "fencing" for r in res.suspended.values()):
                    return True, "no write was acknowledged since the link broke (I/O frozen by fencing)"
                if res.policy == "resource-and-stonith":
                    return True, "fencing would have outdated it before any write went unreplicated"
                return None, f"replication of {res.name} is down and fencing is {res.policy or 'unknown'}"
            if res.connected is None:
                return None, f"replication state of {res.name} unknown"
        return True, "connected and UpToDate"

    def unsafe_to_arm(self, node: str) -> str | None:
        """Why starting keepalived on ``node`` (which lets the node kit take over) is unsafe now.

        The kit refuses to promote while its DRBD peer is Primary, so a known Primary
        elsewhere is no reason; a node hatui cannot see, or a pair already split, is.
        """
        if self.unknown_nodes:
            return f"the state of {', '.join(self.unknown_nodes)} is unknown"
        if self.split_brain or any(r.both_primary for r in self.resources.values()):
            return "the DRBD data has split (split brain)"
        if self.vrrp_split:
            return "keepalived is split (both nodes MASTER)"
        return None

    def unsafe_to_serve(self, node: str) -> str | None:
        """Why mounting, starting services or promoting on ``node`` could put two
        nodes on diverged data now; None when it cannot. The one gate for every hint."""
        other = next((n for n in self.vip if n != node), None)
        reason = self.unsafe_to_arm(node)
        if reason is not None:
            return reason
        for res in self.resources.values():
            if any(p != node for p in res.primaries):
                return f"{other} is DRBD Primary of {res.name}"
            if res.may_have_other_primary:
                return f"{other} may be DRBD Primary of {res.name} (its state is unknown)"
        return None


def _peer_view(snap: PairView, node: NodeSnapshot, resource: str):
    """The connection of ``node``'s peer towards ``node`` (the peer's view of it), if the peer answered."""
    peer = snap.peer_of(node.name)
    if not peer.reachable:
        return None
    res = peer.resource(resource)
    if res is None:
        return None
    for conn in res.connections:
        if conn.peer in (node.name, ""):
            return conn
    return res.connections[0] if len(res.connections) == 1 else None


def _role(snap: PairView, node: NodeSnapshot, resource: str) -> object:
    if node.reachable and node.drbd is not None and node.drbd.source != "error":
        res = node.resource(resource)
        return None if res is None else res.role
    # Not answering: the peer's DRBD may still see it (Connected → its role is current).
    conn = _peer_view(snap, node, resource)
    if conn is not None and conn.connection == ConnectionState.CONNECTED and conn.peer_role in (
            Role.PRIMARY, Role.SECONDARY):
        return conn.peer_role
    return None


def _data_safety(snap: PairView, name: str) -> tuple[dict[str, str], dict[str, str], dict[str, int | None]]:
    """Fencing policy and suspended I/O per node; and each Primary acknowledging writes its peer
    does not get while nothing outdated the peer (the window in which a crash loses them)."""
    fencing: dict[str, str] = {}
    suspended: dict[str, str] = {}
    exposed: dict[str, int | None] = {}
    for node in snap.nodes:
        if not node.reachable:
            continue
        if name in node.fencing:
            fencing[node.name] = node.fencing[name]
        res = node.resource(name)
        if res is None:
            continue
        connected = any(c.connection == ConnectionState.CONNECTED for c in res.connections)
        if res.suspended:
            inferred = "fencing" if fencing.get(node.name) == "resource-and-stonith" and not connected else None
            suspended[node.name] = res.suspended_reason or inferred or "reason not reported"
            continue
        if res.role != Role.PRIMARY or connected or not res.connections:
            continue
        devs = [d for c in res.connections for d in c.peer_devices]
        if any(d.peer_disk in (DiskState.OUTDATED, DiskState.INCONSISTENT, DiskState.FAILED, DiskState.DISKLESS)
               for d in devs):
            continue  # the peer was outdated (fenced) or cannot take over anyway
        known = [d.out_of_sync_kib for d in devs if d.out_of_sync_kib is not None]
        exposed[node.name] = sum(known) if known else None
    return fencing, suspended, exposed


def _resource_facts(snap: PairView, name: str) -> ResourceFacts:
    roles = {n.name: _role(snap, n, name) for n in snap.nodes}
    primaries = tuple(n for n, r in roles.items() if r == Role.PRIMARY)
    unknown = tuple(n for n, r in roles.items() if r is None or r == Role.UNKNOWN)
    connected: bool | None = None
    standalone: list[str] = []
    resync: Resync | None = None
    peer_disks: dict[str, object] = {}
    for node in snap.nodes:
        if not node.reachable:
            continue
        res = node.resource(name)
        if res is None:
            continue
        peer = snap.peer_of(node.name).name
        for conn in res.connections:
            if conn.connection == ConnectionState.STANDALONE:
                standalone.append(node.name)
            if conn.connection is not None:
                up = conn.connection == ConnectionState.CONNECTED
                connected = up if connected is None else (connected and up)
            for dev in conn.peer_devices:
                if dev.peer_disk is not None:
                    peer_disks.setdefault(peer, dev.peer_disk)
                side = sync_side(dev.replication)
                if resync is None and is_syncing(dev.replication) and side is not None:
                    source, target = (node.name, peer) if side == "source" else (peer, node.name)
                    resync = Resync(name, source, target, str(dev.replication), dev.sync_percent,
                                    dev.eta_seconds, dev.out_of_sync_kib)
    fencing, suspended, exposed = _data_safety(snap, name)
    disks = {}
    for node in snap.nodes:
        res = node.resource(name) if node.reachable else None
        if res is not None and res.devices and res.devices[0].disk is not None:
            worst = [d.disk for d in res.devices if d.disk != DiskState.UPTODATE]
            disks[node.name] = worst[0] if worst else DiskState.UPTODATE
    return ResourceFacts(name, roles, primaries, unknown, connected, tuple(standalone), resync, peer_disks,
                         fencing, suspended, exposed, disks)


def _split_brain(snap: PairView, resources: dict[str, ResourceFacts]) -> bool:
    """StandAlone after diverging: both StandAlone, or StandAlone while both are Primary."""
    for res in resources.values():
        if len(res.standalone) == 2 or (res.standalone and res.both_primary):
            return True
    return False


def derive_facts(snap: PairView) -> PairFacts:
    """All facts of ``snap``; pure, cheap, cached on the snapshot."""
    cfg = snap.config
    answered = tuple(n.name for n in snap.nodes if n.reachable)
    unknown_nodes = tuple(n.name for n in snap.nodes if not n.reachable)
    unreachable = tuple(n.name for n in snap.nodes if n.unreachable)
    vip: dict[str, bool | None] = {}
    master: dict[str, bool | None] = {}
    for node in snap.nodes:
        vip[node.name] = node.holds_vip if node.reachable and node.ip is not None and not node.ip.error else None
        if node.reachable and node.vrrp is not None and node.vrrp.state is not None:
            master[node.name] = node.vrrp.state == VrrpState.MASTER
        elif node.reachable and unit_running(node, cfg.keepalived.unit) is False:
            master[node.name] = False
        else:
            master[node.name] = None
    resources = {r.resource: _resource_facts(snap, r.resource) for r in cfg.drbd}
    first = cfg.drbd[0].resource
    active = tuple(n for n in answered if resources[first].roles.get(n) == Role.PRIMARY)
    serving: dict[str, bool | None] = {}
    for node in snap.nodes:
        mounted = node.mounts.get(first) is not None if _mount_known(node, first) else None
        nfs = unit_running(node, cfg.services.nfs.unit)
        serving[node.name] = None if mounted is None or nfs is None else (mounted and nfs)
    vrrp_split = all(vip.values()) or all(master.values())
    return PairFacts(
        answered=answered, unknown_nodes=unknown_nodes, unreachable=unreachable, vip=vip, vrrp_master=master,
        resources=resources, first=first, active=active, serving=serving,
        split_brain=_split_brain(snap, resources), vrrp_split=vrrp_split,
    )


def _mount_known(node: NodeSnapshot, resource: str) -> bool:
    return node.reachable and catalog.mount_section(resource) in node.sections


def peer_disk_bad(value: object) -> bool:
    """A peer disk that cannot take over without losing data."""
    return value in (DiskState.OUTDATED, DiskState.INCONSISTENT, DiskState.DISKLESS, DiskState.FAILED)
