"""`hatui status --from DIR`: build a snapshot from captured raw outputs, not SSH.

Layout (documented in README)::

    DIR/
      config.toml          optional; else the usual config lookup
      vm2/                 one folder per node, named as in the config
        drbd.txt           any of: drbdsetup status --json, drbdadm status, /proc/drbd
        drbdconf.txt       drbdsetup show (or drbdadm dump): the fencing policy
        ip.json            ip -j addr
        keepalived.json    keepalived JSON dump (or the SIGUSR1 text dump)
        units.txt          systemctl show -p Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp …
        exports.txt        exportfs -v
        mount.r0.json      findmnt -J … --mountpoint (empty file: not mounted)
        disk.r0.json       lsblk -J -b …
        clusterstack.txt   pgrep -l -x 'pacemakerd|corosync' (empty: none)
      vm12/ …

A file is named after its section, with any extension. Friendlier names are
accepted too (``proc-drbd``, ``drbdadm-status.txt``, ``ip-addr.json``,
``systemctl-show.txt``, ``exportfs.txt``, ``findmnt.json``, ``lsblk.json``,
``pgrep.txt``); the DRBD file's format is detected from its content. A probe
with no file is "not reported", never assumed healthy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hatui.config import Config, parse_config
from hatui.errors import ConfigError
from hatui.health import evaluate
from hatui.model import ClusterSnapshot
from hatui.snapshot.assemble import build_node_snapshot
from hatui.probes import catalog
from hatui.probes.script import Section

_EXTENSIONS = (".txt", ".json", ".out", ".log")
_ALIASES = (
    ("drbdsetup-show", catalog.DRBD_CONFIG),
    ("drbdadm-dump", catalog.DRBD_CONFIG),
    ("drbdconf", catalog.DRBD_CONFIG),
    ("proc-drbd", catalog.DRBD),
    ("drbdsetup", catalog.DRBD),
    ("drbdadm", catalog.DRBD),
    ("drbd", catalog.DRBD),
    ("ip", catalog.IP),
    ("keepalived", catalog.KEEPALIVED),
    ("systemctl", catalog.UNITS),
    ("units", catalog.UNITS),
    ("exportfs", catalog.EXPORTS),
    ("exports", catalog.EXPORTS),
    ("pgrep", catalog.CLUSTER_STACK),
    ("clusterstack", catalog.CLUSTER_STACK),
    ("clock", catalog.CLOCK),
    ("date", catalog.CLOCK),
    ("dag_health", catalog.DAG_HEALTH),
    ("journal", catalog.JOURNAL),
)


def section_name(filename: str, config: Config) -> str | None:
    """Which section a captured file holds, or None to ignore it."""
    stem = filename
    for ext in _EXTENSIONS:
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    first = config.drbd[0].resource
    for res in config.drbd:
        if stem in (catalog.mount_section(res.resource), catalog.disk_section(res.resource)):
            return stem
    if stem.startswith(("findmnt", "mount")):
        return catalog.mount_section(first)
    if stem.startswith(("lsblk", "disk")):
        return catalog.disk_section(first)
    for prefix, section in _ALIASES:
        if stem == prefix or stem.startswith(prefix + "-") or stem.startswith(prefix + "_"):
            return section
    return None


def read_node_dir(folder: Path, config: Config) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        name = section_name(path.name, config)
        if name is None:
            continue
        text = path.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        sections[name] = Section(name, 0, text)
    return sections


def load_capture_config(folder: Path, fallback) -> Config:
    own = folder / "config.toml"
    if own.is_file():
        return parse_config(own.read_text(encoding="utf-8"), str(own))
    return fallback()


def snapshot_from_dir(folder: Path, config: Config) -> ClusterSnapshot:
    """Parse a capture directory into a full snapshot with findings."""
    if not folder.is_dir():
        raise ConfigError(f"--from {folder}: not a directory")
    nodes = []
    when = folder.stat().st_mtime
    for name in config.node_names:
        node_dir = folder / name
        if not node_dir.is_dir():
            found = sorted(p.name for p in folder.iterdir() if p.is_dir())
            raise ConfigError(f"--from {folder}: no folder {name!r} for node {name} (found: {found or 'none'})")
        sections = read_node_dir(node_dir, config)
        nodes.append(build_node_snapshot(name, sections, config, polled_at=when, latency=None))
    snap = ClusterSnapshot(config=config, nodes=(nodes[0], nodes[1]), taken_at=when)
    findings, verdict = evaluate(snap)
    return dataclasses.replace(snap, findings=findings, verdict=verdict)
