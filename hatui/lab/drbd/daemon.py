"""The lab's DRBD emulator: one asyncio daemon per node, in place of the kernel module.

Start it on a node with ``python -m hatui.lab.drbd.daemon`` (settings from
``node.json``, see :mod:`hatui.lab.node_env`). It holds the pair's
:class:`~hatui.emulator.drbd_machine.DrbdMachine` (the same state machine the demo
pair runs), keeps the local node's data on the backing disk
(:mod:`hatui.lab.drbd.store`) and replicates over a real TCP connection to the
peer's daemon (:mod:`hatui.lab.drbd.link`, which documents the peer protocol).

Local API: a unix socket at ``env.drbd_socket``; one JSON request line per
connection, one JSON reply line:

* ``{"op":"cmd","argv":["drbdadm","status"]}`` -> ``{"rc","stdout","stderr"}``:
  ``drbdadm``/``drbdsetup`` answered exactly as the demo's node shell answers
  them. ``drbdsetup events2`` without ``--now`` ends after the initial dump
  (as in the demo) instead of streaming.
* ``{"op":"write","key":K,"value":V}`` -> ``{"rc":0}``: the application write
  path. Protocol C: while Connected the reply comes only once the peer has the
  block on its disk; if the peer does not confirm within the ping timeout the
  connection is declared lost and the block is tracked as out-of-sync.
* ``{"op":"read","key":K}`` -> ``{"rc":0,"value":V|null}``
* ``{"op":"open"}`` / ``{"op":"close"}``: the filesystem on top was mounted /
  unmounted (refused with rc 32 unless Primary, as mount(8) is).
* ``{"op":"state"}``: the machine's snapshot plus link information. Only
  ``nodes[<this node>]`` is authoritative; the peer entry is this daemon's view.
  ``verified`` (node-id 0): ``{"ok": n, "failed": n}`` invariant checks so far.
* ``{"op":"fault","kind":"block"|"unblock"}``: drop the peer connection and
  stop (re)connecting until unblocked (tests without namespaces).
  ``"cut"|"heal"``: the link silently loses everything, both ways, until
  healed (as a downed interface: no close, messages in flight are lost, each
  side notices by its ping timeout). ``"cut-at-sync"``: that cut, from the
  moment the next push that ends a sync goes out (node-id 0) or is on disk
  but not yet acked (node-id 1); ``state`` shows ``cut`` and ``cut_at_sync``.

Invariant check (an always-on online verify): whenever the coordinator
concludes the pair is in sync -- a handshake that needs no resync, or a resync
that ran to its end (even one that ended in the handshake's own tick) -- the
push that says so carries ``verify``; the follower answers with a SHA-256
digest of its disk's blocks in the ``ack``, and the coordinator compares it
with the digest of its own blocks at that push. Equal is the only expected
outcome. If they differ the emulator has a bug or a disk changed behind its
back: it logs ``VERIFY FAILED`` loudly (stderr and both nodes' kernel log),
fetches the follower's blocks, and resyncs exactly the differing keys from the
side that is right (the resync's source; after a handshake, the Primary, else
node-id 0), as DRBD's online verify followed by a reconnect would. So the pair
never stays UpToDate/UpToDate while its disks silently differ.

A restarted daemon comes up as a rebooted node does: Secondary, Connecting,
disk as persisted (``DrbdMachine.restore``; an Outdated disk stays Outdated).

Fencing (:mod:`hatui.lab.drbd.fence`): the policy and handlers come from
``env.drbd_conf``; the handlers the machine asks for run as programs on this
node; a write on suspended I/O waits, then fails unacknowledged; ``primary`` on
a disconnected node runs fence-peer first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from hatui.emulator.drbd_machine import CONNECTED, CONNECTING, PRIMARY, SECONDARY
from hatui.lab.drbd.fence import FenceRunnerMixin, load_fencing
from hatui.lab.drbd.link import PeerLinkMixin, Verify
from hatui.emulator.drbd_commands import is_mutating
from hatui.lab.drbd.shell import Shell, Sim
from hatui.lab.drbd.wire import LINE_LIMIT, PeerSession, log, pair_doc
from hatui.lab.drbd.store import (DiskStore, LabDrbdMachine, Meta, SyncPoint, block_diff, blocks_digest,
                                  key_error)
from hatui.lab.node_env import NodeEnv, load_node_env


class DrbdDaemon(PeerLinkMixin, FenceRunnerMixin):
    def __init__(self, env: NodeEnv, *, ping_interval: float = 0.2, ping_timeout: float = 1.0,
                 connect_retry: float = 0.5) -> None:
        self.env, self.local, self.peer = env, env.node, env.peer
        self.coordinator = env.nodes[0] == env.node
        self.ping_interval, self.ping_timeout, self.connect_retry = ping_interval, ping_timeout, connect_retry
        self.m = LabDrbdMachine(tuple(env.nodes), resource=env.resource, minor=env.minor,
                                sync_rate_kib_s=env.sync_rate_kib_s, ping_timeout=ping_timeout,
                                connect_retry=connect_retry, now=time.monotonic(),
                                fencing=load_fencing(env.drbd_conf), run_helper=None)
        self.helper_tasks: set[asyncio.Task] = set()
        self.sim = Sim(self.m)
        self.store = DiskStore(env.disk_dir, env.data_dir)
        meta, blocks, fresh = self.store.load()
        me = self.m.node(self.local)
        me.disk, me.generation, me.out_of_sync = meta.disk, meta.generation, set(meta.out_of_sync)
        me.needs_full_sync, me.blocks = meta.needs_full_sync, blocks
        self.m.synced_generation = meta.synced_generation
        for node in self.m.nodes.values():
            node.role = SECONDARY
        self.m.restore(self.local)  # a (re)booted node: Secondary, Connecting, disk as it was
        self.m.node(self.peer).up = False
        self.m.link_up = False
        log(f"{self.local}: {'fresh metadata' if fresh else 'metadata loaded'}, {len(blocks)} blocks, "
            f"disk {me.disk}, {'coordinator' if self.coordinator else 'follower'}")
        self.paired = False  # DRBD-Connected: the coordinator runs the pair
        self.session: PeerSession | None = None
        self.blocked = False
        self.cut = False  # fault "cut": the link silently loses everything (as a downed interface)
        self.cut_at_sync = False  # fault "cut-at-sync": cut just before the next push that ends a sync
        self.seq = 0
        self.ack_waiters: dict[int, asyncio.Future] = {}
        self.follower_blocks: dict[str, str] = {}  # coordinator: what the follower has on disk
        self.sync_point = SyncPoint(self.m.synced_generation)  # coordinator: what its metadata may say
        self.last_push: dict | None = None
        self.offer_future: asyncio.Future | None = None
        self.offer_task: asyncio.Task | None = None
        self.next_offer = 0.0
        self.req_id = 0
        self.reqs: dict[int, asyncio.Future] = {}
        self.gate = asyncio.Lock()  # follower: local changes wait while a handshake is out
        self.verify_due: tuple[str, str] | None = None  # coordinator: (source, after what) to check
        self.verifying: Verify | None = None  # coordinator: the check in progress
        self.verified = {"ok": 0, "failed": 0}  # coordinator: invariant checks so far

    # ---- persistence and mode changes ---------------------------------------------------

    def persist(self) -> None:
        me = self.m.node(self.local)
        synced, oos = self.sync_point.meta(self.m.synced_generation, me.out_of_sync,
                                           paired=self.coordinator and self.paired)
        self.store.sync_blocks(me.blocks)
        self.store.save_meta(Meta(me.disk, me.generation, synced, oos, me.needs_full_sync))

    def go_solo(self) -> None:
        if self.coordinator:  # back to what the follower is known to have on disk
            self.m.synced_generation, keys = self.sync_point.fall_back()
            self.m.node(self.local).out_of_sync |= keys
        self.paired = False
        self.verify_due = self.verifying = None
        self.m.node(self.peer).up = False
        self.m.link_up = self.session is not None

    def link_lost(self, why: str) -> None:
        if self.paired:
            log(f"connection to {self.peer} lost: {why}")
            self.m.now = max(self.m.now, time.monotonic())
            self.m.cut_link(immediate=True)
            self.go_solo()
            self.persist()

    def after_change(self, *, force: bool = False) -> int | None:
        """Coordinator: persist, push the pair's state to the follower, leave paired mode if needed."""
        self.persist()
        if not self.paired or self.session is None:
            return None
        doc = pair_doc(self.m)
        me, peer_blocks = self.m.node(self.local), self.m.node(self.peer).blocks
        diff = block_diff(self.follower_blocks, peer_blocks)
        # In sync now (handshake without resync, or a resync just ended): this push asks the
        # follower for a digest of its disk (the invariant check, see verify_ack).
        check = self.verify_due is not None and self.m.sync is None and me.conn == CONNECTED
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
                self.persist()  # the new sync point waits for the ack: the bitmap keeps these keys
            if self.verifying is not None and self.verifying.fetching:
                self.verifying.touched |= set(diff)
            if check and self.verify_due is not None:
                source, after = self.verify_due
                self.verify_due = None
                self.verifying = Verify(seq, blocks_digest(me.blocks), source, after)
        if self.m.node(self.local).conn != CONNECTED:
            self.go_solo()
        return seq

    # ---- the local API ----------------------------------------------------------------------

    def run_op(self, name: str, req: dict) -> dict[str, Any]:
        op = req.get("op")
        if op == "cmd":
            return Shell(self.sim, name).run(req["argv"])
        if op == "write":
            r = self.m.write(name, req["key"], req["value"])
            return {"rc": r.rc, "stderr": r.stderr} if r.rc else {"rc": 0}
        if op == "open":
            if self.m.node(name).role != PRIMARY:
                return {"rc": 32, "stderr": f"mount: {self.env.mount_point}: mount(2) system call failed: "
                                           "Wrong medium type.\n"}
            self.m.set_open(name, True)
        elif op == "close":
            self.m.set_open(name, False)
        return {"rc": 0}

    async def handle(self, req: Any) -> dict[str, Any]:
        if not isinstance(req, dict):
            return {"rc": 1, "stderr": "drbd-emu: request is not a JSON object\n"}
        op = req.get("op")
        if op == "state":
            return {"rc": 0, **self.m.snapshot(), "node": self.local, "peer": self.peer, "paired": self.paired,
                    "coordinator": self.coordinator, "session": self.session is not None, "blocked": self.blocked,
                    "cut": self.cut, "cut_at_sync": self.cut_at_sync,
                    "verified": dict(self.verified)}
        if op in ("read", "write"):
            err = key_error(req.get("key"))
            if err or (op == "write" and not isinstance(req.get("value"), str)):
                return {"rc": 1, "stderr": f"drbd-emu: {err or 'value must be a string'}\n"}
            if op == "read":
                return {"rc": 0, "value": self.m.read(self.local, req["key"])}
            await self.wait_resumed()  # suspended I/O (fencing): the write waits, then fails unacknowledged
        if op == "fault":
            return self.fault(req.get("kind"))
        if op == "cmd":
            argv = req.get("argv")
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
                return {"rc": 1, "stderr": "drbd-emu: argv must be a non-empty list of strings\n"}
            if not is_mutating(argv):
                return Shell(self.sim, self.local).run(argv)
            if [a for a in argv[1:] if not a.startswith("-")][:1] == ["primary"] and "--force" not in argv:
                await self.fence_before_promote()  # DRBD runs fence-peer first and the command waits
        elif op not in ("write", "open", "close"):
            return {"rc": 1, "stderr": f"drbd-emu: unknown op {op!r}\n"}
        return await (self.change_as_coordinator(req) if self.coordinator else self.change_as_follower(req))

    async def change_as_follower(self, req: dict) -> dict[str, Any]:
        async with self.gate:
            if self.paired and self.session is not None:
                try:
                    reply = await self.forward(req)
                    if reply is not None:
                        return reply
                except (ConnectionError, asyncio.TimeoutError):
                    if self.session is not None:
                        self.session.close("PingAck did not arrive in time.")
                    if req["op"] == "write":  # the lost link may have suspended I/O (fencing)
                        self.start_helpers()
                        await self.wait_resumed()
            reply = self.run_op(self.local, req)
            self.persist()
            return reply

    async def change_as_coordinator(self, req: dict) -> dict[str, Any]:
        was_paired = self.paired
        reply = self.run_op(self.local, req)
        seq = self.after_change(force=True)
        if req["op"] == "write" and reply["rc"] == 0 and was_paired:
            if seq is None or not await self.wait_ack(seq):
                if self.session is not None:
                    self.session.close("PingAck did not arrive in time.")
                self.m.mark_unreplicated(self.local, req["key"])
                self.persist()
                if self.m.suspended(self.local) is not None:
                    # Fencing: the peer did not confirm and is not yet known Outdated; this write
                    # is acknowledged only if the fence-peer handler succeeds in time.
                    self.start_helpers()
                    await self.wait_resumed()
                    if self.m.suspended(self.local) is not None:
                        return {"rc": 5, "stderr": f"/dev/drbd{self.m.minor}: I/O suspended (fencing): write not "
                                                   "acknowledged\n"}
        return reply

    async def forward(self, req: dict) -> dict[str, Any] | None:
        """Follower: let the coordinator run a change; None = it is not Connected any more."""
        assert self.session is not None
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

    def fault(self, kind: Any) -> dict[str, Any]:
        if kind == "block":
            self.blocked = True
            if self.session is not None:
                self.session.close("Network failure (link blocked)")
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

    async def tick_loop(self) -> None:
        while True:
            try:
                now = time.monotonic()
                if not self.paired:
                    self.m.tick(now)
                    self.persist()
                    if (not self.coordinator and self.session is not None
                            and (self.offer_task is None or self.offer_task.done())
                            and not self.blocked and now >= self.next_offer
                            and self.m.node(self.local).conn == CONNECTING):
                        self.offer_task = asyncio.create_task(self.offer())
                elif self.coordinator:
                    self.m.tick(now)
                    done = self.m.take_finished()
                    if done is not None:
                        self.verify_due = (done.source, "resync")
                    self.after_change()
                self.m.check_unfence(self.local)
                self.start_helpers()
            except Exception as exc:  # noqa: BLE001 - keep serving
                log(f"tick failed: {exc!r}")
            await asyncio.sleep(0.1)

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            reply = await self.handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - a bad request never kills the daemon
            log(f"request failed: {exc!r}")
            reply = {"rc": 1, "stdout": "", "stderr": f"drbd-emu: {exc}\n"}
        try:
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
            writer.close()
        except (ConnectionError, OSError):
            pass

    async def serve(self) -> None:
        sock = Path(self.env.drbd_socket)
        sock.parent.mkdir(parents=True, exist_ok=True)
        sock.unlink(missing_ok=True)
        host, port = self.env.repl_listen.rsplit(":", 1)
        api = await asyncio.start_unix_server(self.client, path=str(sock))
        repl = await asyncio.start_server(self.accept, host.strip("[]"), int(port), limit=LINE_LIMIT,
                                          reuse_address=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(self.tick_loop())]
        if self.coordinator:
            tasks.append(asyncio.create_task(self.dial_loop()))
        log(f"{self.local}: serving {sock}, replication on {self.env.repl_listen}")
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            self.persist()
            if self.session is not None:
                self.session.close("shutting down")
            api.close()
            repl.close()
            sock.unlink(missing_ok=True)
            log(f"{self.local}: stopped")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="drbd_daemon", description="The lab node's DRBD emulator.")
    ap.add_argument("--ping-interval", type=float, default=float(os.environ.get("HATUI_DRBD_PING_INTERVAL", 0.2)))
    ap.add_argument("--ping-timeout", type=float, default=float(os.environ.get("HATUI_DRBD_PING_TIMEOUT", 1.0)))
    ap.add_argument("--connect-retry", type=float, default=float(os.environ.get("HATUI_DRBD_CONNECT_RETRY", 0.5)))
    args = ap.parse_args(argv)
    env = load_node_env()

    async def run() -> None:
        daemon = DrbdDaemon(env, ping_interval=args.ping_interval, ping_timeout=args.ping_timeout,
                            connect_retry=args.connect_retry)
        await daemon.serve()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
