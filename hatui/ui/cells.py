"""Small Content builders shared by the widgets: glyph + word + theme colour.

Colours are theme variables (``$success`` …), so a theme change recolours
everything; the glyph and the word always carry the meaning on their own.
"""

from __future__ import annotations

import time

from textual.content import Content

from hatui.present.layers import GLYPH, LayerState
from hatui.model import Layer
from hatui.states import Severity
from hatui.present.text import age_text as age, duration_text as duration  # noqa: F401 (this module's names for them)


STYLE = {
    Severity.OK: "$success",
    Severity.WARNING: "bold $warning",
    Severity.CRITICAL: "bold $error",
    Severity.UNKNOWN: "bold $secondary",
}
ACTIVE_STYLE = "bold $accent"
MUTED = "$text-muted"

# Labels fit 10 cells, so a node column stays readable at 80 columns.
SHORT_LABEL = {
    Layer.VIP: "Virtual IP",
    Layer.KEEPALIVED: "Keepalived",
    Layer.NFS: "NFS server",
    Layer.DAG: "DAG proc.",
    Layer.MOUNT: "Filesystem",
    Layer.DRBD: "DRBD",
    Layer.REPLICATION: "Link",
    Layer.DISK: "Phys. disk",
}
LABEL_WIDTH = 10


def severity(sev: Severity) -> Content:
    """'✖ CRITICAL' in the severity's colour."""
    return Content.styled(f"{GLYPH[sev]} {sev.value}", STYLE[sev])


def layer_label(state: LayerState, multi_resource: bool) -> str:
    label = SHORT_LABEL.get(state.layer, state.layer.value)
    if multi_resource and state.resource and state.layer in (Layer.MOUNT, Layer.DRBD, Layer.DISK):
        label = f"{label[:5]} {state.resource}"
    return label


def layer_cell(state: LayerState, *, dim: bool = False) -> Content:
    """'✔ Primary  r0 UpToDate': glyph and word coloured by health, detail muted."""
    style = MUTED if dim else STYLE[state.health]
    parts: list[tuple[str, str] | str] = [(f"{GLYPH[state.health]} {state.state}", style)]
    if state.detail:
        parts += ["  ", (state.detail, MUTED)]
    return Content.assemble(*parts)






def clock_text(epoch: float) -> str:
    """Local wall-clock time of day, for time stamps."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def past_text(epoch: float, now: float) -> str:
    """A time stamp from before the console opened: with the date when it is not ``now``'s day."""
    day = time.localtime(epoch)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if day else "%m-%d %H:%M:%S", time.localtime(epoch))


def speed(kib_s: float | None) -> str:
    if kib_s is None:
        return "—"
    if kib_s >= 1024:
        return f"{kib_s / 1024:.1f} MiB/s"
    return f"{kib_s:.0f} KiB/s"
