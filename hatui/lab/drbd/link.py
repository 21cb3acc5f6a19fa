"""The DRBD emulator's replication link: one TCP connection between the two node daemons.

Wire format: JSON objects, one per line (UTF-8), each with a type field ``t``
(framing, pings and the state documents: :mod:`hatui.lab.drbd.wire`).
Node-id 0 (``env.nodes[0]``) dials the peer's ``repl_listen`` every
connect-retry; node-id 1 only accepts, one connection at a time. Both sides
first send ``hello``; then:

=============  =========================  ==============================================
``t``          direction                  meaning
=============  =========================  ==============================================
``hello``      both, first                ``node``, ``resource`` (a mismatch closes)
``ping``       both, every ~0.2 s         ``conn``: the sender's connection state.
                                          Silence for ping-timeout = link lost.
``offer``      follower -> coordinator    the follower is Connecting: its full local
                                          node (fields, ``blocks``) and ``synced``
``nothanks``   coordinator -> follower    not Connecting now (e.g. StandAlone): no
                                          handshake
``state``      coordinator -> follower    ``seq``, ``pair`` (both nodes' fields, the
                                          sync job, synced generation) and ``blocks``:
                                          the follower's changed blocks (value or null
                                          = removed). The follower adopts it, writes
                                          the blocks to its disk, then sends ``ack``.
                                          ``verify``: true once the pair is in sync
                                          (the daemon's invariant check)
``ack``        follower -> coordinator    ``seq`` applied and on disk (protocol C);
                                          ``digest`` of all its blocks if asked
``verify``     coordinator -> follower    the digests differed: send your blocks
``blocks``     follower -> coordinator    ``blocks``: all of them (answers ``verify``)
``req``        follower -> coordinator    ``id`` + a local API request (drbdadm verb,
                                          write, open, close) made on the follower
                                          while Connected
``rep``        coordinator -> follower    ``id`` + the reply (after the ``state`` that
                                          carries its effect)
=============  =========================  ==============================================

Node-id 0 is the *coordinator*: while DRBD-Connected it alone runs the pair's
:class:`~hatui.emulator.drbd_machine.DrbdMachine` (handshake, resync progress,
both nodes' commands) and pushes the result; the follower renders status from
the adopted copy. While not Connected each daemon is the authority for its own
node only.

The coordinator's ``follower_blocks``, the base of every ``blocks`` diff, is what
the follower has on disk: set from the offer *before* the handshake runs (a
small resync can begin and end in that very tick), then following each push.

Sync points (DRBD's bitmap UUID): each node persists its own ``synced``, the
generation it *knows* both disks reached, and the handshake uses only each side's
own records (``DrbdMachine._has_new_data``): new data = UpToDate and generation !=
own ``synced`` (both: split brain or ``--discard-my-data``; neither, generations
differ: unrelated, split brain). The follower persists a push before its ack.
Node-id 0 persists a new ``synced`` only once the follower's disk is at it (offer,
or the ack of the push that put it there), keeping the unacked pushes' keys in its
bitmap, and falls back to that when no longer Connected (``store.SyncPoint``).
So a lost push or ack is harmless: the side with newer data stays "new" with a
bitmap covering all the follower may lack, whether the follower missed the push
(behind, Inconsistent, or a victim still holding ``--discard-my-data``) or applied
it (a few keys resync again): SyncSource, never SyncTarget; later writes kept.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hatui.emulator.drbd_machine import CONNECTED, CONNECTING, PRIMARY
from hatui.lab.drbd.store import LabDrbdMachine, SyncPoint, apply_diff, blocks_digest
from hatui.lab.drbd.wire import (LINE_LIMIT, PeerSession, adopt_pair, apply_node_doc, exchange_hello, log,
                                 node_doc)
from hatui.lab.node_env import NodeEnv



@dataclass
class Verify:
    """Coordinator: the invariant check after the pair became in sync (module docstring)."""

    seq: int  # the push whose ack carries the follower's digest
    digest: str  # of our own blocks when that push went out
    source: str  # whose blocks are right if the disks differ
    after: str  # "handshake" or "resync"
    fetching: bool = False  # digests differed: the follower's blocks were asked for
    touched: set[str] = field(default_factory=set)  # follower keys pushed since that request


class PeerLinkMixin:
    """The daemon's side of the peer protocol (mixed into ``DrbdDaemon``, which owns the state)."""

    env: NodeEnv
    m: LabDrbdMachine
    local: str
    peer: str
    coordinator: bool
    paired: bool
    blocked: bool
    cut: bool
    cut_at_sync: bool
    session: PeerSession | None
    ping_interval: float
    ping_timeout: float
    connect_retry: float
    ack_waiters: dict[int, asyncio.Future]
    reqs: dict[int, asyncio.Future]
    offer_future: asyncio.Future | None
    offer_task: asyncio.Task | None
    next_offer: float
    follower_blocks: dict[str, str]
    last_push: dict | None
    sync_point: SyncPoint
    gate: asyncio.Lock
    verify_due: tuple[str, str] | None
    verifying: Verify | None
    verified: dict[str, int]

    if TYPE_CHECKING:  # provided by the daemon
        def persist(self) -> None: ...  # noqa: E704
        def go_solo(self) -> None: ...  # noqa: E704
        def link_lost(self, why: str) -> None: ...  # noqa: E704
        def after_change(self, *, force: bool = False) -> int | None: ...  # noqa: E704
        def run_op(self, name: str, req: dict) -> dict[str, Any]: ...  # noqa: E704
    async def on_peer_message(self, sess: PeerSession, msg: dict) -> None:
        t = msg.get("t")
        if self.coordinator and t == "offer":
            self.handshake(sess, msg)
        elif self.coordinator and t == "ack":
            if self.sync_point.acked(int(msg["seq"]), self.m.synced_generation) and self.paired:
                self.persist()  # the follower's disk reached the sync point: ours may say so
            for seq, fut in list(self.ack_waiters.items()):
                if seq <= int(msg["seq"]) and not fut.done():
                    fut.set_result(True)
            if "digest" in msg:
                self.verify_ack(sess, int(msg["seq"]), str(msg["digest"]))
        elif self.coordinator and t == "blocks":
            self.verify_blocks(msg["blocks"])
        elif not self.coordinator and t == "verify":
            sess.send({"t": "blocks", "blocks": dict(self.m.node(self.local).blocks)})
        elif self.coordinator and t == "req":
            if not self.paired:
                reply: dict[str, Any] = {"notpaired": True}
            else:
                reply = self.run_op(self.peer, msg["req"])
                self.after_change(force=True)
            sess.send({"t": "rep", "id": msg["id"], "reply": reply})
        elif not self.coordinator and t == "state":
            self.adopt(sess, msg)
        elif not self.coordinator and t == "nothanks":
            if self.offer_future is not None and not self.offer_future.done():
                self.offer_future.set_result(False)
        elif not self.coordinator and t == "rep":
            fut = self.reqs.get(int(msg["id"]))
            if fut is not None and not fut.done():
                fut.set_result(msg["reply"])
        else:
            log(f"unexpected peer message {t!r} ignored")

    def handshake(self, sess: PeerSession, msg: dict) -> None:
        """Coordinator: the follower is Connecting and sent its node; run DRBD's handshake."""
        me, node = self.m.node(self.local), msg["node"]
        if self.paired or self.blocked or me.conn != CONNECTING or node.get("conn") != CONNECTING:
            sess.send({"t": "nothanks"})
            return
        now = time.monotonic()
        peer = self.m.node(self.peer)
        apply_node_doc(peer, node, now)
        # The diff baseline is what the follower has on disk: its offer, taken before the
        # handshake runs (a small resync can start *and finish* in the tick below).
        self.follower_blocks, self.last_push = dict(peer.blocks), None
        self.sync_point.start(peer.generation)
        self.m.sync, self.m.link_up = None, True
        self.m.handshake_tick(now, {self.local: self.m.synced_generation, self.peer: int(msg["synced"])})
        done = self.m.take_finished()  # a small resync can end in that tick
        if me.conn == CONNECTED and self.m.sync is None:
            primary = next((n for n in (self.local, self.peer) if self.m.node(n).role == PRIMARY), self.local)
            self.verify_due = (done.source, "resync") if done else (primary, "handshake")
        # Pushed as if paired; after_change then leaves paired mode again unless Connected
        # (split brain: both StandAlone, each side alone).
        self.paired = True
        self.after_change(force=True)

    def adopt(self, sess: PeerSession, msg: dict) -> None:
        """Follower: take the coordinator's state of the pair and write our blocks."""
        if not self.paired and self.offer_future is None:
            sess.close("ProtocolError: unexpected state push")
            return
        adopt_pair(self.m, msg["pair"], time.monotonic())
        apply_diff(self.m.node(self.local).blocks, msg.get("blocks") or {})
        self.persist()
        ack = {"t": "ack", "seq": msg["seq"]}
        if msg.get("verify"):
            ack["digest"] = blocks_digest(self.m.node(self.local).blocks)
            if self.cut_at_sync:  # test fault: on disk, but the ack (and all after it) is lost
                self.cut, self.cut_at_sync = True, False
        sess.send(ack)
        if self.m.node(self.local).conn == CONNECTED:
            self.paired, self.m.link_up = True, True
        else:
            self.go_solo()
        if self.offer_future is not None and not self.offer_future.done():
            self.offer_future.set_result(True)

    def verify_ack(self, sess: PeerSession, seq: int, digest: str) -> None:
        """Coordinator: the follower's digest after the in-sync push; differing disks = a bug
        somewhere, never to be left silent: fetch its blocks to find the keys."""
        v = self.verifying
        if v is None or v.seq != seq or v.fetching:
            return
        if digest == v.digest:
            self.verifying = None
            self.verified["ok"] += 1
            return
        self.verified["failed"] += 1
        log(f"VERIFY FAILED after {v.after}: {self.peer}'s disk differs from {self.local}'s although "
            f"both are UpToDate; fetching its blocks to resync the difference")
        v.fetching = True
        sess.send({"t": "verify"})

    def verify_blocks(self, blocks: dict[str, str]) -> None:
        """Coordinator: the follower's blocks (as of our ``verify`` request): resync what differs."""
        v, self.verifying = self.verifying, None
        me, peer = self.m.node(self.local), self.m.node(self.peer)
        if v is None or not v.fetching or not self.paired or self.m.sync is not None or me.conn != CONNECTED:
            return  # moved on (a resync or a disconnect): that gets its own check
        actual = {str(k): str(val) for k, val in blocks.items()}
        for key in v.touched:  # pushed after the request: applied after that answer
            if key in self.follower_blocks:
                actual[key] = self.follower_blocks[key]
            else:
                actual.pop(key, None)
        peer.blocks, self.follower_blocks = actual, dict(actual)
        keys = {k for k in set(me.blocks) | set(actual) if me.blocks.get(k) != actual.get(k)}
        if not keys:
            return
        target = self.peer if v.source == self.local else self.local
        log(f"VERIFY FAILED after {v.after}: {len(keys)} keys differ (e.g. {', '.join(sorted(keys)[:5])}); "
            f"resyncing them {v.source} -> {target}")
        self.m.resync_differences(v.source, target, keys, v.after)
        self.after_change(force=True)

    async def offer(self) -> None:
        async with self.gate:
            sess = self.session
            if sess is None or self.paired or self.m.node(self.local).conn != CONNECTING:
                return
            self.offer_future = asyncio.get_running_loop().create_future()
            try:
                sess.send({"t": "offer", "synced": self.m.synced_generation,
                           "node": node_doc(self.m.node(self.local), blocks=True)})
                done = await asyncio.wait_for(self.offer_future, 2 * self.ping_timeout)
                if not done:
                    self.next_offer = time.monotonic() + self.connect_retry
            except (asyncio.TimeoutError, ConnectionError, OSError):
                sess.close("handshake timed out")
            finally:
                self.offer_future = None

    def start_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.session = PeerSession(reader, writer, on_message=self.on_peer_message, on_close=self.session_closed,
                                   ping=lambda: {"conn": self.m.node(self.local).conn},
                                   ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
                                   muted=lambda: self.cut)
        self.m.link_up = True
        self.session.start()
        log(f"TCP link to {self.peer} up")

    def session_closed(self, sess: PeerSession, why: str) -> None:
        if sess is not self.session:
            return
        self.session = None
        for fut in list(self.ack_waiters.values()):
            if not fut.done():
                fut.set_result(False)
        for fut in list(self.reqs.values()):
            if not fut.done():
                fut.set_exception(ConnectionError(why))
        if self.offer_future is not None and not self.offer_future.done():
            self.offer_future.set_result(False)
        self.link_lost(why)
        self.m.link_up = False
        log(f"TCP link to {self.peer} closed: {why}")

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.coordinator or self.blocked or self.cut or self.session is not None:
            writer.close()  # node-id 0 dials; one peer connection at a time
            return
        if await exchange_hello(reader, writer, self.local, self.peer, self.env.resource, self.ping_timeout):
            if self.session is None and not self.blocked:
                self.start_session(reader, writer)
            else:
                writer.close()

    async def dial_loop(self) -> None:
        host, port = self.env.repl_peer.rsplit(":", 1)
        while True:
            if self.session is None and not self.blocked and not self.cut:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host.strip("[]"), int(port), limit=LINE_LIMIT), self.ping_timeout)
                    if await exchange_hello(reader, writer, self.local, self.peer, self.env.resource,
                                            self.ping_timeout) and self.session is None and not self.blocked:
                        self.start_session(reader, writer)
                except (OSError, asyncio.TimeoutError):
                    pass
            await asyncio.sleep(self.connect_retry)

