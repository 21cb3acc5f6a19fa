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
* Handshake on reconnect: :func:`~hatui.emulator.drbd_sync.sync_direction`.
"""

from __future__ import annotations

from hatui.emulator.drbd_base import (  # noqa: F401 (re-exported: the machine's vocabulary)
    BACKING_KIB, CONNECTED, CONNECTING, DEFAULT_DEVICE_KIB, DUNKNOWN, ESTABLISHED, INCONSISTENT, KIB_PER_BLOCK, OFF,
    OUTDATED, PRIMARY, SECONDARY, STANDALONE, UNCONNECTED, UNKNOWN, UPTODATE, CommandResult, DrbdNode, SyncJob, refusal)
from hatui.emulator.drbd_events import Events2Stream, emits
from hatui.emulator.drbd_fencing import Fencing, FencingConfig, HelperCall, HelperRunner, simulated_fence_peer
from hatui.emulator.drbd_sync import SPLIT_BRAIN, Resync, sync_direction


class DrbdMachine:
    """Resource ``r0`` between two nodes; the first name starts as Primary.

    Owns three components, each seeing the machine through a narrow protocol: the resync/verify
    job (:class:`Resync`), fencing (:class:`Fencing`) and the events2 subscribers (``events``).
    """

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
        self.ping_timeout, self.connect_retry = ping_timeout, connect_retry
        self.nodes = {n: DrbdNode(n, i, blocks=dict(blocks or {})) for i, n in enumerate(names)}
        self.nodes[primary or names[0]].role = PRIMARY
        self.synced_generation = 1
        self._next_generation = 2
        self.link_up = True
        self.now = now
        self.log: list[tuple[float, str, str]] = []  # (time, node, kernel-style message)
        self.helpers: list[tuple[float, str, str]] = []  # (time, node, helper) e.g. split-brain
        self.run_helper = run_helper  # in-process handler runner (the demo); None: calls queue for the driver
        self.public_cut: set[str] = set()  # demo: nodes cut off the public network (the handler cannot reach them)
        self.events = Events2Stream(self)  # drbdsetup events2: events.subscribe(...), events.dump(...)
        self._resync = Resync(self, sync_rate_kib_s=sync_rate_kib_s, verify_rate_kib_s=verify_rate_kib_s)
        self._fence = Fencing(self, fencing, self._run_helper)  # dont-care unless told: DRBD's default

    # ---- queries --------------------------------------------------------------

    def node(self, name: str) -> DrbdNode:
        return self.nodes[name]

    def peer(self, name: str) -> DrbdNode:
        return next(n for k, n in self.nodes.items() if k != name)

    def connected(self, name: str) -> bool:
        return self.nodes[name].conn == CONNECTED

    def replication(self, name: str) -> str:
        return self._resync.replication(name) if self.connected(name) else OFF

    def peer_role(self, name: str) -> str:
        return self.peer(name).role if self.connected(name) else UNKNOWN

    def peer_disk(self, name: str) -> str:
        if self.connected(name):
            return self.peer(name).disk
        return OUTDATED if self.nodes[name].peer_fenced is not None else DUNKNOWN

    def out_of_sync_kib(self, name: str) -> int:
        return self._resync.out_of_sync_kib(name, connected=self.connected(name))

    def percent_in_sync(self, name: str) -> float:
        return round(100.0 * (1 - self.out_of_sync_kib(name) / self.device_kib), 2)

    def sync_progress(self, name: str) -> dict[str, float] | None:
        return self._resync.progress() if self.connected(name) else None

    # ---- the components' state and verbs -------------------------------------------

    @property
    def sync(self) -> SyncJob | None:
        """The running resync or verify (None when none runs)."""
        return self._resync.job

    @sync.setter
    def sync(self, job: SyncJob | None) -> None:
        self._resync.job = job

    @property
    def fencing(self) -> FencingConfig:
        return self._fence.config

    @property
    def helper_calls(self) -> list[HelperCall]:
        """Handler calls waiting for the driver (when ``run_helper`` is None)."""
        return self._fence.helper_calls

    @emits
    def invalidate(self, name: str) -> CommandResult:
        """Throw away local data: full resync with this node as SyncTarget."""
        return self._resync.invalidate(name)

    @emits
    def invalidate_remote(self, name: str) -> CommandResult:
        return self._resync.invalidate_remote(name)

    @emits
    def verify(self, name: str) -> CommandResult:
        return self._resync.verify(name)

    @emits
    def outdate(self, name: str) -> CommandResult:
        return self._fence.outdate(name)

    @emits
    def resume_io(self, name: str) -> CommandResult:
        return self._fence.resume_io(name)

    @emits
    def helper_done(self, call: HelperCall, rc: int) -> None:
        """A handler the driver ran finished with exit code ``rc``."""
        self._fence.helper_done(call, rc)

    def call_helper(self, name: str, helper: str) -> HelperCall:
        return self._fence.call_helper(name, helper)

    def take_helper_calls(self) -> list[HelperCall]:
        return self._fence.take_helper_calls()

    def check_unfence(self, name: str) -> None:
        self._fence.check_unfence(name)

    def promote_needs_fencing(self, name: str) -> bool:
        return self._fence.promote_needs_fencing(name)

    def suspended(self, name: str) -> str | None:
        """Why I/O on ``name`` is suspended ("fencing", "user"), None when it is not."""
        return self.nodes[name].suspended

    # ---- data path ------------------------------------------------------------

    @emits
    def write(self, name: str, key: str, value: str) -> CommandResult:
        """Application write through ``name``'s /dev/drbd0 (must be Primary)."""
        node = self.nodes[name]
        if not node.up or node.role != PRIMARY:
            return CommandResult(1, stderr=f"/dev/drbd{self.minor}: Wrong medium type\n")
        suspended = self._fence.suspended_write(node)
        if suspended is not None:
            return suspended  # not applied, not acknowledged: fencing holds every write
        node.blocks[key] = value
        node.written_kib += KIB_PER_BLOCK
        peer = self.peer(name)
        if self.connected(name) and self.path_ok():
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

    def refuse(self, code: int, text: str, rc: int, cmd: str) -> CommandResult:
        return refusal(self.resource, code, text, rc, cmd)

    @emits
    def primary(self, name: str, *, force: bool = False) -> CommandResult:
        node = self.nodes[name]
        if node.role == PRIMARY:
            return CommandResult(0)
        if self.connected(name) and self.peer(name).role == PRIMARY:
            return self.refuse(-1, "Multiple primaries not allowed by config", 11, "primary")
        if node.disk != UPTODATE and not force:
            return self.refuse(-2, "Need access to UpToDate data", 17, "primary")
        if not force and not self._fence.peer_fenced_for_promote(name, run=self.run_helper is not None):
            return self.refuse(-7, "Refusing to be Primary while peer is not outdated", 11, "primary")
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
            return self.refuse(-12, "Device is held open by someone", 11, "secondary")
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
            self._resync.abort()
            peer = self.peer(name)
            if peer.up and peer.conn == CONNECTED:
                # A clean disconnect is noticed at once, no ping timeout.
                self._set_conn(peer, UNCONNECTED)
                self._fence.on_graceful_disconnect(node, peer)
        return CommandResult(0)

    # ---- faults -----------------------------------------------------------------

    @emits
    def cut_link(self, *, immediate: bool = False) -> None:
        """Replication link down; sides notice after ping_timeout (or now)."""
        self.link_up = False
        if immediate:
            for node in self.nodes.values():
                if node.up and node.conn == CONNECTED:
                    self.lose_connection(node.name, "Network failure (immediate)")

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
            if node.conn == CONNECTED and not self.path_ok():
                if node.lost_since is None:
                    node.lost_since = now
                if now - node.lost_since >= self.ping_timeout:
                    self.lose_connection(node.name, "PingAck did not arrive in time.")
            elif node.conn == CONNECTED:
                node.lost_since = None
            if node.conn == UNCONNECTED and node.want_connect and now - node.conn_since >= self.connect_retry:
                self._set_conn(node, CONNECTING)
        a, b = self.nodes.values()
        if self.path_ok() and a.conn == CONNECTING and b.conn == CONNECTING:
            self.events.flush()  # events2 shows each step: Connecting, Connected, the resync's start, its progress
            self._handshake(a, b)
            self.events.flush()
        self._advance(dt)

    def path_ok(self) -> bool:
        """The replication link works and both nodes are up."""
        return self.link_up and all(n.up for n in self.nodes.values())

    def lose_connection(self, name: str, why: str) -> None:
        """``name`` notices that its connection is gone (the link broke, or its peer died)."""
        node = self.nodes[name]
        self.kernel_log(name, why)
        self._resync.abort()
        node.lost_since = None
        self._set_conn(node, UNCONNECTED)
        self._fence.on_disconnect(node)

    def _set_conn(self, node: DrbdNode, state: str) -> None:
        node.conn, node.conn_since = state, self.now

    def _handshake(self, a: DrbdNode, b: DrbdNode) -> None:
        outcome = sync_direction(a, b, self._has_new_data(a), self._has_new_data(b))
        if outcome == SPLIT_BRAIN:
            for node in (a, b):
                self.kernel_log(node.name, "Split-Brain detected, dropping connection!")
                self.helper_event(node.name, "split-brain")
                self.helper_event(node.name, "split-brain", 0)
                node.want_connect = False
                self._set_conn(node, STANDALONE)
            return
        for node in (a, b):
            node.discard_my_data = False
            node.lost_since = None
            self._set_conn(node, CONNECTED)
            self.kernel_log(node.name, f"Handshake to peer {self.peer(node.name).node_id} successful")
            self._fence.on_connect(node)
        if outcome is None:
            self.synced_generation = a.generation
            a.out_of_sync.clear()
            b.out_of_sync.clear()
            for node in (a, b):
                self.check_unfence(node.name)
        else:
            self._start_resync(*outcome)

    def _has_new_data(self, node: DrbdNode) -> bool:
        """Handshake: ``node`` may have writes its peer lacks (the lab asks each node's own records)."""
        return node.generation != self.synced_generation

    def _start_resync(self, source: str, target: str) -> None:
        self._resync.start(source, target)

    def _advance(self, dt: float) -> None:
        job = self._resync.advance(dt)
        if job is not None and job.kind == "resync":
            self.synced_generation = self.nodes[job.source].generation
            self.check_unfence(job.source)

    def _new_generation(self) -> int:
        gen, self._next_generation = self._next_generation, self._next_generation + 1
        return gen

    def kernel_log(self, node: str, message: str) -> None:
        """A kernel log line of ``node`` (``drbd r0: ...``), kept in ``log``."""
        self.log.append((self.now, node, f"drbd {self.resource}: {message}"))
        del self.log[:-200]  # bounded: the demo runs for hours

    _log = kernel_log  # the name hatui.lab's LabDrbdMachine subclass still calls

    def helper_event(self, node: str, helper: str, status: int | None = None) -> None:
        """A handler starts (``status`` None: kept in ``helpers``) or returns; events2 prints both."""
        if status is None:
            self.helpers.append((self.now, node, helper))
        self.events.helper(node, helper, status)

    def _run_helper(self, call: HelperCall) -> int | None:
        return None if self.run_helper is None else self.run_helper(self, call)

    def snapshot(self) -> dict[str, object]:
        """JSON-able state for ``hatui-sim state`` and tests."""
        nodes = {name: {
            "up": n.up, "role": n.role, "disk": n.disk, "connection": n.conn,
            "replication": self.replication(name), "peer_role": self.peer_role(name),
            "peer_disk": self.peer_disk(name), "generation": n.generation,
            "out_of_sync": sorted(n.out_of_sync), "out_of_sync_kib": self.out_of_sync_kib(name),
            "open": n.open_count > 0, "blocks": dict(n.blocks), "progress": self.sync_progress(name),
            "suspended": n.suspended, "peer_fenced": n.peer_fenced,
        } for name, n in self.nodes.items()}
        return {"resource": self.resource, "link_up": self.link_up, "fencing": self.fencing.policy,
                "synced_generation": self.synced_generation, "nodes": nodes}
