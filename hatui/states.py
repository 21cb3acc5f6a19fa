"""Every state vocabulary hatui reads from a node, as enums.

Real output varies across versions, so a parser never trusts that a word is
known: ``SomeState.parse(raw)`` returns the member when the word is known and
an :class:`UnknownState` (a ``str`` that keeps the raw text) otherwise. Code
compares with ``==`` against members; an unknown value never equals one, and
is shown verbatim with a "?" so the operator still sees what the node said.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class UnknownState(str):
    """A state word hatui does not know; keeps the raw text for display."""

    known = False

    def __repr__(self) -> str:
        return f"UnknownState({str.__repr__(self)})"


class KnownState(StrEnum):
    """Base for state enums: case-insensitive parse that never raises."""

    @property
    def known(self) -> bool:
        return True

    @classmethod
    def parse(cls, raw: object) -> Self | UnknownState:
        """Return the member named by ``raw`` or an :class:`UnknownState`."""
        text = "" if raw is None else str(raw).strip()
        lookup = _lookup_table(cls)
        member = lookup.get(text.lower())
        if member is not None:
            return member
        return UnknownState(text)


def _lookup_table(cls: type[KnownState]) -> dict[str, KnownState]:
    table = cls.__dict__.get("_hatui_lookup")
    if table is None:
        table = {m.value.lower(): m for m in cls}
        type.__setattr__(cls, "_hatui_lookup", table)
    return table


def is_known(value: object) -> bool:
    """True for an enum member, False for an :class:`UnknownState` or None."""
    return isinstance(value, KnownState)


class Role(KnownState):
    PRIMARY = "Primary"
    SECONDARY = "Secondary"
    UNKNOWN = "Unknown"  # DRBD's own word for a peer it cannot see


class DiskState(KnownState):
    DISKLESS = "Diskless"
    ATTACHING = "Attaching"
    DETACHING = "Detaching"
    FAILED = "Failed"
    NEGOTIATING = "Negotiating"
    INCONSISTENT = "Inconsistent"
    OUTDATED = "Outdated"
    DUNKNOWN = "DUnknown"
    CONSISTENT = "Consistent"
    UPTODATE = "UpToDate"


class ConnectionState(KnownState):
    STANDALONE = "StandAlone"
    DISCONNECTING = "Disconnecting"
    UNCONNECTED = "Unconnected"
    TIMEOUT = "Timeout"
    BROKEN_PIPE = "BrokenPipe"
    NETWORK_FAILURE = "NetworkFailure"
    PROTOCOL_ERROR = "ProtocolError"
    TEAR_DOWN = "TearDown"
    CONNECTING = "Connecting"
    CONNECTED = "Connected"
    # DRBD 8.4 only
    WF_CONNECTION = "WFConnection"
    WF_REPORT_PARAMS = "WFReportParams"


class ReplicationState(KnownState):
    OFF = "Off"
    ESTABLISHED = "Established"
    STARTING_SYNC_S = "StartingSyncS"
    STARTING_SYNC_T = "StartingSyncT"
    WF_BITMAP_S = "WFBitMapS"
    WF_BITMAP_T = "WFBitMapT"
    WF_SYNC_UUID = "WFSyncUUID"
    SYNC_SOURCE = "SyncSource"
    SYNC_TARGET = "SyncTarget"
    VERIFY_S = "VerifyS"
    VERIFY_T = "VerifyT"
    PAUSED_SYNC_S = "PausedSyncS"
    PAUSED_SYNC_T = "PausedSyncT"
    AHEAD = "Ahead"
    BEHIND = "Behind"

    @property
    def is_syncing(self) -> bool:
        return self in _SYNCING


def is_syncing(value: object) -> bool:
    """True while a resync runs (or is about to), for any parsed replication value."""
    return value in _SYNCING


def sync_side(value: object) -> str | None:
    """"source" or "target" for this node's side of a running resync, else None.

    The S/T suffix of DRBD's replication states names the local side:
    StartingSyncS, WFBitMapS, SyncSource and PausedSyncS send; their T twins
    and WFSyncUUID (the target waiting for the source's UUID) receive.
    """
    if value in _SOURCE_SIDE:
        return "source"
    if value in _SYNCING:
        return "target"
    return None


_SYNCING = frozenset(
    {
        ReplicationState.STARTING_SYNC_S,
        ReplicationState.STARTING_SYNC_T,
        ReplicationState.WF_BITMAP_S,
        ReplicationState.WF_BITMAP_T,
        ReplicationState.WF_SYNC_UUID,
        ReplicationState.SYNC_SOURCE,
        ReplicationState.SYNC_TARGET,
        ReplicationState.PAUSED_SYNC_S,
        ReplicationState.PAUSED_SYNC_T,
    }
)
_SOURCE_SIDE = frozenset(
    {
        ReplicationState.STARTING_SYNC_S,
        ReplicationState.WF_BITMAP_S,
        ReplicationState.SYNC_SOURCE,
        ReplicationState.PAUSED_SYNC_S,
    }
)


class VrrpState(KnownState):
    """keepalived's VRRP instance state; the JSON dump gives it as 0..3."""

    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"

    @classmethod
    def from_code(cls, code: object) -> VrrpState | UnknownState:
        """Map keepalived's numeric state (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)."""
        names = {0: cls.INIT, 1: cls.BACKUP, 2: cls.MASTER, 3: cls.FAULT}
        if isinstance(code, int) and not isinstance(code, bool) and code in names:
            return names[code]
        return UnknownState(str(code))


class UnitActiveState(KnownState):
    """systemd's ActiveState."""

    ACTIVE = "active"
    RELOADING = "reloading"
    INACTIVE = "inactive"
    FAILED = "failed"
    ACTIVATING = "activating"
    DEACTIVATING = "deactivating"
    MAINTENANCE = "maintenance"


class Severity(KnownState):
    """Health finding severity, ordered by :func:`severity_rank`."""

    OK = "OK"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"
    UNKNOWN = "UNKNOWN"


_RANK = {Severity.OK: 0, Severity.WARNING: 1, Severity.CRITICAL: 2, Severity.UNKNOWN: 3}


def severity_rank(severity: Severity) -> int:
    """Monitoring-plugin exit code for a severity (0 OK … 3 UNKNOWN)."""
    return _RANK[severity]
