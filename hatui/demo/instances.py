"""One state folder per running demo, so demos never trample each other.

Each ``hatui demo`` gets ``STATE/demo/<pid>/`` (0700) for its config, keys,
known_hosts, and — through ``$HATUI_STATE_DIR`` for its own process — its
timelines and audit log. A ``pid`` file marks it running; ``hatui demo fault``
without ``--config`` talks to the one demo that is running, and names them all
when there are several instead of guessing. Folders of demos that are gone
are kept (their timelines may be worth a look) but never chosen.
"""

from __future__ import annotations

import os
from pathlib import Path

from hatui import paths
from hatui.errors import ConfigError

CONFIG = "config.toml"


def root() -> Path:
    return paths.state_dir() / "demo"


def new_instance() -> Path:
    """This process's demo folder, marked running."""
    folder = paths.private_dir(root() / str(os.getpid()))
    paths.write_private(folder / "pid", f"{os.getpid()}\n")
    return folder


def finished(folder: Path) -> None:
    """The demo in ``folder`` stopped: it is no longer a candidate for ``demo fault``."""
    try:
        (folder / "pid").unlink()
    except OSError:
        pass


def _alive(folder: Path) -> bool:
    try:
        pid = int((folder / "pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def running() -> list[Path]:
    """The folders of demos running now, oldest first."""
    base = root()
    if not base.is_dir():
        return []
    live = [p for p in base.iterdir() if p.is_dir() and _alive(p)]
    return sorted(live, key=lambda p: p.stat().st_mtime)


def running_config() -> Path:
    """The config of the one running demo; a clear error when there is none, or more than one."""
    live = [p for p in running() if (p / CONFIG).is_file()]
    if not live:
        raise ConfigError("no demo is running (start one with `hatui demo`, or pass --config)")
    if len(live) > 1:
        listed = ", ".join(str(p / CONFIG) for p in live)
        raise ConfigError(f"{len(live)} demos are running: choose one with --config ({listed})")
    return live[0] / CONFIG
