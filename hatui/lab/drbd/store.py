"""The DRBD emulator's node state: the lab's machine, its backing disk (metadata and one file
per block key) and node-id 0's sync point (:class:`SyncPoint`, what its metadata may say).

Layout under the node's ``disk_dir`` (see :mod:`hatui.lab.node_env`):

* ``drbd-meta.json``  DRBD's on-disk metadata for the local node: disk state,
  current generation (DRBD's current UUID), the generation both sides last had
  in sync, the bitmap (out-of-sync keys) and a pending full sync. The role is
  NOT stored: a node that boots again comes up Secondary, as DRBD does.
* ``data/<key>``      the device's contents, one UTF-8 text file per block key.
  A ``/`` in a key is a sub-folder, so ``export/data-0001`` is readable as
  ``data/export/data-0001`` through the mount point (a bind mount of ``data``).

Both are written atomically (temporary file, fsync, ``os.replace``) and only
what changed since the last :meth:`DiskStore.sync` is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from hatui.emulator.drbd_machine import (KIB_PER_BLOCK, PRIMARY, STANDALONE, UNCONNECTED, UPTODATE, DrbdMachine,
                                         DrbdNode, SyncJob)

META_FILE = "drbd-meta.json"
_TMP = ".~tmp"  # "~" is not allowed in keys, so a temporary file never looks like a block
_KEY = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
INITIAL_GENERATION = 1  # a fresh pair is "in sync" at generation 1 (create-md + --clear-bitmap)


def blocks_digest(blocks: dict[str, str]) -> str:
    """A digest of the device's contents (every key and value): equal digests, equal disks."""
    return hashlib.sha256(json.dumps(blocks, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def block_diff(old: dict[str, str], new: dict[str, str]) -> dict[str, str | None]:
    """What turns the blocks ``old`` into ``new`` (a value, or None = removed)."""
    diff: dict[str, str | None] = {k: v for k, v in new.items() if old.get(k) != v}
    diff.update({k: None for k in old if k not in new})
    return diff


def apply_diff(blocks: dict[str, str], diff: dict[str, str | None]) -> None:
    for key, value in diff.items():
        if value is None:
            blocks.pop(key, None)
        else:
            blocks[key] = value


def key_error(key: object) -> str | None:
    """Why ``key`` cannot name a block (None when it can)."""
    if not isinstance(key, str) or not _KEY.match(key):
        return "block keys are 1-200 characters of [A-Za-z0-9._/-]"
    if any(part in ("", ".", "..") for part in key.split("/")):
        return "block keys have no empty, '.' or '..' path segments"
    return None


@dataclass
class Meta:
    """The local node's persisted DRBD metadata."""

    disk: str = "UpToDate"
    generation: int = INITIAL_GENERATION
    synced_generation: int = INITIAL_GENERATION
    out_of_sync: set[str] = field(default_factory=set)
    needs_full_sync: bool = False

    def to_doc(self) -> dict[str, object]:
        return {"disk": self.disk, "generation": self.generation, "synced_generation": self.synced_generation,
                "out_of_sync": sorted(self.out_of_sync), "needs_full_sync": self.needs_full_sync}


class LabDrbdMachine(DrbdMachine):
    """The demo's machine with DRBD-like random generations (unique across two processes)."""

    def _new_generation(self) -> int:
        while True:
            gen = secrets.randbits(48)
            if gen > 1:
                return gen

    finished: SyncJob | None = None  # the last resync that ran to its end (taken by the daemon)
    own_synced: dict[str, int] | None = None  # during handshake_tick: each node's own sync point

    def handshake_tick(self, now: float, own_synced: dict[str, int]) -> None:
        """``tick`` that runs the handshake, deciding from each node's own ``synced`` (persisted)."""
        self.own_synced = own_synced
        try:
            self.tick(now)
        finally:
            self.own_synced = None

    def _has_new_data(self, node: DrbdNode) -> bool:
        """The handshake decides from each node's own records (:mod:`hatui.lab.drbd.link`)."""
        if self.own_synced is None:
            return super()._has_new_data(node)
        peer, own = self.peer(node.name), self.own_synced
        # Writes since its own sync point; an Inconsistent disk (a SyncTarget's) has none to give.
        moved = {n.name: n.disk == UPTODATE and n.generation != own[n.name] for n in (node, peer)}
        if not any(moved.values()) and node.generation != peer.generation and node.disk == peer.disk == UPTODATE:
            return True  # unrelated data: never guess a direction (split brain)
        return moved[node.name]

    def _handshake(self, a: DrbdNode, b: DrbdNode) -> None:
        """DRBD's refusals before the machine's handshake: a Primary never becomes SyncTarget ("I shall
        become SyncTarget, but I am primary!": rr-conflict disconnect, DRBD's default; its filesystem
        would change under it) and two Primaries never connect (allow-two-primaries no). The refusing
        side goes StandAlone, the other keeps trying, as in DRBD. Found by the chaos run: a frozen
        Primary whose peer had taken over became SyncTarget at the heal, its I/O resumed, and two
        nodes served for a moment."""
        refused = self._refused(a, b)
        if not refused:
            super()._handshake(a, b)
            return
        for node in (a, b):
            node.lost_since = None
            self._set_conn(node, UNCONNECTED)
        for node, why in refused:
            self._log(node.name, why)
            node.want_connect = False
            self._set_conn(node, STANDALONE)

    def _refused(self, a: DrbdNode, b: DrbdNode) -> list[tuple[DrbdNode, str]]:
        a_new, b_new = self._has_new_data(a), self._has_new_data(b)
        if a_new and b_new:
            return []  # split brain (or --discard-my-data): the machine's own handshake
        if a.role == PRIMARY and b.role == PRIMARY and not (a_new or b_new):
            return [(n, "State change failed: (-1) Multiple primaries not allowed by config") for n in (a, b)]
        target = b if a_new else a if b_new else None
        if target is None and a.disk != b.disk and UPTODATE in (a.disk, b.disk):
            target = b if a.disk == UPTODATE else a
        if target is not None and target.role == PRIMARY:
            return [(target, "I shall become SyncTarget, but I am primary!")]
        return []

    def _advance(self, dt: float) -> None:
        job = self.sync
        super()._advance(dt)
        if job is not None and job.kind == "resync" and self.sync is None:
            self.finished = job

    def take_finished(self) -> SyncJob | None:
        job, self.finished = self.finished, None
        return job

    def resync_differences(self, source: str, target: str, keys: set[str], after: str) -> None:
        """The verify after ``after`` found ``keys`` differing on the two disks: say so in both
        kernel logs and resync them from ``source`` (as DRBD's online verify + reconnect would)."""
        kib = len(keys) * KIB_PER_BLOCK
        for name in self.nodes:
            self._log(name, f"Online verify after {after} found {kib} KB out of sync! Resyncing them.")
        self.nodes[source].out_of_sync |= keys
        self._start_resync(source, target)

    def mark_unreplicated(self, name: str, key: str) -> None:
        """A write applied on ``name`` that the peer never confirmed (link lost mid-write):
        out-of-sync, and a new generation if it is the first one, exactly as ``write`` does."""
        node = self.nodes[name]
        node.out_of_sync.add(key)
        if node.generation == self.synced_generation:
            node.generation = self._new_generation()


class SyncPoint:
    """Node-id 0's sync point as its metadata may say it: it follows the follower's disk, which
    only acks a push once that is on its disk (the rule: :mod:`hatui.lab.drbd.link`)."""

    def __init__(self, synced: int) -> None:
        self.durable = synced  # what our metadata says
        self.peer_gen: int | None = None  # the follower's generation as on its disk (offer, acks)
        self.unacked: dict[int, tuple[set[str], int]] = {}  # push seq -> (block keys, follower gen)

    def start(self, peer_gen: int) -> None:
        """A handshake: the follower's offer is what its disk has."""
        self.peer_gen, self.unacked = peer_gen, {}

    def pushed(self, seq: int, keys: Iterable[str], peer_gen: int) -> None:
        self.unacked[seq] = (set(keys), peer_gen)

    def acked(self, seq: int, synced: int) -> bool:
        """Pushes up to ``seq`` are on the follower's disk; True: ``synced`` may now be persisted."""
        done = [s for s in self.unacked if s <= seq]
        if done:
            self.peer_gen = self.unacked[max(done)][1]
            for s in done:
                del self.unacked[s]
        return synced == self.peer_gen != self.durable

    def meta(self, synced: int, out_of_sync: set[str], *, paired: bool) -> tuple[int, set[str]]:
        """The sync point and bitmap to persist for the machine's ``synced`` and ``out_of_sync``."""
        if not paired or synced == self.peer_gen:
            self.durable = synced
        if synced == self.durable:
            return synced, set(out_of_sync)
        return self.durable, set(out_of_sync).union(*(keys for keys, _ in self.unacked.values()))

    def fall_back(self) -> tuple[int, set[str]]:
        """Not Connected any more, unacked pushes maybe lost: (the sync point, keys now out of sync)."""
        keys: set[str] = set().union(*(k for k, _ in self.unacked.values()))
        self.unacked = {}
        return self.durable, keys


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + _TMP)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class DiskStore:
    """Reads and writes one node's backing disk."""

    def __init__(self, disk_dir: str, data_dir: str) -> None:
        self.disk_dir, self.data_dir = Path(disk_dir), Path(data_dir)
        self.meta_path = self.disk_dir / META_FILE
        self._meta_doc: dict[str, object] | None = None
        self._blocks: dict[str, str] = {}  # what is on disk now

    def load(self) -> tuple[Meta, dict[str, str], bool]:
        """(metadata, blocks, fresh): fresh metadata is created on first start."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        blocks: dict[str, str] = {}
        for path in sorted(self.data_dir.rglob("*")):
            if not path.is_file():
                continue
            if path.name.endswith(_TMP):
                path.unlink(missing_ok=True)  # a write interrupted by a crash
                continue
            key = path.relative_to(self.data_dir).as_posix()
            if key_error(key) is None:
                blocks[key] = path.read_text(encoding="utf-8", errors="replace")
        self._blocks = dict(blocks)
        fresh = not self.meta_path.exists()
        if fresh:
            meta = Meta()
        else:
            doc = json.loads(self.meta_path.read_text())
            meta = Meta(disk=str(doc.get("disk", "UpToDate")),
                        generation=int(doc.get("generation", INITIAL_GENERATION)),
                        synced_generation=int(doc.get("synced_generation", INITIAL_GENERATION)),
                        out_of_sync=set(doc.get("out_of_sync", [])),
                        needs_full_sync=bool(doc.get("needs_full_sync", False)))
        self.save_meta(meta)
        return meta, blocks, fresh

    def save_meta(self, meta: Meta) -> None:
        doc = meta.to_doc()
        if doc != self._meta_doc:
            _atomic_write(self.meta_path, json.dumps(doc, indent=1) + "\n")
            self._meta_doc = doc

    def sync_blocks(self, blocks: dict[str, str]) -> int:
        """Write what changed since the last call (and remove dropped keys); returns how many."""
        changed = 0
        for key, value in blocks.items():
            if self._blocks.get(key) != value:
                path = self.data_dir / key
                path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(path, value)
                self._blocks[key] = value
                changed += 1
        for key in [k for k in self._blocks if k not in blocks]:
            path = self.data_dir / key
            path.unlink(missing_ok=True)
            del self._blocks[key]
            changed += 1
            parent = path.parent
            while parent != self.data_dir and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        return changed
