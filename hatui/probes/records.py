"""What the parsers return: plain, immutable records with no behaviour.

Every state field holds a member of an enum from :mod:`hatui.states` or an
:class:`~hatui.states.UnknownState` with the raw word; ``None`` means the
source did not report the field at all. Parsers never raise: a record whose
input could not be read carries ``error`` (one line saying why).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hatui.states import (
    ConnectionState,
    DiskState,
    ReplicationState,
    Role,
    UnitActiveState,
    UnknownState,
    VrrpState,
)

RoleValue = Role | UnknownState
DiskValue = DiskState | UnknownState
ConnValue = ConnectionState | UnknownState
ReplValue = ReplicationState | UnknownState
VrrpValue = VrrpState | UnknownState
UnitValue = UnitActiveState | UnknownState


# --- DRBD -------------------------------------------------------------------


@dataclass(frozen=True)
class DrbdPeerDevice:
    volume: int
    replication: ReplValue | None
    peer_disk: DiskValue | None
    sync_percent: float | None = None  # percent in sync / done, 0..100
    out_of_sync_kib: int | None = None
    eta_seconds: float | None = None  # only /proc/drbd reports it; else derived later
    speed_kib_s: float | None = None
    peer_client: bool | None = None  # the peer is an intentionally diskless client (peer-client:yes)
    resync_suspended: str | None = None  # "no", or why a resync waits: "user", "peer", "dependency" (comma-joined)


@dataclass(frozen=True)
class DrbdPath:
    local: str  # "ipv4:10.0.0.1:7789" as drbdsetup prints it
    peer: str
    established: bool | None = None


@dataclass(frozen=True)
class DrbdConnection:
    peer: str  # connection / peer name ("" when the source does not say)
    connection: ConnValue | None
    peer_role: RoleValue | None
    peer_devices: tuple[DrbdPeerDevice, ...] = ()
    congested: bool | None = None  # the TCP send buffer is more than 80 % full
    peer_node_id: int | None = None
    paths: tuple[DrbdPath, ...] = ()
    split_brain: bool | None = None  # events2 sync-state: True SplitBrain, False Unrelated; None: not said


@dataclass(frozen=True)
class DrbdDevice:
    volume: int
    minor: int | None
    disk: DiskValue | None
    size_kib: int | None = None
    quorum: bool | None = None
    client: bool | None = None  # intentionally diskless (client:yes): Diskless by design, not a failure
    blocked: str | None = None  # "no", or where I/O is blocked: "upper", "lower", "upper,lower"


@dataclass(frozen=True)
class DrbdResource:
    name: str
    role: RoleValue | None
    devices: tuple[DrbdDevice, ...] = ()
    connections: tuple[DrbdConnection, ...] = ()
    suspended: bool | None = None
    suspended_reason: str | None = None  # "user", "no-data", "fencing", "quorum" (comma-joined; text and events2)
    may_promote: bool | None = None  # DRBD's own verdict (events2): promoting now would succeed
    promotion_score: int | None = None  # 10000 × all disks present + 100 × UpToDate disks + UpToDate replicas


@dataclass(frozen=True)
class HelperCall:
    """A ``call helper`` / ``response helper`` event: DRBD ran a handler (fence-peer, split-brain …)."""

    resource: str
    helper: str  # the handler's name, e.g. "fence-peer", "split-brain", "before-resync-target"
    response: bool  # False: the call (the handler starts); True: its response (it ended)
    status: int | None = None  # the raw status DRBD reports with the response
    peer: str | None = None  # conn-name, when the handler is about one connection
    peer_node_id: int | None = None
    volume: int | None = None
    minor: int | None = None
    timestamp: str | None = None  # the --timestamps prefix, as printed

    @property
    def exit_code(self) -> int | None:
        """The handler's exit code: DRBD 9 reports a wait status (code × 256); plain codes are kept."""
        if self.status is None or self.status >= 2**31:  # a negative errno: the handler did not run
            return None
        return self.status >> 8 if self.status >= 256 and self.status & 0xFF == 0 else self.status


@dataclass(frozen=True)
class DrbdReport:
    """Parsed DRBD state of one node, from whichever source was available."""

    source: str  # "json", "status-text", "proc", "events2", "none" (no DRBD configured), "error"
    resources: tuple[DrbdResource, ...] = ()
    version: str | None = None
    error: str | None = None
    helper_calls: tuple[HelperCall, ...] = ()  # recent handler calls/responses, oldest first (events2)
    ignored: int = 0  # lines hatui could not read and ignored (malformed or unknown events2 lines)
    ignored_lines: tuple[str, ...] = ()  # the last few of them, for the details


@dataclass(frozen=True)
class Events2Event:
    """One `drbdsetup events2` line."""

    kind: str  # "exists", "create", "change", "destroy", "call", "response", or the raw word
    object: str  # "resource", "connection", "device", "peer-device", "helper", "-" ...
    fields: dict[str, str] = field(default_factory=dict)
    timestamp: str | None = None
    end_of_initial_dump: bool = False  # the "exists -" line


# --- network and keepalived --------------------------------------------------


@dataclass(frozen=True)
class IpAddress:
    family: str  # "inet" / "inet6"
    address: str
    prefixlen: int | None
    label: str | None = None
    secondary: bool = False


@dataclass(frozen=True)
class Interface:
    name: str
    operstate: str | None
    addresses: tuple[IpAddress, ...] = ()


@dataclass(frozen=True)
class IpReport:
    interfaces: tuple[Interface, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    state: VrrpValue | None
    interface: str | None = None
    base_priority: int | None = None
    effective_priority: int | None = None
    master_priority: int | None = None
    last_transition: float | None = None  # epoch seconds
    vips: tuple[str, ...] = ()
    become_master: int | None = None
    release_master: int | None = None
    nopreempt: bool | None = None


@dataclass(frozen=True)
class KeepalivedReport:
    source: str  # "json", "data-text", "unavailable"
    instances: tuple[VrrpInstance, ...] = ()
    error: str | None = None


# --- systemd, mounts, disks, NFS, processes ----------------------------------


@dataclass(frozen=True)
class UnitStatus:
    unit: str
    load_state: str | None
    active: UnitValue | None
    sub_state: str | None
    main_pid: int | None = None
    active_since: str | None = None  # ActiveEnterTimestamp text as systemd printed it


@dataclass(frozen=True)
class UnitsReport:
    units: tuple[UnitStatus, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Mount:
    target: str
    source: str | None
    fstype: str | None
    options: str | None = None


@dataclass(frozen=True)
class MountsReport:
    mounts: tuple[Mount, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class BlockDevice:
    name: str
    path: str | None
    type: str | None
    size_bytes: int | None
    read_only: bool | None = None
    state: str | None = None
    mountpoint: str | None = None
    children: tuple["BlockDevice", ...] = ()


@dataclass(frozen=True)
class BlockReport:
    devices: tuple[BlockDevice, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class NfsExport:
    path: str
    client: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportsReport:
    exports: tuple[NfsExport, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ProcessEntry:
    pid: int
    name: str


@dataclass(frozen=True)
class ProcessReport:
    processes: tuple[ProcessEntry, ...] = ()
    error: str | None = None
