"""Parsers for keepalived's state dumps.

* JSON (``kill -s $(keepalived --signum=JSON)`` → ``/tmp/keepalived.json``):
  a list of ``{"data": {...}, "stats": {...}}``, one per VRRP instance.
* SIGUSR1 text (``/tmp/keepalived.data``): meant for debugging and not a stable
  format, so only a few well-known ``Key = value`` lines are read.

A section that is neither (the poll script's own error line such as
"keepalived pid file /run/keepalived.pid not readable") gives source
"unavailable" with that line as the error. Pure and never raises.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hatui.probes.common import first_line, never_raises
from hatui.probes.records import KeepalivedReport, VrrpInstance
from hatui.states import VrrpState


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value) if isinstance(value, (int, float, str)) else None
    except (ValueError, OverflowError):
        return None
    return result if result is not None and math.isfinite(result) else None


def _bool(value: Any) -> bool | None:
    # keepalived prints some flags as JSON booleans and others as 0/1 ints
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return None


def _vip(text: Any) -> str | None:
    """The address of a VIP line ("10.99.0.200/24 dev ha2 scope global …")."""
    if not isinstance(text, str) or not text.split():
        return None
    return text.split()[0]


@never_raises("keepalived", lambda why: KeepalivedReport(source="unavailable", error=why))
def parse_keepalived_json(text: str) -> KeepalivedReport:
    """Parse keepalived's JSON state dump into VRRP instances (source "json").

    ``vips`` keep each VIP's first word as keepalived wrote it, e.g.
    "10.99.0.200/24"; :func:`hatui.probes.net.interfaces_holding` accepts it.
    """
    body = (text or "").strip()
    if not body:
        return KeepalivedReport(source="unavailable", error="no output")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return KeepalivedReport(source="unavailable", error=first_line(body))
    if not isinstance(data, list):
        return KeepalivedReport(source="json", error="keepalived JSON is not a list of instances")
    instances = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            continue
        d = entry["data"]
        stats = entry.get("stats") if isinstance(entry.get("stats"), dict) else {}
        vips = d.get("vips") if isinstance(d.get("vips"), list) else []
        instances.append(
            VrrpInstance(
                name=d["iname"] if isinstance(d.get("iname"), str) else "",
                state=VrrpState.from_code(d["state"]) if "state" in d else None,
                interface=d.get("ifp_ifname") if isinstance(d.get("ifp_ifname"), str) else None,
                base_priority=_int(d.get("base_priority")),
                effective_priority=_int(d.get("effective_priority")),
                master_priority=_int(d.get("master_priority")),
                last_transition=_float(d.get("last_transition")),
                vips=tuple(v for v in (_vip(x) for x in vips) if v),
                become_master=_int(stats.get("become_master")),
                release_master=_int(stats.get("release_master")),
                nopreempt=_bool(d.get("nopreempt")),
            )
        )
    return KeepalivedReport(source="json", instances=tuple(instances))


def _key_value(stripped: str) -> tuple[str, str] | None:
    """("Key", "value") for a "Key = value" line; the dump pads with " = "."""
    key, sep, value = stripped.partition(" = ")
    if not sep or not key[:1].isalpha():
        return None
    return key.strip(), value.strip()


def parse_keepalived_data(text: str) -> KeepalivedReport:
    """Parse the SIGUSR1 text dump (source "data-text").

    Reads, per ``VRRP Instance = NAME`` block of the "VRRP Topology" section:
    State, Priority, Effective priority, Master priority, Last transition,
    Interface and the indented lines under ``Virtual IP (N):``. Counters
    (become_master …) are not in this dump and stay None.
    """
    try:
        body = text or ""
        if "VRRP Instance" not in body and "------<" not in body:
            return KeepalivedReport(source="unavailable", error=first_line(body))
        instances: list[VrrpInstance] = []
        current: dict[str, Any] | None = None
        vip_indent: int | None = None  # indent of the "Virtual IP (N):" header
        for raw in body.splitlines():
            line = raw.expandtabs(8).rstrip()
            stripped = line.lstrip()
            indent = len(line) - len(stripped)
            if stripped.startswith("------<"):
                _flush(current, instances)
                current, vip_indent = None, None  # other sections reuse "Interface = …"
                continue
            if vip_indent is not None:
                if stripped and indent > vip_indent:
                    vip = _vip(stripped)
                    if vip and current is not None:
                        current["vips"].append(vip)
                    continue
                vip_indent = None
            kv = _key_value(stripped)
            if kv and kv[0] == "VRRP Instance":
                _flush(current, instances)
                current = {"name": kv[1], "vips": []}
                continue
            if current is None:
                continue
            if re.match(r"Virtual IP(?: \(\d+\))?:", stripped):
                vip_indent = indent
                continue
            if kv:
                current.setdefault(kv[0], kv[1])  # first wins: later lines are sub-objects
        _flush(current, instances)
        return KeepalivedReport(source="data-text", instances=tuple(instances))
    except Exception as exc:
        return KeepalivedReport(source="unavailable", error=f"keepalived parser failed: {type(exc).__name__}")


def _flush(current: dict[str, Any] | None, instances: list[VrrpInstance]) -> None:
    if current is None:
        return
    state = current.get("State")
    preempt = current.get("Preempt")
    transition = current.get("Last transition")
    instances.append(
        VrrpInstance(
            name=current["name"],
            state=VrrpState.parse(state) if state is not None else None,
            interface=current.get("Interface") or None,
            base_priority=_int(current.get("Priority")),
            effective_priority=_int(current.get("Effective priority")),
            master_priority=_int(current.get("Master priority")),
            # "1795587327.753409 (Wed Nov 25 06:15:27.753409 2026)": epoch first
            last_transition=_float(transition.split()[0]) if transition and transition.split() else None,
            vips=tuple(current["vips"]),
            nopreempt=None if preempt is None else preempt.lower() != "enabled",
        )
    )
