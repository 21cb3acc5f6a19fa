"""The lab's client: numbered records written through the VIP, outages measured, losses verified.

Write mode::

    python -m hatui.lab.host.client --target HOST:PORT [--interval 0.05] [--duration S] [--out FILE] [--start-seq N]

writes ``rec-000001``, ``rec-000002``, ... (value ``seq=N,t=SEND_TIME``) with the NFS
stand-in's line protocol (``WRITE key value`` → ``OK key``), one TCP connection
reused, reconnecting after any error (connect timeout 0.3 s, reply timeout 1 s).
A record that was not acked is retried with the same number. One JSON line per
event on stdout (and appended to ``--out``)::

    {"event":"ack","seq":N,"t":T}
    {"event":"outage","start":T,"end":T,"seconds":X,"failed_attempts":K}
    {"event":"summary","acked":N,"last_seq":N,"outages":[...],"max_outage":X}   (SIGTERM/SIGINT/--duration)

An outage window runs from the first failed attempt after the last success to
the next success. Verify mode::

    python -m hatui.lab.host.client --target HOST:PORT --verify FILE

reads back every acked seq in FILE (``READ key``) and prints
``{"event":"verify","acked":N,"lost":[...],"ok":bool}``; exit 0 when nothing is lost.
Probe mode::

    python -m hatui.lab.host.client --target HOST:PORT --probe SECONDS

writes one record (``probe-0``) again and again until it is acked or SECONDS
pass, and prints ``{"event":"probe","ok":bool,"seconds":X,"attempts":N}``: whether
a client can write through the target *now* (a pair whose nodes look healthy
can still be out of a client's reach, e.g. while its ARP entry for the VIP
still names the other node). Exit 0 when acked.
Importable: :class:`RecordClient`, :class:`LineConnection`, :func:`verify`, :func:`acked_seqs`, :func:`probe`.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import time
from typing import Callable, Iterable, TextIO

CONNECT_TIMEOUT = 0.3
REPLY_TIMEOUT = 1.0


def record_key(seq: int) -> str:
    """The key of record ``seq`` (``rec-000042``)."""
    return f"rec-{seq:06d}"


def record_value(seq: int, sent: float) -> str:
    """The value written for record ``seq`` (no spaces: the protocol's value is the rest of the line)."""
    return f"seq={seq},t={sent:.6f}"


def parse_target(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"target must be HOST:PORT, not {text!r}")
    return host, int(port)


class LineConnection:
    """One reusable TCP connection speaking one-line requests and replies; reconnects on demand."""

    def __init__(self, host: str, port: int, connect_timeout: float = CONNECT_TIMEOUT,
                 reply_timeout: float = REPLY_TIMEOUT) -> None:
        self.addr = (host, port)
        self.connect_timeout, self.reply_timeout = connect_timeout, reply_timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def close(self) -> None:
        """Drop the connection (the next request reconnects)."""
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def request(self, line: str) -> str:
        """Send one line, return the reply line; raises OSError (and closes) on any failure or timeout."""
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=self.connect_timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.settimeout(self.reply_timeout)
            self.sock.sendall(line.encode() + b"\n")
            deadline = time.monotonic() + self.reply_timeout
            while b"\n" not in self.buf:
                self.sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise ConnectionError("connection closed by the server")
                self.buf += chunk
            reply, self.buf = self.buf.split(b"\n", 1)
            return reply.decode(errors="replace")
        except OSError:
            self.close()  # a late reply must never be read as the answer to the next request
            raise


class RecordClient:
    """Writes sequence-numbered records continuously and reports acks and outage windows.

    ``emit`` receives each event dict (ack, outage); :meth:`run` returns the summary.
    Call :meth:`stop` (e.g. from a signal handler) to end the run after the current attempt.
    """

    def __init__(self, host: str, port: int, *, interval: float = 0.05, start_seq: int = 1,
                 emit: Callable[[dict], None] | None = None, connect_timeout: float = CONNECT_TIMEOUT,
                 reply_timeout: float = REPLY_TIMEOUT) -> None:
        self.conn = LineConnection(host, port, connect_timeout, reply_timeout)
        self.interval = interval
        self.seq = start_seq
        self.emit = emit or (lambda event: None)
        self.acked = 0
        self.last_seq: int | None = None
        self.outages: list[dict] = []
        self.outage_start: float | None = None
        self.failed_attempts = 0
        self.stopped = False

    def stop(self) -> None:
        """Ask :meth:`run` to finish (safe from a signal handler)."""
        self.stopped = True

    def attempt(self) -> bool:
        """Try to write the current record once; True when the server acked it."""
        sent = time.time()
        key = record_key(self.seq)
        try:
            ok = self.conn.request(f"WRITE {key} {record_value(self.seq, sent)}") == f"OK {key}"
        except OSError:
            ok = False
        now = time.time()
        if not ok:
            if self.outage_start is None:
                self.outage_start = sent
            self.failed_attempts += 1
            return False
        if self.outage_start is not None:
            self._close_outage(now)
        self.acked += 1
        self.last_seq = self.seq
        self.emit({"event": "ack", "seq": self.seq, "t": round(now, 6)})
        self.seq += 1
        return True

    def _close_outage(self, end: float, still_open: bool = False) -> None:
        assert self.outage_start is not None
        outage = {"event": "outage", "start": round(self.outage_start, 6), "end": round(end, 6),
                  "seconds": round(end - self.outage_start, 3), "failed_attempts": self.failed_attempts}
        if still_open:
            outage["open"] = True  # the run ended during this outage
        self.outages.append(outage)
        self.emit(outage)
        self.outage_start, self.failed_attempts = None, 0

    def summary(self) -> dict:
        """The summary event (an outage still going on is closed at this moment, marked open)."""
        if self.outage_start is not None:
            self._close_outage(time.time(), still_open=True)
        return {"event": "summary", "acked": self.acked, "last_seq": self.last_seq, "outages": self.outages,
                "max_outage": max((o["seconds"] for o in self.outages), default=0.0)}

    def run(self, duration: float | None = None) -> dict:
        """Write until :meth:`stop` or ``duration`` seconds; returns (and emits) the summary."""
        end = time.monotonic() + duration if duration is not None else None
        next_at = time.monotonic()
        while not self.stopped and (end is None or time.monotonic() < end):
            self.attempt()
            # fixed pace from the schedule, not from the reply: a slow ack does not slow the offered load
            next_at = max(next_at + self.interval, time.monotonic())
            while not self.stopped and time.monotonic() < next_at:
                time.sleep(min(0.01, max(0.0, next_at - time.monotonic())))
        self.conn.close()
        doc = self.summary()
        self.emit(doc)
        return doc


def acked_seqs(lines: Iterable[str]) -> list[int]:
    """The seqs of the ``ack`` events in a client output (other lines are skipped)."""
    seqs = []
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("event") == "ack" and isinstance(doc.get("seq"), int):
            seqs.append(doc["seq"])
    return sorted(set(seqs))


def verify(host: str, port: int, seqs: Iterable[int], retries: int = 3) -> dict:
    """Read back each seq through the target; a record missing, wrong or unreadable counts as lost."""
    conn = LineConnection(host, port)
    seqs = list(seqs)
    lost = []
    for seq in seqs:
        reply = None
        for _ in range(retries):
            try:
                reply = conn.request(f"READ {record_key(seq)}")
                break
            except OSError:
                time.sleep(0.1)
        if reply is None or not reply.startswith(f"VALUE seq={seq},"):
            lost.append(seq)
    conn.close()
    return {"event": "verify", "acked": len(seqs), "lost": lost, "ok": not lost}


def probe(host: str, port: int, bound: float, pause: float = 0.1) -> dict:
    """Write ``probe-0`` until acked or ``bound`` seconds pass."""
    conn = LineConnection(host, port)
    start, attempts, ok = time.monotonic(), 0, False
    while not ok and time.monotonic() - start < bound:
        attempts += 1
        try:
            ok = conn.request(f"WRITE probe-0 t={time.time():.6f}") == "OK probe-0"
        except OSError:
            ok = False
        if not ok:
            time.sleep(pause)
    conn.close()
    return {"event": "probe", "ok": ok, "seconds": round(time.monotonic() - start, 3), "attempts": attempts}


def _emitter(out: TextIO | None) -> Callable[[dict], None]:
    def emit(event: dict) -> None:
        line = json.dumps(event, separators=(",", ":"))
        print(line, flush=True)
        if out is not None:
            out.write(line + "\n")
            out.flush()
    return emit


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m hatui.lab.host.client", description=__doc__.split("\n")[0])
    p.add_argument("--target", required=True, help="HOST:PORT (the VIP and the NFS stand-in's port)")
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--duration", type=float, default=None)
    p.add_argument("--out", default=None, help="also append the JSON lines to this file")
    p.add_argument("--start-seq", type=int, default=1)
    p.add_argument("--verify", metavar="FILE", default=None, help="read back the acked records listed in FILE")
    p.add_argument("--probe", metavar="SECONDS", type=float, default=None,
                   help="write one record until acked or SECONDS pass")
    args = p.parse_args(argv)
    try:
        host, port = parse_target(args.target)
    except ValueError as exc:
        p.error(str(exc))
    if args.probe is not None:
        doc = probe(host, port, args.probe)
        print(json.dumps(doc, separators=(",", ":")), flush=True)
        return 0 if doc["ok"] else 1
    if args.verify:
        with open(args.verify) as f:
            doc = verify(host, port, acked_seqs(f))
        print(json.dumps(doc, separators=(",", ":")), flush=True)
        return 0 if doc["ok"] else 1
    out = open(args.out, "a") if args.out else None
    try:
        client = RecordClient(host, port, interval=args.interval, start_seq=args.start_seq, emit=_emitter(out))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: client.stop())
        client.run(args.duration)
    finally:
        if out is not None:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
