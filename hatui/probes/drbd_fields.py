"""drbdsetup's ``key:value`` field words, shared by the DRBD parsers in :mod:`hatui.probes.drbd`.

The status text, events2 and (renamed) JSON all describe a resource with the
same words (``role``, ``disk``, ``connection``, ``replication``, ``peer-disk``,
``done`` …), so one tree shape and one builder serve all three. Also holds the
tolerant converters. Internal to the probes package; pure and never raises.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from hatui.probes import common
from hatui.probes.common import first_line
from hatui.probes.records import DrbdConnection, DrbdDevice, DrbdPath, DrbdPeerDevice, DrbdReport, DrbdResource
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, is_known


def one_line(text: str, limit: int = 200) -> str:
    """The first non-blank line, stripped and cut to ``limit`` characters."""
    return first_line(text, limit, empty="empty output")


def to_int(value: Any) -> int | None:
    """An int from JSON/text, or None; bools are not numbers here."""
    try:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value) if math.isfinite(value) and value.is_integer() else None
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
            return int(value)
    except (ValueError, OverflowError):
        pass
    return None


def to_float(value: Any) -> float | None:
    """A finite float from JSON or text ("48,128" → 48128.0), or None."""
    try:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            result = float(value)
        elif isinstance(value, str):
            result = float(value.replace(",", "").strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def to_state(enum: Any, raw: Any) -> Any:
    """Parse a state word; None when the source did not give one."""
    if raw is None or isinstance(raw, (dict, list)):
        return None
    return enum.parse(raw)


def to_bool(value: Any) -> bool | None:
    """yes/no, true/false (JSON or text) → bool; anything else (absent, "unknown") → None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"yes": True, "true": True, "no": False, "false": False}.get(value.strip().lower())
    return None


def to_reason(value: Any) -> str | None:
    """A "no or why" field (``suspended``, ``resync-suspended``, ``blocked``): "no", the reasons, or None."""
    if isinstance(value, bool):
        return "no" if value is False else None  # JSON says only *that*, not why
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    return "no" if text in ("no", "false") else text


def error_report(message: str) -> DrbdReport:
    """A report for output that could not be read."""
    return DrbdReport(source="error", error=message)


def never_raises(what: str) -> Callable[[Callable[..., DrbdReport]], Callable[..., DrbdReport]]:
    """Turn a parser bug into an error report: a bad line must not kill the poller."""
    return common.never_raises(what, error_report)


def to_volume(raw: Any, default: int) -> int:
    """A volume number, ``default`` (the position) when missing."""
    value = to_int(raw)
    return value if value is not None else default


def to_text(raw: Any) -> str:
    """A name as text; "" when missing."""
    return raw if isinstance(raw, str) else ("" if raw is None else str(raw))


def add_fields(tokens: list[str], into: dict[str, str]) -> None:
    """Add the ``key:value`` words of a line to ``into``; other words are ignored."""
    for token in tokens:
        key, sep, value = token.partition(":")
        if sep:
            into[key] = value


def status_tree(lines: list[str]) -> tuple[list[dict], str | None]:
    """Group lines into resource → device/connection → peer-device dicts.

    drbdsetup prints a resource at indent 0, devices and connections at 2, peer
    devices at 4; ``wrap_printf`` moves a field that would pass column 80 onto
    a new line indented 4 (resource), 6 (device, connection) or 8 (peer device).
    So a line is a continuation unless its indent starts a new object there.
    """
    resources: list[dict] = []
    current: dict | None = None  # the object the next continuation belongs to
    kind = None
    garbage = None
    for raw in lines:
        line = raw.expandtabs(8).rstrip()
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        tokens = body.split()
        first_key = tokens[0].partition(":")[0] if ":" in tokens[0] else None
        if indent == 0:
            if first_key is not None:  # e.g. "sh: drbdadm: not found"
                garbage = garbage or body[:200]
                current = kind = None
                continue
            current = {"name": tokens[0], "f": {}, "dev": [], "conn": []}
            kind = "resource"
            resources.append(current)
            add_fields(tokens[1:], current["f"])
        elif resources and indent <= 3:
            res = resources[-1]
            if first_key in ("volume", "disk", "minor"):
                current, kind = {"f": {}}, "device"
                res["dev"].append(current)
                add_fields(tokens, current["f"])
            else:  # "NAME role:…", "NAME connection:…" or unnamed "node-id:N …"
                name = tokens[0] if first_key is None else ""
                current, kind = {"name": name, "f": {}, "pd": []}, "connection"
                res["conn"].append(current)
                add_fields(tokens if first_key is not None else tokens[1:], current["f"])
        elif indent <= 5 and kind in ("connection", "peer-device") and resources:
            conn = resources[-1]["conn"][-1]
            current, kind = {"f": {}}, "peer-device"
            conn["pd"].append(current)
            add_fields(tokens, current["f"])
        elif current is not None:  # wrapped continuation of the last object
            add_fields(tokens, current["f"])
    # A resource line always carries role:, possibly on its continuation line.
    good = [r for r in resources if "role" in r["f"] or r["dev"] or r["conn"]]
    return good, garbage


