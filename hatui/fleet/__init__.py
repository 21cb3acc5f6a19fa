"""A fleet: several HA pairs, each described by today's single-pair config file.

Why a folder of pair files (``conf.d/``) and not ``[[pairs]]`` in one file:

* a pair file is exactly the single-pair format (``hatui config example``): an existing
  config joins a fleet by being copied into the folder, and every command that acts on
  one pair reads that same file, parsed by the same :func:`hatui.config.parse_config`;
* one pair's broken file (bad TOML, a typo, a missing key) breaks only that pair: it is
  a row with its error while every other pair is polled. With ``[[pairs]]`` a single
  syntax error anywhere stops the whole file from being read — every pair at once;
* configuration management drops one file per pair, and nobody has to nest the pair
  format's tables (``[[pairs.nodes]]``, ``[pairs.vip]``), which is easy to get wrong.

Where the fleet comes from (:func:`fleet_files`):

* ``--config DIR`` (or ``$HATUI_CONFIG=DIR``): every ``*.toml`` in DIR, in name order;
* ``--config FILE``: that one pair (the single-pair config keeps working unchanged);
* neither: ``~/.config/hatui/config.toml`` if it exists, plus ``~/.config/hatui/conf.d/*.toml``.

A pair is named by its ``cluster.name``. A file that cannot be read becomes a pair named
after the file (its stem) that carries the error; when two files use one name, the
second carries the error. Core module: no Textual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hatui import paths
from hatui.config import Config, parse_config
from hatui.errors import ConfigError

CONF_D = "conf.d"


@dataclass(frozen=True)
class PairEntry:
    """One pair of the fleet: its config, or why it has none."""

    name: str
    path: Path
    config: Config | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.config is not None


@dataclass(frozen=True)
class Fleet:
    """Every configured pair, in file order."""

    source: Path  # the folder (or the one file) the pairs were read from
    pairs: tuple[PairEntry, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.pairs)

    def pair(self, name: str) -> PairEntry:
        """The pair called ``name``; :class:`ConfigError` names the ones there are."""
        for entry in self.pairs:
            if entry.name == name:
                return entry
        raise ConfigError(f"no pair {name!r} in {self.source} (pairs: {', '.join(self.names) or 'none'})")


def _explicit(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("HATUI_CONFIG")
    return Path(env).expanduser() if env else None


def fleet_files(explicit: str | os.PathLike[str] | None = None) -> tuple[Path, list[Path]]:
    """``(source, pair files)`` by the rules in the module doc; :class:`ConfigError` when there is none."""
    path = _explicit(explicit)
    if path is not None:
        if path.is_dir():
            files = sorted(p for p in path.glob("*.toml") if p.is_file())
            if not files:
                raise ConfigError(f"no pair files (*.toml) in {path}")
            return path, files
        if not path.exists():
            raise ConfigError(f"no config at {path} (a pair file, or a folder of pair files)")
        return path, [path]
    single = paths.default_config_file()
    folder = single.parent / CONF_D
    files = [single] if single.is_file() else []
    if folder.is_dir():
        files += sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not files:
        raise ConfigError(f"no config at {single} nor pair files in {folder} "
                          f"(create one with `hatui config example > {single}`, or try `hatui demo`)")
    return (folder if folder.is_dir() else single), files


def _read(path: Path) -> PairEntry:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return PairEntry(path.stem, path, None, f"cannot read {path}: {exc.strerror or exc}")
    try:
        config = parse_config(text, str(path))
    except ConfigError as exc:
        return PairEntry(path.stem, path, None, str(exc))
    return PairEntry(config.cluster.name, path, config)


def load_fleet(explicit: str | os.PathLike[str] | None = None) -> Fleet:
    """Read every pair file; a bad file is a pair with an error, never an exception.

    Raises :class:`ConfigError` only when there is no pair file at all.
    """
    source, files = fleet_files(explicit)
    seen: dict[str, Path] = {}
    entries = []
    for path in files:
        entry = _read(path)
        if entry.name in seen:
            entry = PairEntry(f"{entry.name}@{path.stem}", path, None,
                              f"{path}: pair name {entry.name!r} is already used by {seen[entry.name]}")
        seen.setdefault(entry.name, path)
        entries.append(entry)
    return Fleet(source, tuple(entries))


def pair_config_path(explicit: str | os.PathLike[str] | None, name: str) -> Path:
    """The file of pair ``name`` (for ``--pair NAME``); :class:`ConfigError` when it is unknown or broken."""
    entry = load_fleet(explicit).pair(name)
    if entry.error is not None:
        raise ConfigError(entry.error)
    return entry.path
