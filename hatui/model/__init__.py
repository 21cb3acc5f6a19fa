"""The cluster model: an immutable snapshot of both nodes, layer by layer.

A :class:`NodeSnapshot` holds what one poll learned about one node (parsed
records plus the raw section text each came from); a :class:`ClusterSnapshot`
holds both nodes, the health findings and the verdict. Both ``hatui status``
and the console render from these and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from hatui.config import Config
from hatui.errors import FailureKind
from hatui.probes.records import (
    BlockDevice,
    DrbdReport,
    DrbdResource,
    ExportsReport,
    IpReport,
    KeepalivedReport,
    Mount,
    ProcessReport,
    UnitStatus,
    VrrpInstance,
)
from hatui.probes.journal import JournalEntry
from hatui.probes.script import Section
from hatui.states import Severity

if TYPE_CHECKING:
    from hatui.model.facts import PairFacts


class Layer(StrEnum):
    """The seed's stack, top to bottom."""

    VIP = "Virtual IP"
    KEEPALIVED = "Keepalived"
    NFS = "NFS server"
    DAG = "DAG processor"
    MOUNT = "Filesystem"
    DRBD = "DRBD"
    REPLICATION = "Replication"
    DISK = "Physical disk"
    NODE = "Node"
    CLUSTER = "Cluster"


STACK_ORDER = (
    Layer.VIP, Layer.KEEPALIVED, Layer.NFS, Layer.DAG, Layer.MOUNT, Layer.DRBD, Layer.REPLICATION, Layer.DISK,
)


class Act(StrEnum):
    """What a hint asks the operator to do, when it is one of the moves that can
    put two nodes on diverged data. :func:`hatui.health.evaluate` never lets
    such a hint through unless the facts say it is safe (see README, "No
    harmful advice")."""

    MOUNT = "mount"
    START_SERVICES = "start services"
    PROMOTE = "promote"
    START_KEEPALIVED = "start keepalived"  # arms the node kit: it may take over


@dataclass(frozen=True)
class Finding:
    """One health rule's verdict: what is wrong, where, and what to do next.

    Findings form a tree: a root cause (``root``) and the findings it explains
    (``caused_by`` holds the root's code). :func:`hatui.health.evaluate` fills
    both; rules only say what they see.
    """

    severity: Severity
    layer: Layer
    message: str
    hint: str
    code: str  # stable identifier, e.g. "vip-on-both"
    node: str | None = None
    acts: Act | None = None  # the hint mounts, starts services or promotes on ``node``
    root: bool = True
    caused_by: str | None = None


@dataclass(frozen=True)
class NodeSnapshot:
    """Everything one poll learned about one node."""

    name: str
    reachable: bool
    polled_at: float  # wall clock (epoch seconds) when the poll finished
    latency: float | None = None  # seconds for the whole batched exec
    error: str | None = None  # why the node is unreachable
    unreachable_since: float | None = None
    last_seen: float | None = None  # last successful poll
    sections: dict[str, Section] = field(default_factory=dict)
    drbd: DrbdReport | None = None
    ip: IpReport | None = None
    vip_interfaces: tuple[str, ...] = ()  # interfaces holding the VIP
    keepalived: KeepalivedReport | None = None
    vrrp: VrrpInstance | None = None  # the configured instance, if found
    units: dict[str, UnitStatus] = field(default_factory=dict)
    exports: ExportsReport | None = None
    mounts: dict[str, Mount | None] = field(default_factory=dict)  # per DRBD resource
    disks: dict[str, BlockDevice | None] = field(default_factory=dict)  # per DRBD resource
    cluster_stack: ProcessReport | None = None
    clock: float | None = None  # the node's own clock at poll time
    dag_health: Section | None = None
    journal: tuple[JournalEntry, ...] = ()  # the node kit's automatic steps, oldest first
    failure: FailureKind | None = None  # why the node could not be asked (None: unclassified)
    error_hint: str | None = None  # the transport's next step for that failure
    last_known: NodeSnapshot | None = None  # the last answer of a node that no longer answers
    # Sections whose layer is unknown, and why: "not reported" (no output at all) or
    # "could not be read: …" (output hatui could not parse). Neither means healthy or broken.
    unread: dict[str, str] = field(default_factory=dict)
    fencing: dict[str, str] = field(default_factory=dict)  # resource → fencing policy (absent: unknown)

    @property
    def answered(self) -> bool:
        """The node answered this poll (its data is known)."""
        return self.reachable

    @property
    def unreachable(self) -> bool:
        """Not answering (power, network, sshd, a hang) — as opposed to hatui not being
        able to ask it (host key, authentication, name): both leave its state unknown."""
        return not self.reachable and (self.failure is None or self.failure.unreachable)

    @property
    def holds_vip(self) -> bool:
        return bool(self.vip_interfaces)

    def resource(self, name: str) -> DrbdResource | None:
        if self.drbd is None:
            return None
        for res in self.drbd.resources:
            if res.name == name:
                return res
        return None

    def drbd_role(self, name: str) -> object:
        res = self.resource(name)
        return None if res is None else res.role

    def unit(self, unit: str) -> UnitStatus | None:
        return self.units.get(unit)


@dataclass(frozen=True)
class ClusterSnapshot:
    """Both nodes at one moment, with findings and the overall verdict."""

    config: Config
    nodes: tuple[NodeSnapshot, NodeSnapshot]
    taken_at: float
    findings: tuple[Finding, ...] = ()
    verdict: Severity = Severity.UNKNOWN

    def node(self, name: str) -> NodeSnapshot:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def peer_of(self, name: str) -> NodeSnapshot:
        return self.nodes[1] if self.nodes[0].name == name else self.nodes[0]

    @cached_property
    def facts(self) -> PairFacts:
        """Every fact about the pair, derived once (see :mod:`hatui.model.facts`)."""
        from hatui.model.facts import derive_facts

        return derive_facts(self)

    @property
    def vip_holders(self) -> tuple[str, ...]:
        """Nodes known to hold the VIP (a node whose addresses are unknown is not listed)."""
        return self.facts.vip_holders

    def is_active(self, name: str) -> bool:
        """The active node is the DRBD Primary that answers, not whoever holds the VIP."""
        return name in self.facts.active

    @property
    def active_nodes(self) -> tuple[str, ...]:
        return self.facts.active
