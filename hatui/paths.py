"""Where hatui keeps its files (XDG locations via platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

_DIRS = PlatformDirs("hatui", appauthor=False)


def default_config_file() -> Path:
    """``~/.config/hatui/config.toml`` on Linux."""
    return Path(_DIRS.user_config_dir) / "config.toml"


def state_dir() -> Path:
    """Timelines, the audit log and the demo's keys (``$HATUI_STATE_DIR`` overrides)."""
    override = os.environ.get("HATUI_STATE_DIR")
    return Path(override) if override else Path(_DIRS.user_state_dir)
