"""A pure DRBD state machine: one resource replicated between two nodes.

No I/O, no asyncio, no SSH: time comes in through ``tick(now)`` and every
command returns a :class:`CommandResult` with DRBD's own refusal text and exit
code. The demo pair and the network-namespace lab both drive it, so it must
stay free of transport concerns.

Model (deliberately small, but faithful where hatui looks):

* Each node holds ``blocks`` (key -> value, each key stands for 4 MiB of the
  device), a data ``generation`` (DRBD's current UUID) and an ``out_of_sync``
  set (its bitmap: keys written while the peer could not get them).
* The pair remembers ``synced_generation``: the generation both sides had the
  last time they were in sync. A node whose generation differs has new data.
* Protocol C: a write on a connected Primary lands on both sides before it
  returns. A write that cannot be replicated lands locally, is marked
  out-of-sync, and (first time) starts a new generation.
* Handshake on reconnect: one side new -> it is SyncSource; both new -> split
  brain (both StandAlone) unless one side said ``--discard-my-data``.
"""

from __future__ import annotations

import time
from typing import Callable

from hatui.emulator.drbd_base import (  # noqa: F401 (re-exported: the machine's vocabulary)
    BACKING_KIB, CONNECTED, CONNECTING, DEFAULT_DEVICE_KIB, DUNKNOWN, ESTABLISHED, INCONSISTENT, KIB_PER_BLOCK, OFF,
    OUTDATED, PRIMARY, SECONDARY, STANDALONE, UNCONNECTED, UNKNOWN, UPTODATE, CommandResult, DrbdNode, SyncJob)
from hatui.emulator.drbd_events import Events2Stream, dump_lines, emits, iso_timestamp
from hatui.emulator.drbd_fencing import FencingConfig, FencingMixin, HelperRunner, simulated_fence_peer
from hatui.emulator.drbd_sync import SyncMixin


