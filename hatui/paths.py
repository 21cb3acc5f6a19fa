"""Where hatui keeps its files (XDG locations via platformdirs), and how it creates them.

Everything hatui keeps is private to the operator: the audit log says who did
what to the pair, timelines show the commands, the demo's folder holds SSH
keys and a config pointing at them. So every folder hatui creates is 0700 and
every file 0600, set explicitly (not left to the umask), and the state folder
is made private as soon as anyone asks where it is, whichever writer comes
first.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

_DIRS = PlatformDirs("hatui", appauthor=False)

DIR_MODE = 0o700
FILE_MODE = 0o600


def default_config_file() -> Path:
    """``~/.config/hatui/config.toml`` on Linux."""
    return Path(_DIRS.user_config_dir) / "config.toml"


def state_dir() -> Path:
    """Timelines, the audit log and the demo's keys (``$HATUI_STATE_DIR`` overrides).

    The folder is created (0700) when missing, so files written under it by
    any module are private even if that module only does ``mkdir``.
    """
    override = os.environ.get("HATUI_STATE_DIR")
    path = Path(override) if override else Path(_DIRS.user_state_dir)
    try:
        private_dir(path)
    except OSError:
        pass  # read-only or odd location: the writer that needs it reports the error
    return path


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and its missing parents with mode 0700; existing folders are left alone.

    Returns the path. Folders hatui did not create (``~``, a shared
    ``$HATUI_STATE_DIR``) keep their mode: changing them is the operator's call.
    """
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # exact, whatever the umask
    return path


def open_private(path: str | os.PathLike[str], flags: int) -> tuple[int, bool]:
    """``os.open`` with ``O_CREAT``, the file 0600 in a 0700 folder; returns ``(fd, created)``.

    A file that existed before keeps its content and mode.
    """
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags & ~os.O_CREAT), False
    os.fchmod(fd, FILE_MODE)
    return fd, True


def write_private(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write a whole file, mode 0600 (tightened if it existed wider), in a 0700 folder."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a new entry in folder ``path`` durable (after creating a file in it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
