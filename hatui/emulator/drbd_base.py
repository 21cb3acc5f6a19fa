"""The DRBD state machine's vocabulary: state names, node and job records, command results.

Kept apart from :mod:`hatui.emulator.drbd_machine` so that the machine's parts (the
resync/verify job in :mod:`hatui.emulator.drbd_sync`, fencing in
:mod:`hatui.emulator.drbd_fencing`) share one set of names without importing the
machine itself. :class:`PairView` is what those parts see of the machine that owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

KIB_PER_BLOCK = 4 * 1024  # each key is "4 MiB" so a resync takes visible time
BACKING_KIB = 2 * 1024 * 1024  # 2 GiB backing disk
DEFAULT_DEVICE_KIB = BACKING_KIB - 72  # DRBD keeps its metadata at the end

PRIMARY, SECONDARY, UNKNOWN = "Primary", "Secondary", "Unknown"
UPTODATE, INCONSISTENT, OUTDATED, DUNKNOWN = "UpToDate", "Inconsistent", "Outdated", "DUnknown"
CONNECTED, CONNECTING, STANDALONE, UNCONNECTED = "Connected", "Connecting", "StandAlone", "Unconnected"
ESTABLISHED, OFF = "Established", "Off"


@dataclass(frozen=True)
class CommandResult:
    """What a drbdadm command printed and its exit code."""

    rc: int
    stdout: str = ""
    stderr: str = ""


def refusal(resource: str, code: int, text: str, rc: int, cmd: str) -> CommandResult:
    """DRBD's refusal of a state change: its text on stderr and exit code ``rc``."""
    err = f"{resource}: State change failed: ({code}) {text}\n"
    err += f"Command 'drbdsetup {cmd} {resource}' terminated with exit code {rc}\n"
    return CommandResult(rc, stderr=err)


@dataclass
class DrbdNode:
    """DRBD's view on one node (the peer's fields are derived, not stored)."""

    name: str
    node_id: int
    up: bool = True
    role: str = SECONDARY
    disk: str = UPTODATE
    conn: str = CONNECTED
    conn_since: float = 0.0
    lost_since: float | None = None  # path broken but not yet noticed (ping timeout)
    want_connect: bool = True  # False after `disconnect` or split brain: StandAlone
    discard_my_data: bool = False
    needs_full_sync: bool = False  # an invalidate that has not finished yet
    open_count: int = 0  # mounted / held open: blocks `secondary`
    blocks: dict[str, str] = field(default_factory=dict)
    generation: int = 1
    out_of_sync: set[str] = field(default_factory=set)
    written_kib: int = 0
    sent_kib: int = 0
    received_kib: int = 0
    suspended: str | None = None  # I/O suspended and why: "fencing" or "user" (drbdadm suspend-io)
    peer_fenced: int | None = None  # fence-peer's exit code (4 or 7) since the connection was lost
    unfence_due: bool = False  # this node fenced its peer: run unfence-peer once the peer is UpToDate


@dataclass
class SyncJob:
    """A running resync or online verify."""

    kind: str  # "resync" or "verify"
    source: str
    target: str
    keys: set[str]
    full: bool
    total_kib: int
    left_kib: float
    rate_kib_s: float
    started: float


class PairView(Protocol):
    """What the machine's components (resync, fencing) read and call of the machine that owns them."""

    nodes: dict[str, DrbdNode]
    resource: str
    minor: int
    device_kib: int
    now: float
    sync: SyncJob | None

    def peer(self, name: str) -> DrbdNode: ...
    def connected(self, name: str) -> bool: ...
    def refuse(self, code: int, text: str, rc: int, cmd: str) -> CommandResult: ...
    def kernel_log(self, node: str, message: str) -> None: ...
