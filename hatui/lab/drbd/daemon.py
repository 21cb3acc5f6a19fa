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
  them (``drbdsetup events2`` here ends after the initial dump, as ``--now`` does).
* ``{"op":"follow","argv":["drbdsetup","events2",...]}``: the one streaming
  request, ``events2`` that stays open (:mod:`hatui.lab.drbd.follow`).
* ``{"op":"write","key":K,"value":V}`` -> ``{"rc":0}``: the application write
  path. Protocol C: while Connected the reply comes only once the peer has the
  block on its disk; if the peer does not confirm within the ping timeout the
  connection is declared lost and the block is tracked as out-of-sync.
* ``{"op":"read","key":K}`` -> ``{"rc":0,"value":V|null}``
* ``{"op":"open"}`` / ``{"op":"close"}``: the filesystem on top was mounted /
  unmounted (refused with rc 32 unless Primary, as mount(8) is).
* ``{"op":"state"}``: the machine's snapshot plus link information. Only
  ``nodes[<this node>]`` is authoritative; the peer entry is this daemon's view.
  ``verified`` (node-id 0): ``{"ok": n, "failed": n}`` invariant checks so far;
  ``events2_followers``: how many ``events2`` streams follow this node now.
* ``{"op":"fault","kind":"block"|"unblock"}``: drop the peer connection and
  stop (re)connecting until unblocked (tests without namespaces).
  ``"cut"|"heal"``: the link silently loses everything, both ways, until
  healed (as a downed interface: no close, messages in flight are lost, each
  side notices by its ping timeout). ``"cut-at-sync"``: that cut, from the
  moment the next push that ends a sync goes out (node-id 0) or is on disk
  but not yet acked (node-id 1); ``state`` shows ``cut`` and ``cut_at_sync``.

Invariant check: an always-on online verify after every handshake or resync that
leaves the pair in sync (:mod:`hatui.lab.drbd.verify`).

Composition: the daemon owns its node's machine and disk, a :class:`~hatui.lab.drbd.link.PeerLink`
(the replication link and the peer protocol) and a :class:`~hatui.lab.drbd.fence.FenceRunner`
(the fencing handlers); each gets what it needs from the daemon as explicit callables.

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

from hatui.emulator.drbd_commands import is_mutating
from hatui.emulator.drbd_machine import PRIMARY, SECONDARY
from hatui.lab.drbd.fence import FenceRunner, load_fencing
from hatui.lab.drbd.follow import follow_events2, wants_follow
from hatui.lab.drbd.link import LOST, PeerLink
from hatui.lab.drbd.shell import Shell, Sim
from hatui.lab.drbd.store import DiskStore, LabDrbdMachine, Meta, key_error
from hatui.lab.drbd.wire import LINE_LIMIT, log
from hatui.lab.node_env import NodeEnv, load_node_env


