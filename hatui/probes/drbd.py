"""Parsers for every DRBD status source hatui can read on a node.

Sources, best first: ``drbdsetup status --json`` (DRBD 9), ``drbdadm status``
text, ``/proc/drbd`` (DRBD 8.4) and the ``drbdsetup events2`` stream. Layouts
follow drbd-utils ``user/v9/drbdsetup.c`` (``*_status_json``, ``*_status``,
``print_peer_device_statistics``) and ``wrap_printf.c``; events2 lives in
:mod:`hatui.probes.events2`. All functions are pure and never raise:
unreadable input gives a report with ``error`` set.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hatui.probes.drbd_fields import (
    add_fields,
    error_report,
    never_raises,
    one_line,
    status_tree,
    to_float,
    to_int,
    to_state,
    to_text,
    tree_resource,
)
from hatui.probes.events2 import drbd_report_from_events2, parse_events2_line
from hatui.probes.records import DrbdConnection, DrbdDevice, DrbdPeerDevice, DrbdReport, DrbdResource
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, is_known

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_NONE_MARK = "No currently configured DRBD found"
# The object word has no colon, so a status-text resource named "change" is not an event.
_EVENT_LINE = re.compile(r"^(?:\d\S*\s+)?(?:exists|create|change|destroy|call|response|rename)\s+[^\s:]+(?:\s|$)")
_PROC_MINOR = re.compile(r"^\s*(\d+):\s+cs:(\S+)(.*)$")
# drbdsetup prints this when it has no rate sample yet (no real ETA).
_NO_ETA = 987654321


# --- auto-detection -------------------------------------------------------------


@never_raises("DRBD")
def parse_drbd(text: str) -> DrbdReport:
    """Parse any DRBD status output, detecting its source from the content.

    JSON array → "json"; ``drbdadm status`` text → "status-text"; /proc/drbd →
    "proc"; events2 lines → "events2"; empty output or "# No currently
    configured DRBD found." → "none"; anything else → "error" with one line.
    """
    clean = _ANSI.sub("", text or "")
    body = clean.strip()
    if not body or (_NONE_MARK in body and not body.startswith("[")):
        return DrbdReport(source="none")
    first = body.splitlines()[0]
    if body[0] in "[{":
        return parse_drbd_json(body)
    if _EVENT_LINE.match(first):
        return drbd_report_from_events2(body.splitlines())
    if re.search(r"^version:|^\s*\d+: cs:", body, re.M):
        return parse_proc_drbd(body)
    first_token = first.split()[0]
    if ":" not in first_token and re.search(r"(^|\s)role:", body):
        return parse_drbd_status_text(clean)
    return error_report(f"unrecognised DRBD status output: {one_line(body)}")


# --- drbdsetup status --json ----------------------------------------------------


@never_raises("DRBD JSON")
def parse_drbd_json(text: str) -> DrbdReport:
    """Parse ``drbdsetup status --json`` output (a JSON array of resources)."""
    try:
        data = json.loads(text or "")
    except (ValueError, RecursionError) as exc:
        return error_report(f"drbdsetup JSON unreadable: {exc}"[:200])
    if not isinstance(data, list):
        return error_report("drbdsetup JSON is not an array of resources")
    resources = tuple(tree_resource(_json_tree(r), False) for r in data if isinstance(r, dict))
    return DrbdReport(source="json", resources=resources)


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _json_tree(res: dict) -> dict:
    """A JSON resource renamed into drbdsetup's field words, for :func:`tree_resource`."""
    return {
        "name": to_text(res.get("name")),
        "f": {
            "role": res.get("role"),
            "suspended": res.get("suspended"),  # JSON says only whether, not why
            "may_promote": res.get("may_promote", res.get("may-promote")),
            "promotion_score": res.get("promotion_score", res.get("promotion-score")),
        },
        # drbdsetup already halves sectors to KiB for "size" and "out-of-sync"
        "dev": [
            {"f": {"volume": d.get("volume"), "minor": d.get("minor"), "disk": d.get("disk-state"),
                   "size": d.get("size"), "quorum": d.get("quorum"), "client": d.get("client"),
                   "blocked": d.get("blocked")}}
            for d in _dicts(res.get("devices"))
        ],
        "conn": [
            {
                "name": to_text(c.get("name")),
                "f": {"connection": c.get("connection-state"), "role": c.get("peer-role"),
                      "congested": c.get("congested"), "peer-node-id": c.get("peer-node-id")},
                "pd": [{"f": _json_peer_fields(pd)} for pd in _dicts(c.get("peer_devices"))],
            }
            for c in _dicts(res.get("connections"))
        ],
    }