class DrbdMachine(SyncMixin, FencingMixin):
    """Resource ``r0`` between two nodes; the first name starts as Primary."""

    def __init__(
        self,
        names: tuple[str, str] = ("vm2", "vm12"),
        *,
        resource: str = "r0",
        minor: int = 0,
        device_kib: int = DEFAULT_DEVICE_KIB,
        sync_rate_kib_s: float = 40 * 1024,
        verify_rate_kib_s: float = 200 * 1024,
        ping_timeout: float = 1.0,
        connect_retry: float = 0.5,
        primary: str | None = None,
        blocks: dict[str, str] | None = None,
        now: float = 0.0,
        fencing: FencingConfig | str | None = None,
        run_helper: HelperRunner | None = simulated_fence_peer,
    ) -> None:
        self.resource, self.minor, self.device_kib = resource, minor, device_kib
        self.sync_rate_kib_s, self.verify_rate_kib_s = sync_rate_kib_s, verify_rate_kib_s
        self.ping_timeout, self.connect_retry = ping_timeout, connect_retry
        self.nodes = {n: DrbdNode(n, i, blocks=dict(blocks or {})) for i, n in enumerate(names)}
        self.nodes[primary or names[0]].role = PRIMARY
        self.synced_generation = 1
        self._next_generation = 2
        self.link_up = True
        self.sync: SyncJob | None = None
        self.now = now
        self.log: list[tuple[float, str, str]] = []  # (time, node, kernel-style message)
        self.helpers: list[tuple[float, str, str]] = []  # (time, node, helper) e.g. split-brain
        self.events = Events2Stream(self)  # drbdsetup events2 subscribers
        self._fencing_init(fencing, run_helper)  # dont-care unless told: DRBD's default

    # ---- queries --------------------------------------------------------------

    def node(self, name: str) -> DrbdNode:
        return self.nodes[name]

    def peer(self, name: str) -> DrbdNode:
        return next(n for k, n in self.nodes.items() if k != name)

    def connected(self, name: str) -> bool:
        return self.nodes[name].conn == CONNECTED

    def replication(self, name: str) -> str:
        if not self.connected(name):
            return OFF
        job = self.sync
        if job is None:
            return ESTABLISHED
        if job.kind == "verify":
            return "VerifyS" if job.source == name else "VerifyT"
        return "SyncSource" if job.source == name else "SyncTarget"

    def peer_role(self, name: str) -> str:
        return self.peer(name).role if self.connected(name) else UNKNOWN

    def peer_disk(self, name: str) -> str:
        if self.connected(name):
            return self.peer(name).disk
        return OUTDATED if self.nodes[name].peer_fenced is not None else DUNKNOWN

    def out_of_sync_kib(self, name: str) -> int:
        """What this node's bitmap says the peer lacks (or, when target, it lacks)."""
        if self.sync is not None and self.sync.kind == "resync" and self.connected(name):
            return int(self.sync.left_kib)
        if self.connected(name):
            return 0
        node = self.nodes[name]
        if node.needs_full_sync:
            return self.device_kib
        return min(self.device_kib, len(node.out_of_sync) * KIB_PER_BLOCK)

    def percent_in_sync(self, name: str) -> float:
        return round(100.0 * (1 - self.out_of_sync_kib(name) / self.device_kib), 2)

    def sync_progress(self, name: str) -> dict[str, float] | None:
        """done % of the running resync/verify (0 -> 100), speed KiB/s, ETA s."""
        job = self.sync
        if job is None or not self.connected(name):
            return None
        done = 100.0 * (job.total_kib - job.left_kib) / job.total_kib if job.total_kib else 100.0
        return {
            "done": round(min(done, 100.0), 2),
            "speed_kib_s": job.rate_kib_s,
            "eta_s": job.left_kib / job.rate_kib_s if job.rate_kib_s else 0.0,
            "total_kib": float(job.total_kib),
            "left_kib": float(job.left_kib),
        }

    def held_open(self, name: str) -> bool:
        return self.nodes[name].open_count > 0

    # ---- drbdsetup events2 -------------------------------------------------------

    def subscribe(self, callback: Callable[[str], None], *, node: str, timestamps: bool = False,
                  statistics: bool = False, wall: Callable[[], float] | None = None) -> Callable[[], None]:
        """Follow ``node``'s ``drbdsetup events2`` after its dump: see :mod:`hatui.emulator.drbd_events`."""
        return self.events.subscribe(callback, node=node, timestamps=timestamps, statistics=statistics,
                                     **({"wall": wall} if wall is not None else {}))

    def events2_dump(self, node: str, *, statistics: bool = False, timestamps: bool = False,
                     wall: float | None = None) -> list[str]:
        """``drbdsetup events2 --now`` on ``node``: ``exists`` lines then ``exists -`` (no newlines)."""
        lines = dump_lines(self, node, statistics=statistics)
        if timestamps:
            stamp = iso_timestamp(time.time() if wall is None else wall)
            lines = [f"{stamp} {line}" for line in lines]
        return lines

    # ---- data path ------------------------------------------------------------

    @emits
    def write(self, name: str, key: str, value: str) -> CommandResult:
        """Application write through ``name``'s /dev/drbd0 (must be Primary)."""
        node = self.nodes[name]
        if not node.up or node.role != PRIMARY:
            return CommandResult(1, stderr=f"/dev/drbd{self.minor}: Wrong medium type\n")
        suspended = self._suspended_write(node)
        if suspended is not None:
            return suspended  # not applied, not acknowledged: fencing holds every write
        node.blocks[key] = value
        node.written_kib += KIB_PER_BLOCK
        peer = self.peer(name)
        if self.connected(name) and self._path_ok():
            # Protocol C: acknowledged only once the peer has it too.
            peer.blocks[key] = value
            node.sent_kib += KIB_PER_BLOCK
            peer.received_kib += KIB_PER_BLOCK
        else:
            node.out_of_sync.add(key)
            if node.generation == self.synced_generation:
                node.generation = self._new_generation()
        return CommandResult(0)

    def read(self, name: str, key: str) -> str | None:
        return self.nodes[name].blocks.get(key)

    def set_open(self, name: str, is_open: bool) -> None:
        """The filesystem on top mounted (held open) or unmounted."""
        self.nodes[name].open_count = 1 if is_open else 0

    # ---- commands (drbdadm verbs) ----------------------------------------------

    def _fail(self, code: int, text: str, rc: int, cmd: str) -> CommandResult:
        err = f"{self.resource}: State change failed: ({code}) {text}\n"
        err += f"Command 'drbdsetup {cmd} {self.resource}' terminated with exit code {rc}\n"
        return CommandResult(rc, stderr=err)

    @emits
    def primary(self, name: str, *, force: bool = False) -> CommandResult:
        node = self.nodes[name]
        if node.role == PRIMARY:
            return CommandResult(0)
        if self.connected(name) and self.peer(name).role == PRIMARY:
            return self._fail(-1, "Multiple primaries not allowed by config", 11, "primary")
        if node.disk != UPTODATE and not force:
            return self._fail(-2, "Need access to UpToDate data", 17, "primary")
        if not force and self.promote_needs_fencing(name):
            if self.run_helper is not None:
                self.call_helper(name, "fence-peer")  # the lab's daemon runs it before it gets here
            if node.peer_fenced is None:
                return self._fail(-7, "Refusing to be Primary while peer is not outdated", 11, "primary")
        if force and node.disk != UPTODATE:
            # --force declares these (possibly stale) blocks the truth: new data history.
            node.disk = UPTODATE
            node.needs_full_sync = False
            if self.sync is not None and self.sync.target == name:
                self.sync = None
            node.generation = self._new_generation()
        node.role = PRIMARY
        return CommandResult(0)

    @emits
    def secondary(self, name: str) -> CommandResult:
        node = self.nodes[name]
        if node.role == SECONDARY:
            return CommandResult(0)
        if node.open_count > 0:
            return self._fail(-12, "Device is held open by someone", 11, "secondary")
        node.role = SECONDARY
        return CommandResult(0)

    @emits
    def connect(self, name: str, *, discard_my_data: bool = False) -> CommandResult:
        node = self.nodes[name]
        node.want_connect = True
        node.discard_my_data = discard_my_data or node.discard_my_data
        if node.conn == STANDALONE:
            self._set_conn(node, CONNECTING)
        return CommandResult(0)

    @emits
    def disconnect(self, name: str) -> CommandResult:
        node = self.nodes[name]
        was_connected = node.conn == CONNECTED
        node.want_connect = False
        self._set_conn(node, STANDALONE)
        if was_connected:
            self._abort_sync()
            peer = self.peer(name)
            if peer.up and peer.conn == CONNECTED:
                # A clean disconnect is noticed at once, no ping timeout.
                self._set_conn(peer, UNCONNECTED)
                self._graceful_disconnect(node, peer)
        return CommandResult(0)

    # ---- faults -----------------------------------------------------------------

    @emits
    def cut_link(self, *, immediate: bool = False) -> None:
        """Replication link down; sides notice after ping_timeout (or now)."""
        self.link_up = False
        if immediate:
            for node in self.nodes.values():
                if node.up and node.conn == CONNECTED:
                    self._lose(node, "Network failure (immediate)")

    @emits
    def heal_link(self) -> None:
        self.link_up = True

    @emits
    def crash(self, name: str) -> None:
        """The node dies; its DRBD state is frozen until :meth:`restore`."""
        node = self.nodes[name]
        node.up = False
        node.open_count = 0

    @emits
    def restore(self, name: str) -> None:
        """The node boots again: Secondary, trying to connect, disk as it was."""
        node = self.nodes[name]
        node.up, node.role, node.open_count = True, SECONDARY, 0
        node.suspended, node.peer_fenced, node.unfence_due = None, None, False
        node.want_connect, node.discard_my_data, node.lost_since = True, False, None
        self._set_conn(node, CONNECTING)

    # ---- time -------------------------------------------------------------------

    @emits
    def tick(self, now: float) -> None:
        """Advance to ``now``: notice lost links, reconnect, progress resync."""
        dt = max(0.0, now - self.now)
        self.now = now
        for node in self.nodes.values():
            if not node.up:
                continue
            if node.conn == CONNECTED and not self._path_ok():
                if node.lost_since is None:
                    node.lost_since = now
                if now - node.lost_since >= self.ping_timeout:
                    self._lose(node, "PingAck did not arrive in time.")
            elif node.conn == CONNECTED:
                node.lost_since = None
            if node.conn == UNCONNECTED and node.want_connect and now - node.conn_since >= self.connect_retry:
                self._set_conn(node, CONNECTING)
        a, b = self.nodes.values()
        if self._path_ok() and a.conn == CONNECTING and b.conn == CONNECTING:
            self.events.flush()  # events2 shows each step: Connecting, Connected, the resync's start, its progress
            self._handshake(a, b)
            self.events.flush()
        self._advance(dt)

    def _path_ok(self) -> bool:
        return self.link_up and all(n.up for n in self.nodes.values())

    def _lose(self, node: DrbdNode, why: str) -> None:
        self._log(node.name, why)
        self._abort_sync()
        node.lost_since = None
        self._set_conn(node, UNCONNECTED)
        self._fence_on_disconnect(node)

    def _set_conn(self, node: DrbdNode, state: str) -> None:
        node.conn, node.conn_since = state, self.now

    def _handshake(self, a: DrbdNode, b: DrbdNode) -> None:
        a_new, b_new = self._has_new_data(a), self._has_new_data(b)
        source = target = None
        if a_new and b_new:
            if a.discard_my_data != b.discard_my_data:
                source, target = (b, a) if a.discard_my_data else (a, b)
            else:
                for node in (a, b):
                    self._log(node.name, "Split-Brain detected, dropping connection!")
                    self.helpers.append((self.now, node.name, "split-brain"))
                    self.events.helper(node.name, "split-brain")
                    self.events.helper(node.name, "split-brain", 0)
                    node.want_connect = False
                    self._set_conn(node, STANDALONE)
                return
        elif a_new or b_new:
            source, target = (a, b) if a_new else (b, a)
        elif a.disk == UPTODATE and b.disk != UPTODATE:
            source, target = a, b
        elif b.disk == UPTODATE and a.disk != UPTODATE:
            source, target = b, a
        for node in (a, b):
            node.discard_my_data = False
            node.lost_since = None
            self._set_conn(node, CONNECTED)
            self._log(node.name, f"Handshake to peer {self.peer(node.name).node_id} successful")
            self._fence_on_connect(node)
        if source is None:
            self.synced_generation = a.generation
            a.out_of_sync.clear()
            b.out_of_sync.clear()
            for node in (a, b):
                self.check_unfence(node.name)
        else:
            self._start_resync(source.name, target.name)

    def _has_new_data(self, node: DrbdNode) -> bool:
        """Handshake: ``node`` may have writes its peer lacks (the lab asks each node's own records)."""
        return node.generation != self.synced_generation

    def _sync_finished(self, job: SyncJob) -> None:
        if job.kind == "resync":
            self.check_unfence(job.source)

    def _new_generation(self) -> int:
        gen, self._next_generation = self._next_generation, self._next_generation + 1
        return gen

    def _log(self, node: str, message: str) -> None:
        self.log.append((self.now, node, f"drbd {self.resource}: {message}"))
        del self.log[:-200]  # bounded: the demo runs for hours

    def snapshot(self) -> dict[str, object]:
        """JSON-able state for ``hatui-sim state`` and tests."""
        nodes = {}
        for name, n in self.nodes.items():
            nodes[name] = {
                "up": n.up, "role": n.role, "disk": n.disk, "connection": n.conn,
                "replication": self.replication(name), "peer_role": self.peer_role(name),
                "peer_disk": self.peer_disk(name), "generation": n.generation,
                "out_of_sync": sorted(n.out_of_sync), "out_of_sync_kib": self.out_of_sync_kib(name),
                "open": n.open_count > 0, "blocks": dict(n.blocks), "progress": self.sync_progress(name),
                "suspended": n.suspended, "peer_fenced": n.peer_fenced,
            }
        return {"resource": self.resource, "link_up": self.link_up, "fencing": self.fencing.policy,
                "synced_generation": self.synced_generation, "nodes": nodes}