def tree_resource(res: dict, implied: bool) -> DrbdResource:
    """Build a resource from drbdsetup's field words (status text, events2, renamed JSON).

    ``implied``: the status text leaves out fields that hold the usual value
    (connection: when Connected, replication: when Established or Off,
    peer-disk: when DUnknown, suspended: when not suspended), so absence means
    that value. events2 and JSON give every field, so there absence means unknown.
    """
    f = res["f"]
    devices = tuple(
        DrbdDevice(
            volume=to_volume(d["f"].get("volume"), i),
            minor=to_int(d["f"].get("minor")),
            disk=to_state(DiskState, d["f"].get("disk")),
            size_kib=to_int(d["f"].get("size")),
            quorum=to_bool(d["f"].get("quorum")),
            client=_client(d["f"]),
            blocked=to_reason(d["f"].get("blocked")),
        )
        for i, d in enumerate(res["dev"])
    )
    connections = []
    for c in res["conn"]:
        cf = c["f"]
        conn = to_state(ConnectionState, cf.get("connection"))
        if conn is None and implied:
            conn = ConnectionState.CONNECTED
        repl_default = disk_default = None
        if implied:
            connected = conn == ConnectionState.CONNECTED
            repl_default = ReplicationState.ESTABLISHED if connected else ReplicationState.OFF
            disk_default = DiskState.DUNKNOWN
        peer_devices = tuple(
            field_peer_device(pd["f"], i, repl_default, disk_default) for i, pd in enumerate(c["pd"])
        )
        connections.append(
            DrbdConnection(
                peer=c["name"], connection=conn, peer_role=to_state(Role, cf.get("role")), peer_devices=peer_devices,
                congested=to_bool(cf.get("congested")), peer_node_id=to_int(cf.get("peer-node-id")),
                paths=tuple(_path(p) for p in c.get("paths", ())),
                split_brain={"SplitBrain": True, "Unrelated": False}.get(cf.get("sync-state", "")),
            )
        )
    suspended = to_reason(f.get("suspended"))
    if suspended is None and implied and f.get("suspended") is None:
        suspended = "no"  # the text prints suspended: only while suspended
    return DrbdResource(
        name=res["name"],
        role=to_state(Role, f.get("role")),
        devices=devices,
        connections=tuple(connections),
        suspended=None if suspended is None and f.get("suspended") is None else suspended != "no",
        suspended_reason=suspended if suspended not in (None, "no", "yes", "true") else None,
        may_promote=to_bool(f.get("may_promote", f.get("may-promote"))),
        promotion_score=to_int(f.get("promotion_score", f.get("promotion-score"))),
    )


def _client(f: dict[str, Any]) -> bool | None:
    """client:yes/no; a device with a disk state other than Diskless is no client."""
    client = to_bool(f.get("client"))
    disk = to_state(DiskState, f.get("disk"))
    if client is None and disk is not None and disk != DiskState.DISKLESS and is_known(disk):
        return False
    return client


def _path(p: dict) -> DrbdPath:
    f = p["f"]
    return DrbdPath(local=to_text(f.get("local")), peer=to_text(f.get("peer")),
                    established=to_bool(f.get("established")))


def field_peer_device(
    f: dict[str, Any], index: int, repl_default: Any, disk_default: Any
) -> DrbdPeerDevice:
    """A peer device from its field words; defaults stand in for fields left out."""
    repl = to_state(ReplicationState, f.get("replication"))
    peer_disk = to_state(DiskState, f.get("peer-disk"))
    speed = to_float(f.get("dbdt1"))  # MiB/s over the latest sample window (verbose statistics)
    return DrbdPeerDevice(
        volume=to_volume(f.get("volume"), index),
        replication=repl if repl is not None else repl_default,
        peer_disk=peer_disk if peer_disk is not None else disk_default,
        sync_percent=to_float(f.get("done")),
        out_of_sync_kib=to_int(f.get("out-of-sync")),
        eta_seconds=to_float(f.get("eta")),
        speed_kib_s=speed * 1024 if speed is not None else None,
        peer_client=to_bool(f.get("peer-client")),
        resync_suspended=to_reason(f.get("resync-suspended")),
    )
