"""Short human texts for times, shared by the Rich renderer, the health messages and the console."""

from __future__ import annotations


def age_text(seconds: float) -> str:
    """'3s', '4m12s', '2h05m': compact age for headers and 'last seen'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def duration_text(seconds: float | None) -> str:
    """ETA text: '1:05', '2:03:10', '?' when unknown."""
    if seconds is None:
        return "?"
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