class DrbdDaemon:
    """One node's emulator: its machine and disk, the local API, and the parts it owns (link, fence runner)."""

    def __init__(self, env: NodeEnv, *, ping_interval: float = 0.2, ping_timeout: float = 1.0,
                 connect_retry: float = 0.5) -> None:
        self.env, self.local, self.peer = env, env.node, env.peer
        self.m = LabDrbdMachine(tuple(env.nodes), resource=env.resource, minor=env.minor,
                                sync_rate_kib_s=env.sync_rate_kib_s, ping_timeout=ping_timeout,
                                connect_retry=connect_retry, now=time.monotonic(),
                                fencing=load_fencing(env.drbd_conf), run_helper=None)
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
        self.link = PeerLink(env, self.m, persist=self.persist, run_op=self.run_op, ping_interval=ping_interval,
                             ping_timeout=ping_timeout, connect_retry=connect_retry)
        self.fence = FenceRunner(self.m, self.local, after_handler=self.persist)
        log(f"{self.local}: {'fresh metadata' if fresh else 'metadata loaded'}, {len(blocks)} blocks, "
            f"disk {me.disk}, {'coordinator' if self.link.coordinator else 'follower'}")

    def persist(self) -> None:
        """The node's state changed: on its disk, and to every ``drbdsetup events2`` that follows it."""
        me = self.m.node(self.local)
        synced, oos = self.link.durable_sync(me.out_of_sync)
        self.store.sync_blocks(me.blocks)
        self.store.save_meta(Meta(me.disk, me.generation, synced, oos, me.needs_full_sync))
        self.m.events.flush()  # the link and the adopted pushes change the machine behind its verbs' backs

    # ---- the local API ----------------------------------------------------------------------

    def run_op(self, name: str, req: dict) -> dict[str, Any]:
        """Run a change as node ``name`` on the machine (the coordinator runs the follower's too)."""
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
            return {"rc": 0, **self.m.snapshot(), "node": self.local, "peer": self.peer, **self.link.state(),
                    "events2_followers": self.m.events.subscribers}
        if op in ("read", "write"):
            err = key_error(req.get("key"))
            if err or (op == "write" and not isinstance(req.get("value"), str)):
                return {"rc": 1, "stderr": f"drbd-emu: {err or 'value must be a string'}\n"}
            if op == "read":
                return {"rc": 0, "value": self.m.read(self.local, req["key"])}
            await self.fence.wait_resumed()  # suspended I/O (fencing): the write waits, then fails unacknowledged
        if op == "fault":
            return self.link.fault(req.get("kind"))
        if op == "cmd":
            argv = req.get("argv")
            if not _is_argv(argv):
                return {"rc": 1, "stderr": "drbd-emu: argv must be a non-empty list of strings\n"}
            if not is_mutating(argv):
                return Shell(self.sim, self.local).run(argv)
            if [a for a in argv[1:] if not a.startswith("-")][:1] == ["primary"] and "--force" not in argv:
                await self.fence.fence_before_promote()  # DRBD runs fence-peer first and the command waits
        elif op not in ("write", "open", "close"):
            return {"rc": 1, "stderr": f"drbd-emu: unknown op {op!r}\n"}
        return await (self.change_as_coordinator(req) if self.link.coordinator else self.change_as_follower(req))

    async def change_as_follower(self, req: dict) -> dict[str, Any]:
        async with self.link.gate:
            try:
                reply = await self.link.forward(req)
                if reply is not None:
                    return reply
            except (ConnectionError, asyncio.TimeoutError):
                self.link.drop(LOST)
                if req["op"] == "write":  # the lost link may have suspended I/O (fencing)
                    self.fence.start_helpers()
                    await self.fence.wait_resumed()
            reply = self.run_op(self.local, req)
            self.persist()
            return reply

    async def change_as_coordinator(self, req: dict) -> dict[str, Any]:
        was_paired = self.link.paired
        reply = self.run_op(self.local, req)
        seq = self.link.push(force=True)
        if req["op"] == "write" and reply["rc"] == 0 and was_paired:
            if seq is None or not await self.link.wait_ack(seq):
                self.link.drop(LOST)
                self.m.mark_unreplicated(self.local, req["key"])
                self.persist()
                if self.m.suspended(self.local) is not None:
                    # Fencing: the peer did not confirm and is not yet known Outdated; this write
                    # is acknowledged only if the fence-peer handler succeeds in time.
                    self.fence.start_helpers()
                    await self.fence.wait_resumed()
                    if self.m.suspended(self.local) is not None:
                        return {"rc": 5, "stderr": f"/dev/drbd{self.m.minor}: I/O suspended (fencing): write not "
                                                   "acknowledged\n"}
        return reply

    async def tick_loop(self) -> None:
        while True:
            try:
                now = time.monotonic()
                if not self.link.paired:
                    self.m.tick(now)
                    self.persist()
                elif self.link.coordinator:
                    self.m.tick(now)
                self.link.tick(now)
                self.m.check_unfence(self.local)
                self.fence.start_helpers()
            except Exception as exc:  # noqa: BLE001 - keep serving
                log(f"tick failed: {exc!r}")
            await asyncio.sleep(0.1)

    async def follow(self, req: dict, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> dict[str, Any] | None:
        """The streaming request (:mod:`hatui.lab.drbd.follow`); a reply only if there is nothing to follow."""
        argv = req.get("argv")
        if not _is_argv(argv) or not wants_follow(argv):
            return {"rc": 1, "stderr": "drbd-emu: follow takes drbdsetup events2 without --now\n"}
        await follow_events2(self.m.events, self.local, argv, reader, writer, check=Shell(self.sim, self.local).run)
        return None

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reply: dict[str, Any] | None
        try:
            req = json.loads(await asyncio.wait_for(reader.readline(), 5))
            if isinstance(req, dict) and req.get("op") == "follow":
                reply = await self.follow(req, reader, writer)
            else:
                reply = await self.handle(req)
        except Exception as exc:  # noqa: BLE001 - a bad request never kills the daemon
            log(f"request failed: {exc!r}")
            reply = {"rc": 1, "stdout": "", "stderr": f"drbd-emu: {exc}\n"}
        try:
            if reply is not None:
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
        repl = await asyncio.start_server(self.link.accept, host.strip("[]"), int(port), limit=LINE_LIMIT,
                                          reuse_address=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(self.tick_loop())]
        if self.link.coordinator:
            tasks.append(asyncio.create_task(self.link.dial_loop()))
        log(f"{self.local}: serving {sock}, replication on {self.env.repl_listen}")
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            self.persist()
            self.link.drop("shutting down")
            api.close()
            repl.close()
            sock.unlink(missing_ok=True)
            log(f"{self.local}: stopped")


def _is_argv(argv: Any) -> bool:
    return isinstance(argv, list) and bool(argv) and all(isinstance(a, str) for a in argv)


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
