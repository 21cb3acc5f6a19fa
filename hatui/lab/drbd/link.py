"""The DRBD emulator's replication link: one TCP connection between the two node daemons (:class:`PeerLink`).

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
                                          (the invariant check, :mod:`~hatui.lab.drbd.verify`)
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
from typing import Any, Callable

from hatui.emulator.drbd_machine import CONNECTED, CONNECTING, PRIMARY
from hatui.lab.drbd.store import LabDrbdMachine, SyncPoint, apply_diff, block_diff, blocks_digest
from hatui.lab.drbd.verify import OnlineVerify
from hatui.lab.drbd.wire import (LINE_LIMIT, PeerSession, adopt_pair, apply_node_doc, exchange_hello, log, node_doc,
                                 pair_doc)
from hatui.lab.node_env import NodeEnv

LOST = "PingAck did not arrive in time."


class PeerLink:
    """This node's end of the peer protocol: the session, the handshake, state pushes or their adoption.

    Given the node's settings, the machine it shares with its daemon, and two things only the
    daemon knows: how to persist the node (``persist``) and how to run a local API request as
    a given node (``run_op``, for the follower's requests the coordinator runs). It owns
    everything about the link: whether the pair is DRBD-Connected (``paired``), the sync
    point, the invariant check, and the link faults.
    """

    def __init__(self, env: NodeEnv, m: LabDrbdMachine, *, persist: Callable[[], None],
                 run_op: Callable[[str, dict], dict[str, Any]], ping_interval: float, ping_timeout: float,
                 connect_retry: float) -> None:
        self.env, self.m, self.local, self.peer = env, m, env.node, env.peer
        self.coordinator = env.nodes[0] == env.node
        self._persist, self._run_op = persist, run_op
        self.ping_interval, self.ping_timeout, self.connect_retry = ping_interval, ping_timeout, connect_retry
        self.paired = False  # DRBD-Connected: the coordinator runs the pair
        self.session: PeerSession | None = None
        self.blocked = False
        self.cut = False  # fault "cut": the link silently loses everything (as a downed interface)
        self.cut_at_sync = False  # fault "cut-at-sync": cut just before the next push that ends a sync
        self.seq = 0
        self.ack_waiters: dict[int, asyncio.Future] = {}
        self.follower_blocks: dict[str, str] = {}  # coordinator: what the follower has on disk
        self.sync_point = SyncPoint(m.synced_generation)  # coordinator: what its metadata may say
        self.last_push: dict | None = None
        self.offer_future: asyncio.Future | None = None
        self.offer_task: asyncio.Task | None = None
        self.next_offer = 0.0
        self.req_id = 0
        self.reqs: dict[int, asyncio.Future] = {}
        self.gate = asyncio.Lock()  # follower: local changes wait while a handshake is out
        self.verify = OnlineVerify(m, self.local, self.peer)  # coordinator

    # ---- what the daemon asks -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The link's part of the API's ``state`` reply."""
        return {"paired": self.paired, "coordinator": self.coordinator, "session": self.session is not None,
                "blocked": self.blocked, "cut": self.cut, "cut_at_sync": self.cut_at_sync,
                "verified": dict(self.verify.counts)}

    def durable_sync(self, out_of_sync: set[str]) -> tuple[int, set[str]]:
        """The sync point and bitmap this node may persist now (see the module's "Sync points")."""
        return self.sync_point.meta(self.m.synced_generation, out_of_sync, paired=self.coordinator and self.paired)

    def drop(self, why: str) -> None:
        """Close the session (if any) as a failed connection."""
        if self.session is not None:
            self.session.close(why)

    def fault(self, kind: Any) -> dict[str, Any]:
        if kind == "block":
            self.blocked = True
            self.drop("Network failure (link blocked)")
        elif kind == "unblock":
            self.blocked = False
        elif kind in ("cut", "heal"):
            self.cut = kind == "cut"
        elif kind == "cut-at-sync":
            self.cut_at_sync = True
        else:
            return {"rc": 1, "stderr": f"drbd-emu: unknown fault {kind!r} (block, unblock, cut, heal, "
                                       "cut-at-sync)\n"}
        return {"rc": 0}

    def tick(self, now: float) -> None:
        """Each 0.1 s, after the machine's tick: the follower offers a handshake while Connecting; the
        paired coordinator notes a finished resync (to be verified) and pushes what changed."""
        if not self.paired:
            if (not self.coordinator and self.session is not None
                    and (self.offer_task is None or self.offer_task.done())
                    and not self.blocked and now >= self.next_offer
                    and self.m.node(self.local).conn == CONNECTING):
                self.offer_task = asyncio.create_task(self.offer())
        elif self.coordinator:
            done = self.m.take_finished()
            if done is not None:
                self.verify.schedule(done.source, "resync")
            self.push()

    # ---- pairing --------------------------------------------------------------------------------

    def go_solo(self) -> None:
        if self.coordinator:  # back to what the follower is known to have on disk
            self.m.synced_generation, keys = self.sync_point.fall_back()
            self.m.node(self.local).out_of_sync |= keys
        self.paired = False
        self.verify.forget()
        self.m.node(self.peer).up = False
        self.m.link_up = self.session is not None

    def link_lost(self, why: str) -> None:
        if self.paired:
            log(f"connection to {self.peer} lost: {why}")
            self.m.now = max(self.m.now, time.monotonic())
            self.m.cut_link(immediate=True)
            self.go_solo()
            self._persist()

    def push(self, *, force: bool = False) -> int | None:
        """Coordinator: persist, push the pair's state to the follower, leave paired mode if needed."""
        self._persist()
        if not self.paired or self.session is None:
            return None
        doc = pair_doc(self.m)
        peer_blocks = self.m.node(self.peer).blocks
        diff = block_diff(self.follower_blocks, peer_blocks)
        # In sync now (handshake without resync, or a resync just ended): this push asks the
        # follower for a digest of its disk (the invariant check).
        check = self.verify.wanted()
        seq = None
        if force or diff or doc != self.last_push or check:
            self.seq += 1
            seq = self.seq
            msg = {"t": "state", "seq": seq, "pair": doc, "blocks": diff}
            if check:
                msg["verify"] = True
                if self.cut_at_sync:  # test fault: this push (and all after it) is lost
                    self.cut, self.cut_at_sync = True, False
            try:
                self.session.send(msg)
            except (ConnectionError, OSError, RuntimeError):
                self.session.close("Network failure (send)")
                return None
            self.follower_blocks, self.last_push = dict(peer_blocks), doc
            self.sync_point.pushed(seq, diff, int(doc["nodes"][self.peer]["generation"]))
            if self.m.synced_generation != self.sync_point.durable:
                self._persist()  # the new sync point waits for the ack: the bitmap keeps these keys
            self.verify.pushed(seq, diff, asked=check)
        if self.m.node(self.local).conn != CONNECTED:
            self.go_solo()
        return seq

    async def forward(self, req: dict) -> dict[str, Any] | None:
        """Follower: let the coordinator run a change; None = not Connected (run it here)."""
        if not self.paired or self.session is None:
            return None
        self.req_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.reqs[self.req_id] = fut
        try:
            self.session.send({"t": "req", "id": self.req_id, "req": req})
            reply = await asyncio.wait_for(fut, self.ping_timeout)
        finally:
            self.reqs.pop(self.req_id, None)
        return None if reply.get("notpaired") else reply

    async def wait_ack(self, seq: int) -> bool:
        fut = asyncio.get_running_loop().create_future()
        self.ack_waiters[seq] = fut
        try:
            return bool(await asyncio.wait_for(fut, self.ping_timeout))
        except asyncio.TimeoutError:
            return False
        finally:
            self.ack_waiters.pop(seq, None)

    # ---- the peer's messages --------------------------------------------------------------------

    async def on_peer_message(self, sess: PeerSession, msg: dict) -> None:
        t = msg.get("t")
        if self.coordinator and t == "offer":
            self.handshake(sess, msg)
        elif self.coordinator and t == "ack":
            if self.sync_point.acked(int(msg["seq"]), self.m.synced_generation) and self.paired:
                self._persist()  # the follower's disk reached the sync point: ours may say so
            for seq, fut in list(self.ack_waiters.items()):
                if seq <= int(msg["seq"]) and not fut.done():
                    fut.set_result(True)
            if "digest" in msg and self.verify.digest_arrived(int(msg["seq"]), str(msg["digest"])):
                sess.send({"t": "verify"})
        elif self.coordinator and t == "blocks":
            found = self.verify.blocks_arrived(msg["blocks"], self.follower_blocks, paired=self.paired)
            if found is not None:
                self.follower_blocks, resyncing = found
                if resyncing:
                    self.push(force=True)
        elif not self.coordinator and t == "verify":
            sess.send({"t": "blocks", "blocks": dict(self.m.node(self.local).blocks)})
        elif self.coordinator and t == "req":
            if not self.paired:
                reply: dict[str, Any] = {"notpaired": True}
            else:
                reply = self._run_op(self.peer, msg["req"])
                self.push(force=True)
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
            self.verify.schedule(*((done.source, "resync") if done else (primary, "handshake")))
        # Pushed as if paired; push then leaves paired mode again unless Connected
        # (split brain: both StandAlone, each side alone).
        self.paired = True
        self.push(force=True)

    def adopt(self, sess: PeerSession, msg: dict) -> None:
        """Follower: take the coordinator's state of the pair and write our blocks."""
        if not self.paired and self.offer_future is None:
            sess.close("ProtocolError: unexpected state push")
            return
        adopt_pair(self.m, msg["pair"], time.monotonic())
        apply_diff(self.m.node(self.local).blocks, msg.get("blocks") or {})
        self._persist()
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

    # ---- the TCP session ------------------------------------------------------------------------

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
