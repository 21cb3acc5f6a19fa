"""Parser for ``systemctl show -p Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp U…``.

systemctl prints one block of ``KEY=VALUE`` lines per unit, in the order the
units were named, blocks separated by a blank line. A unit that does not exist
still gets a block (``LoadState=not-found``, ``ActiveState=inactive``). The state
text is parsed rather than ``is-active``'s exit code, which differs across
systemd versions. Pure and never raises.
"""

from __future__ import annotations

import re

from hatui.probes.common import first_line, never_raises
from hatui.probes.records import UnitsReport, UnitStatus
from hatui.states import UnitActiveState

_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)=(.*)$")


def _pid(value: str | None) -> int | None:
    # MainPID=0 means "no main process" (inactive unit, or Type=oneshot)
    if value is None or not re.fullmatch(r"\s*\d{1,10}\s*", value):
        return None
    pid = int(value)
    return pid if pid > 0 else None


def _timestamp(value: str | None) -> str | None:
    # never-entered timestamps are empty, and "n/a" in some systemd versions
    if value is None or value.strip() in ("", "n/a"):
        return None
    return value.strip()


@never_raises("systemctl", lambda why: UnitsReport(error=why))
def parse_systemctl_show(text: str) -> UnitsReport:
    """Parse ``systemctl show`` output for several units into :class:`UnitStatus` records.

    ``unit`` is the ``Id=`` value: the unit's primary name, which can differ
    from the name asked for when that was an alias (blocks keep the order of
    the command line, so callers can also match by position).
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    stray: str | None = None
    for raw in (text or "").splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        m = _LINE.match(line)
        if m is None:
            stray = stray or line.strip()[:200]  # e.g. "Failed to connect to bus: …"
            continue
        key, value = m.groups()
        if key in current and key == "Id":  # no blank line between blocks
            blocks.append(current)
            current = {}
        current[key] = value
    if current:
        blocks.append(current)
    if not blocks:
        return UnitsReport(error=stray or f"no units in systemctl output: {first_line(text or '')}")
    units = tuple(
        UnitStatus(
            unit=b.get("Id", ""),
            load_state=b.get("LoadState") or None,
            active=UnitActiveState.parse(b["ActiveState"]) if b.get("ActiveState") else None,
            sub_state=b.get("SubState") or None,
            main_pid=_pid(b.get("MainPID")),
            active_since=_timestamp(b.get("ActiveEnterTimestamp")),
        )
        for b in blocks
    )
    return UnitsReport(units=units)
