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

from hatui.config import Config
from hatui.model.facts import PairFacts, derive_facts
from hatui.model.node import NodeSnapshot
from hatui.states import Severity

__all__ = ["Act", "ClusterSnapshot", "Finding", "Layer", "NodeSnapshot", "STACK_ORDER"]


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
