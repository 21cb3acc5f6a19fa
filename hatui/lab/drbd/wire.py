"""The DRBD emulator's wire: one JSON-lines TCP session to the peer, and the state documents.

:class:`PeerSession` frames messages (one JSON object per line), pings the peer
and declares the link lost when nothing arrives within the ping timeout or the
socket fails; the ``*_doc`` functions turn a node's or the pair's state into
JSON-able documents and back. What the messages mean, and who sends which, is
the peer protocol in :mod:`hatui.lab.drbd.link`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, Awaitable, Callable

from hatui.emulator.drbd_machine import DrbdMachine, DrbdNode, SyncJob

LINE_LIMIT = 256 * 1024 * 1024  # an offer carries every block of the device
NODE_FIELDS = ("role", "disk", "conn", "want_connect", "discard_my_data", "needs_full_sync", "open_count",
               "generation", "written_kib", "sent_kib", "received_kib", "suspended", "peer_fenced")


def log(message: str) -> None:
    print(f"drbd-emu: {message}", file=sys.stderr, flush=True)


# ---- state documents ------------------------------------------------------------------


def node_doc(node: DrbdNode, *, blocks: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {f: getattr(node, f) for f in NODE_FIELDS}
    doc["out_of_sync"] = sorted(node.out_of_sync)
    if blocks:
        doc["blocks"] = dict(node.blocks)
    return doc


def apply_node_doc(node: DrbdNode, doc: dict[str, Any], now: float) -> None:
    for f in NODE_FIELDS:
        if f in doc:
            setattr(node, f, doc[f])
    node.out_of_sync = set(doc.get("out_of_sync", ()))
    if "blocks" in doc:
        node.blocks = {str(k): str(v) for k, v in doc["blocks"].items()}
    node.conn_since, node.lost_since, node.up = now, None, True


def pair_doc(m: DrbdMachine) -> dict[str, Any]:
    job = m.sync
    sync = None
    if job is not None:
        sync = {"kind": job.kind, "source": job.source, "target": job.target, "keys": sorted(job.keys),
                "full": job.full, "total_kib": job.total_kib, "left_kib": job.left_kib,
                "rate_kib_s": job.rate_kib_s}
    return {"synced": m.synced_generation, "sync": sync, "nodes": {n: node_doc(d) for n, d in m.nodes.items()}}


def adopt_pair(m: DrbdMachine, doc: dict[str, Any], now: float) -> None:
    """The follower takes the coordinator's view of the pair (its own blocks are applied apart)."""
    m.synced_generation = int(doc["synced"])
    for name, nd in doc["nodes"].items():
        apply_node_doc(m.nodes[name], nd, now)
    s = doc.get("sync")
    m.sync = None if s is None else SyncJob(s["kind"], s["source"], s["target"], set(s["keys"]), s["full"],
                                            int(s["total_kib"]), float(s["left_kib"]), float(s["rate_kib_s"]), now)
    m.now = now


# ---- one TCP session ----------------------------------------------------------------------


class PeerSession:
    """A live connection to the peer daemon: framing, pings, loss detection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 on_message: Callable[["PeerSession", dict], Awaitable[None]],
                 on_close: Callable[["PeerSession", str], None],
                 ping: Callable[[], dict], ping_interval: float, ping_timeout: float,
                 muted: Callable[[], bool] = lambda: False) -> None:
        self.reader, self.writer = reader, writer
        self.muted = muted  # the link is cut (fault "cut"): every message is silently lost
        self._on_message, self._on_close, self._ping = on_message, on_close, ping
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.last_rx = time.monotonic()
        self.peer_conn: str | None = None
        self.closed = False
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._read_loop()), asyncio.create_task(self._ping_loop())]

    def send(self, msg: dict) -> None:
        if self.closed:
            raise ConnectionError("peer link is down")
        if self.muted():
            return
        self.writer.write((json.dumps(msg, separators=(",", ":")) + "\n").encode())

    def close(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - already broken
            pass
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._on_close(self, why)

    async def _read_loop(self) -> None:
        why = "Connection closed by peer"
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                if self.muted():
                    continue
                self.last_rx = time.monotonic()
                try:
                    msg = json.loads(line)
                    if not isinstance(msg, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    log(f"bad peer message ignored: {exc}")
                    continue
                if msg.get("t") == "ping":
                    self.peer_conn = msg.get("conn")
                    continue
                try:
                    await self._on_message(self, msg)
                except Exception as exc:  # noqa: BLE001 - a bad message must not kill the daemon
                    log(f"peer message {msg.get('t')!r} failed: {exc!r}")
        except (ConnectionError, OSError, ValueError) as exc:  # ValueError: line over the limit
            why = f"Network failure ({exc.__class__.__name__})"
        except asyncio.CancelledError:
            return
        self.close(why)

    async def _ping_loop(self) -> None:
        try:
            while not self.closed:
                try:
                    self.send({"t": "ping", **self._ping()})
                except (ConnectionError, OSError, RuntimeError):
                    self.close("Network failure (send)")
                    return
                if time.monotonic() - self.last_rx > self.ping_timeout:
                    self.close("PingAck did not arrive in time.")
                    return
                await asyncio.sleep(self.ping_interval)
        except asyncio.CancelledError:
            return


async def exchange_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, me: str, expect: str,
                         resource: str, timeout: float) -> bool:
    """Both sides introduce themselves; False (and closed) if it is not our peer."""
    writer.write((json.dumps({"t": "hello", "node": me, "resource": resource}) + "\n").encode())
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
        msg = json.loads(line) if line else {}
    except (asyncio.TimeoutError, ValueError, ConnectionError, OSError):
        msg = {}
    if not isinstance(msg, dict) or msg.get("t") != "hello" or msg.get("node") != expect \
            or msg.get("resource") != resource:
        writer.close()
        return False
    return True


