"""``hatui history``: read the history back, as lines for people or JSON for scripts.

Times on the command line are what an operator types at 3 a.m.: ``2h``, ``30m``, ``1d``
(that long ago), ``03:12`` (today, local time), or an ISO date and time
(``2026-05-01T03:12``, ``2026-05-01 03:12:30``).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

from hatui.errors import HatuiError
from hatui.history import store

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: float | None = None) -> float:
    """Epoch seconds for ``2h`` (ago), ``03:12`` (today) or an ISO time; :class:`HatuiError` otherwise."""
    now = time.time() if now is None else now
    match = _AGO.match(text)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2).lower()]
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", raw):
            clock = datetime.strptime(raw, "%H:%M:%S" if raw.count(":") == 2 else "%H:%M").time()
            return datetime.combine(datetime.fromtimestamp(now).date(), clock).timestamp()
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        raise HatuiError(f"cannot read the time {text!r} (use 2h, 30m, 1d, 03:12 or 2026-05-01T03:12)") from None


def read(path: Path, **filters: object) -> list[dict[str, object]]:
    """Events matching ``filters`` (see :func:`hatui.history.store.query`), oldest first."""
    conn = store.connect(path, create=False)
    try:
        return store.query(conn, **filters)  # type: ignore[arg-type]
    finally:
        conn.close()


def line(event: dict[str, object]) -> str:
    """``2026-05-01 03:12:04.1  demo-2  vm2   drbd:r0      DRBD r0: Secondary → Primary  (r0 UpToDate)``."""
    stamp = datetime.fromtimestamp(float(event["ts"])).strftime("%Y-%m-%d %H:%M:%S.%f")[:-5]
    kind, before, after = event["kind"], event["before"], event["after"]
    subject = event["subject"]
    if kind == "finding":
        what = f"{event['severity']} {subject} {after}"
    elif kind == "state" and before == after:
        what = f"{subject}: {after}, now {event['severity']}"
    elif kind == "state":
        what = f"{subject}: {before} → {after}" if before else f"{subject}: {after} (first seen)"
    elif kind == "failover":
        what = f"node kit {subject}: {after}"
    elif kind == "helper":  # the subject is the whole sentence ("fence-peer handler ran on vm2 for r0, exit 4 …")
        what = str(subject)
    else:
        what = f"{subject}: {after}"
    detail = f"  ({event['detail']})" if event["detail"] else ""
    return f"{stamp}  {event['pair'] or '-':<12} {event['node'] or '-':<8} {event['layer']:<16} {what}{detail}"