def _json_peer_fields(pd: dict) -> dict[str, Any]:
    oos = to_int(pd.get("out-of-sync"))
    # "percent-resync-done" is what `drbdadm status` shows as done:; it exists only
    # while resyncing. "percent-in-sync" (1 - oos/size) is always there.
    percent = to_float(pd.get("percent-resync-done"))
    if percent is None:
        percent = to_float(pd.get("percent-in-sync"))
    eta = to_float(pd.get("estimated-seconds-to-finish"))
    if eta is not None and (eta >= _NO_ETA or eta < 0):
        eta = None
    # "db1/dt1 [MiB/s]" is the rate over the latest sample window, like the first
    # speed number of /proc/drbd; fall back to the raw sectors/ms counters.
    speed = to_float(pd.get("db1/dt1 [MiB/s]"))
    db1, dt1 = to_int(pd.get("rs-db1-sectors")), to_int(pd.get("rs-dt1-ms"))
    if speed is None and db1 is not None and dt1:
        speed = (db1 / 2048) / (dt1 / 1000)
    if speed is not None and speed < 0:
        speed = None
    if eta is None and speed and oos and pd.get("has-sync-details") is True:
        eta = oos / (speed * 1024)
    return {
        "volume": pd.get("volume"), "replication": pd.get("replication-state"),
        "peer-disk": pd.get("peer-disk-state"), "done": percent, "out-of-sync": oos, "eta": eta, "dbdt1": speed,
        "peer-client": pd.get("peer-client"), "resync-suspended": pd.get("resync-suspended"),
    }


# --- drbdadm status text -------------------------------------------------------


@never_raises("drbdadm status")
def parse_drbd_status_text(text: str) -> DrbdReport:
    """Parse ``drbdadm status`` / ``drbdsetup status`` text.

    Handles 80-column wrapping (whole fields moved onto a deeper-indented line),
    unnamed connections (``node-id:N``), single-volume lines without ``volume:``
    and the fields only printed when they differ from the usual state.
    """
    clean = _ANSI.sub("", text or "")
    if not clean.strip() or _NONE_MARK in clean:
        return DrbdReport(source="none")
    tree, garbage = status_tree(clean.splitlines())
    if not tree:
        return error_report(f"unrecognised drbdadm status output: {garbage or one_line(clean)}")
    return DrbdReport(source="status-text", resources=tuple(tree_resource(r, True) for r in tree))


# --- /proc/drbd (DRBD 8.4) -----------------------------------------------------


@never_raises("/proc/drbd")
def parse_proc_drbd(text: str) -> DrbdReport:
    """Parse DRBD 8.4 ``/proc/drbd`` including resync progress lines.

    The minor number is the resource name ("0"). In 8.4 the ``cs:`` field holds
    either a connection state or a replication state (SyncSource, VerifyS, …),
    which implies the connection is Connected.
    """
    version = None
    minors: list[dict] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        m = re.match(r"version:\s*(\S+)", line)
        if m:
            version = m.group(1)
            continue
        m = _PROC_MINOR.match(raw)
        if m:
            minors.append({"minor": int(m.group(1)), "cs": m.group(2), "rest": m.group(3).split()})
            continue
        if minors:
            _proc_detail(line, minors[-1])
    resources = tuple(_proc_resource(m) for m in minors if m["cs"] != "Unconfigured")
    error = None
    if version is None and not minors:
        return error_report(f"unrecognised /proc/drbd: {one_line(text or '')}")
    if version and version.startswith("9") and not minors:
        error = "DRBD 9 /proc/drbd lists no resources; use drbdsetup status"
    return DrbdReport(source="proc", resources=resources, version=version, error=error)


def _proc_detail(line: str, minor: dict) -> None:
    m = re.search(r"(?:sync'ed|verified):\s*([\d.]+)%", line)
    if m:
        minor["pct"] = to_float(m.group(1))
    m = re.search(r"finish:\s*(\d+):(\d+):(\d+)", line)
    if m:
        h, mi, s = (int(g) for g in m.groups())
        minor["eta"] = float(h * 3600 + mi * 60 + s)
    m = re.search(r"speed:\s*([\d,]+)", line)
    if m:
        minor["speed"] = to_float(m.group(1))
    m = re.search(r"(?:^|\s)oos:(\d+)", line)
    if m:
        minor["oos"] = int(m.group(1))


def _split_pair(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    local, _, peer = value.partition("/")
    return local, (peer or None)


def _proc_resource(m: dict) -> DrbdResource:
    f: dict[str, str] = {}
    add_fields(m["rest"], f)
    # "ro:" since 8.3; "st:" in 8.0 and earlier.
    local_role, peer_role = _split_pair(f.get("ro", f.get("st")))
    local_disk, peer_disk = _split_pair(f.get("ds"))
    flags = next((t for t in m["rest"] if re.fullmatch(r"[rs][-a-zA-Z]{4,}", t)), None)
    cs = m["cs"]
    repl = ReplicationState.parse(cs)
    if is_known(repl):
        conn = ConnectionState.CONNECTED
    else:
        conn = ConnectionState.parse(cs)
        repl = ReplicationState.ESTABLISHED if conn == ConnectionState.CONNECTED else (
            ReplicationState.OFF if is_known(conn) else None
        )
    peer_device = DrbdPeerDevice(
        0, repl, to_state(DiskState, peer_disk), m.get("pct"), m.get("oos"), m.get("eta"), m.get("speed")
    )
    return DrbdResource(
        name=str(m["minor"]),
        role=to_state(Role, local_role),
        devices=(DrbdDevice(volume=0, minor=m["minor"], disk=to_state(DiskState, local_disk)),),
        connections=(
            DrbdConnection(peer="", connection=conn, peer_role=to_state(Role, peer_role), peer_devices=(peer_device,)),
        ),
        suspended=None if flags is None else flags[0] == "s",
    )


__all__ = ["drbd_report_from_events2", "parse_drbd", "parse_drbd_json", "parse_drbd_status_text",
           "parse_events2_line", "parse_proc_drbd"]
