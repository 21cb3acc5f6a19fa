"""Parsers for ``findmnt -J`` and ``lsblk -J -b`` (util-linux JSON).

findmnt prints nothing and exits 1 when ``--mountpoint`` matches nothing, so
empty output means "not mounted", not an error. Older util-linux versions
print every lsblk value as a string ("size": "1073741824", "ro": "0"); newer
ones use numbers and booleans; both are accepted. Pure and never raise.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hatui.probes.common import first_line, never_raises, opt_str
from hatui.probes.records import BlockDevice, BlockReport, Mount, MountsReport

# Nothing real nests this deep; the cap keeps hostile input from recursing far.
_MAX_DEPTH = 32


def _load(text: str, key: str, tool: str) -> tuple[list[dict] | None, str | None]:
    """The list under ``key`` of a util-linux JSON document, or an error line."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None, f"{tool} output is not JSON: {first_line(text)}"
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        return None, f"{tool} JSON has no {key!r} list"
    return [e for e in data[key] if isinstance(e, dict)], None


@never_raises("findmnt", lambda why: MountsReport(error=why))
def parse_findmnt(text: str) -> MountsReport:
    """Parse ``findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS``; nested children are flattened."""
    body = (text or "").strip()
    if not body:
        return MountsReport()
    entries, error = _load(body, "filesystems", "findmnt")
    if entries is None:
        return MountsReport(error=error)
    mounts: list[Mount] = []
    stack = [(e, 0) for e in reversed(entries)]
    while stack:  # depth-first, parents before their children, in output order
        entry, depth = stack.pop()
        target = opt_str(entry.get("target"))
        if target is not None:
            mounts.append(
                Mount(
                    target=target,
                    source=opt_str(entry.get("source")),
                    fstype=opt_str(entry.get("fstype")),
                    options=opt_str(entry.get("options")),
                )
            )
        children = entry.get("children")
        if isinstance(children, list) and depth < _MAX_DEPTH:
            stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, dict))
    return MountsReport(mounts=tuple(mounts))


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,25}\s*", value):
        return int(value)
    return None


def _read_only(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return value.strip() == "1"
    return None


def _mountpoint(entry: dict) -> str | None:
    point = opt_str(entry.get("mountpoint"))
    if point is None and isinstance(entry.get("mountpoints"), list):
        # util-linux >= 2.37 has MOUNTPOINTS (a list, [null] when unmounted)
        point = next((p for p in entry["mountpoints"] if isinstance(p, str)), None)
    return point


def _device(entry: dict, depth: int) -> BlockDevice:
    children = entry.get("children")
    kids: tuple[BlockDevice, ...] = ()
    if isinstance(children, list) and depth < _MAX_DEPTH:
        kids = tuple(_device(c, depth + 1) for c in children if isinstance(c, dict))
    return BlockDevice(
        name=opt_str(entry.get("name")) or "",
        path=opt_str(entry.get("path")),
        type=opt_str(entry.get("type")),
        size_bytes=_size(entry.get("size")),
        read_only=_read_only(entry.get("ro")),
        state=opt_str(entry.get("state")),
        mountpoint=_mountpoint(entry),
        children=kids,
    )


def parse_lsblk(text: str) -> BlockReport:
    """Parse ``lsblk -J -b -o NAME,PATH,TYPE,SIZE,RO,STATE,MOUNTPOINT DEV`` (children kept nested)."""
    try:
        body = (text or "").strip()
        if not body:
            return BlockReport(error="no output from lsblk")
        entries, error = _load(body, "blockdevices", "lsblk")
        if entries is None:
            return BlockReport(error=error)
        return BlockReport(devices=tuple(_device(e, 0) for e in entries))
    except Exception as exc:
        return BlockReport(error=f"lsblk parser failed: {type(exc).__name__}")
