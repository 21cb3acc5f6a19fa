"""Parser for DRBD's configuration as ``drbdsetup show`` (the kernel's view) or ``drbdadm dump`` prints it.

hatui reads one thing from it: each resource's fencing policy (``net { fencing
POLICY; }``), which decides whether a Primary that loses its peer keeps
acknowledging writes the peer never gets (``dont-care``, DRBD's default), calls
its fence-peer handler (``resource-only``), or also freezes I/O until the peer
is outdated (``resource-and-stonith``). Both commands leave defaults out, so a
resource printed without a ``fencing`` line runs ``dont-care``. The fencing
keyword may sit in the resource's ``net`` section, a ``connection``'s ``net``
section, or (DRBD 8.4) ``disk``; it is taken wherever it appears inside the
resource. Pure and never raises.
"""

from __future__ import annotations

import re

DEFAULT_POLICY = "dont-care"
_RESOURCE = re.compile(r"^\s*resource\s+(\"[^\"]+\"|\S+)\s*\{")
_FENCING = re.compile(r"^\s*fencing\s+([A-Za-z-]+)\s*;")


def parse_fencing(text: str) -> dict[str, str]:
    """Resource name → fencing policy, for every resource block found (empty: nothing readable)."""
    try:
        policies: dict[str, str] = {}
        current: str | None = None
        depth = 0
        for raw in (text or "").splitlines():
            line = raw.split("#", 1)[0]
            if current is None:
                m = _RESOURCE.match(line)
                if m is None:
                    continue
                current = m.group(1).strip('"')
                policies[current] = DEFAULT_POLICY
                depth = line.count("{") - line.count("}")
                continue
            m = _FENCING.match(line)
            if m is not None:
                policies[current] = m.group(1)
            depth += line.count("{") - line.count("}")
            if depth <= 0:
                current = None
        return policies
    except Exception:  # a parser bug must not kill the poller: unknown, not healthy
        return {}
