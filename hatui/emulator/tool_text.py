"""``systemctl show`` and ``exportfs -v`` text, shared by the demo pair and the lab node.

One renderer for each format so the demo's simulated nodes and the lab's
stand-in commands cannot drift apart. Stdlib only: the lab's ``systemctl`` and
``exportfs`` import this on every call and must start fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

# systemd prints the properties in its D-Bus table order (service interface first,
# then unit), not in the order of -p; parsers must not depend on either.
PROP_ORDER = ("Type", "Restart", "MainPID", "ExecMainPID", "Id", "Names", "Description", "LoadState",
              "ActiveState", "SubState", "UnitFileState", "ActiveEnterTimestamp",
              "ActiveEnterTimestampMonotonic", "InactiveEnterTimestamp", "Result")

EXPORT_OPTIONS = "(sync,wdelay,hide,no_subtree_check,fsid={fsid},sec=sys,rw,secure,root_squash,no_all_squash)"


def systemd_timestamp(wall: float | None) -> str:
    """systemd's timestamp text (``Mon 2024-05-06 07:08:09 UTC``); empty for never."""
    if wall is None:
        return ""
    return time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime(wall))


def show_block(values: Mapping[str, str], props: Sequence[str]) -> str:
    """One unit's ``KEY=VALUE`` block: the asked properties (all when none), in systemd's order."""
    wanted = list(props) if props else list(PROP_ORDER)
    ordered = sorted((p for p in wanted if p in values and p in PROP_ORDER), key=PROP_ORDER.index)
    return "\n".join(f"{p}={values[p]}" for p in dict.fromkeys(ordered))


def show_text(blocks: Iterable[str]) -> str:
    """Blocks separated by a blank line, as ``systemctl show U1 U2`` prints them."""
    blocks = list(blocks)
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def show_values_only(text: str) -> str:
    """``systemctl show --value``: the values without their keys."""
    return "\n".join(line.split("=", 1)[1] for line in text.splitlines() if "=" in line) + "\n"


def exportfs_v(paths: Sequence[str]) -> str:
    """``exportfs -v``: nfs-utils pads the path to 14 columns (longer: own line), fsid=1,2,... per export."""
    out = []
    for i, path in enumerate(paths, start=1):
        sep = "\n\t\t" if len(path) > 14 else "\t"
        out.append(f"{path:<14}{sep}<world>{EXPORT_OPTIONS.format(fsid=i)}")
    return "\n".join(out) + ("\n" if out else "")
