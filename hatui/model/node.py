"""One node's part of the model: everything one poll learned about one node."""

from __future__ import annotations

from dataclasses import dataclass, field

from hatui.errors import FailureKind
from hatui.probes.journal import JournalEntry
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
from hatui.probes.script import Section


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
    # Per live source ("drbd", "journal"): "on", "starting" or "off: why" (empty: streams not used).
    streams: dict[str, str] = field(default_factory=dict)

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
