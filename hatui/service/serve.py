"""The ``hatui serve`` process: one polling loop per pair, ``/metrics``, the history writer, signals.

Why one loop per pair: a pair whose nodes hang, or whose config is broken, must not delay
or stop the others. Each loop owns a :class:`~hatui.snapshot.poller.ClusterPoller` (the console's:
one batched exec per node per cycle, each node bounded by its own timeouts) and sleeps
its pair's ``poll_interval`` between cycles. A broken pair file has no loop: its error is
exported (``hatui_pair_config_error``) and the pair is UNKNOWN.

Process contract (the systemd unit in ``scripts/systemd/``): foreground; one "ready" line
on stdout and ``READY=1`` to systemd once ``/metrics`` listens and every pair has answered
(or failed) once; SIGHUP re-reads the fleet (unchanged pairs keep their loop and
connections; a fleet that cannot be read keeps the old one); SIGTERM/SIGINT stop every
loop, close every connection, flush the history and exit 0.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (CollectorRegistry, Counter as PromCounter, Histogram, ProcessCollector,
                               disable_created_metrics, start_http_server)

from hatui.errors import HatuiError
from hatui.fleet import Fleet, PairEntry, load_fleet
from hatui.model import ClusterSnapshot
from hatui.snapshot.poller import ClusterPoller, status_timeout
from hatui.history.writer import HistoryWriter
from hatui.service.metrics import FleetCollector, latest_results
from hatui.service.sdnotify import notify

DEFAULT_LISTEN = "127.0.0.1:9860"
AUDIT_EVERY = 5.0  # seconds between looks at the audit log
PRUNE_EVERY = 600.0
POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def log(message: str) -> None:
    print(f"hatui serve: {message}", file=sys.stderr, flush=True)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6; port 0 picks a free one) → (host, port)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise HatuiError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class ServeOptions:
    config: str | None = None
    listen: str = DEFAULT_LISTEN
    history: Path | None = None  # None: no history
    keep_days: float = 30.0
    max_mb: float = 200.0
    audit: Path | None = None  # the audit log whose action runs are counted (None: none)


class TimedPoller(ClusterPoller):
    """The console's poller, timing each node's poll for ``hatui_poll_duration_seconds``."""

    def __init__(self, config, histogram: Histogram, pair: str) -> None:
        super().__init__(config)
        self._histogram, self._pair = histogram, pair

    async def poll_node(self, name, limit=None, *, keep_on_timeout=False):
        started = time.monotonic()
        try:
            return await super().poll_node(name, limit, keep_on_timeout=keep_on_timeout)
        finally:
            self._histogram.labels(self._pair, name).observe(time.monotonic() - started)


class PairLoop:
    """Polls one pair until stopped; keeps its latest snapshot."""

    def __init__(self, entry: PairEntry, service: Service) -> None:
        self.entry, self.service = entry, service
        self.snapshot: ClusterSnapshot | None = None
        self.first = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        if entry.config is None:
            self.first.set()
        else:
            self.task = asyncio.create_task(self._run(), name=f"hatui-serve-{entry.name}")

    async def _run(self) -> None:
        config = self.entry.config
        assert config is not None
        poller = TimedPoller(config, self.service.poll_seconds, self.entry.name)
        poller.start_streams().listeners.append(lambda node, kinds: self._streamed(poller))
        try:
            while True:
                started = time.monotonic()
                # Longer while both nodes stream (the poll is then a reconcile: hatui.snapshot.streams).
                interval = min(poller.interval_for(n, config.cluster.poll_interval) for n in config.node_names)
                try:
                    snap = await asyncio.wait_for(poller.poll(), status_timeout(config) + interval)
                except (asyncio.TimeoutError, TimeoutError):
                    snap = poller.assemble()  # every node answered or was marked hung meanwhile
                except Exception as exc:  # a bug must not end this pair's monitoring: say it, go on
                    log(f"{self.entry.name}: poll failed: {exc!r}")
                    snap = None
                if snap is not None:
                    self.snapshot = snap
                    self.first.set()
                    self.service.snapshot_taken(self.entry.name, snap)
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            await poller.close()

    def _streamed(self, poller: ClusterPoller) -> None:
        """A node's stream changed its data: the metrics and the history have it now, not at the next poll."""
        if poller.ready:
            self.snapshot = poller.assemble()
            self.service.snapshot_taken(self.entry.name, self.snapshot)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass


class Service:
    """Every pair's loop, the metrics endpoint and the history, for one fleet source."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        disable_created_metrics()  # no *_created series: they double the histogram's output and nobody graphs them
        self.loops: dict[str, PairLoop] = {}
        self.registry = CollectorRegistry()
        self.poll_seconds = Histogram("hatui_poll_duration_seconds", "Seconds one node's poll took (one batched exec; "
                                      "a node that does not answer counts its whole bound)", ["pair", "node"],
                                      buckets=POLL_BUCKETS, registry=self.registry)
        ProcessCollector(registry=self.registry)
        self.action_counts: Counter[tuple[str, str, str]] = Counter()
        self.action_results: dict[tuple[str, str], Mapping[str, object]] = {}
        self.registry.register(FleetCollector(self.pairs_view, lambda: dict(self.action_counts),
                                              lambda: dict(self.action_results)))
        self.history = (HistoryWriter(options.history, keep_days=options.keep_days, max_mb=options.max_mb,
                                      source=f"serve@{socket.gethostname()}", log=log,
                                      on_error=PromCounter("hatui_history_write_errors", "History writes that failed "
                                                           "or were dropped", registry=self.registry).inc)
                        if options.history is not None else None)
        self._audit_stat: tuple[int, int] | None = None
        self.httpd = None

    # ---- what the collector reads (from the HTTP server's threads) ----------------

    def pairs_view(self) -> list[tuple[str, str, str | None, ClusterSnapshot | None]]:
        return [(name, str(lp.entry.path), lp.entry.error, lp.snapshot) for name, lp in list(self.loops.items())]

    def snapshot_taken(self, pair: str, snap: ClusterSnapshot) -> None:
        if self.history is not None:
            self.history.snapshot(pair, snap)

    # ---- fleet ------------------------------------------------------------------------

    def _apply(self, fleet: Fleet) -> list[PairLoop]:
        """Start loops for new or changed pairs; returns the loops to stop (changed or removed)."""
        new: dict[str, PairLoop] = {}
        retired = []
        for entry in fleet.pairs:
            old = self.loops.get(entry.name)
            if old is not None and (old.entry.path, old.entry.config, old.entry.error) == (
                    entry.path, entry.config, entry.error):
                new[entry.name] = old
                continue
            if old is not None:
                retired.append(old)
            new[entry.name] = PairLoop(entry, self)
        retired += [lp for name, lp in self.loops.items() if name not in new]
        self.loops = new
        return retired

    async def _retire(self, loops: list[PairLoop]) -> None:
        for lp in loops:
            await lp.stop()
            config = lp.entry.config
            if config is not None and lp.entry.name not in self.loops:
                for node in config.node_names:
                    try:
                        self.poll_seconds.remove(lp.entry.name, node)
                    except KeyError:
                        pass

    async def reload(self) -> None:
        notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
        try:
            fleet = load_fleet(self.options.config)
        except HatuiError as exc:
            log(f"reload: {exc}; keeping the {len(self.loops)} pairs already polled")
        else:
            retired = self._apply(fleet)
            await self._retire(retired)
            log(f"reloaded: {len(self.loops)} pairs ({len(retired)} restarted or removed)")
        notify("READY=1", self._status())

    def _status(self) -> str:
        broken = sum(1 for lp in self.loops.values() if lp.entry.error)
        return f"STATUS=polling {len(self.loops) - broken} pairs" + (f", {broken} with config errors" if broken else "")

    # ---- background chores -------------------------------------------------------------

    async def _audit_loop(self) -> None:
        from hatui.actions.audit import read_audit  # reading only: the audit log is the action runner's
        from hatui.history.recorder import audit_pairs

        path = self.options.audit
        while path is not None:
            try:
                st = path.stat()
                stat = (st.st_size, st.st_mtime_ns)
            except OSError:
                stat = None
            if stat is not None and stat != self._audit_stat:
                self._audit_stat = stat
                records = await asyncio.to_thread(read_audit, path)
                configs = {n: lp.entry.config for n, lp in self.loops.items() if lp.entry.config is not None}
                owner = audit_pairs(records, configs)
                counts: Counter[tuple[str, str, str]] = Counter()
                for rec in records:
                    if rec.get("event") in ("result", "refused", "cancelled"):
                        result = str(rec.get("result") or rec.get("event"))
                        counts[(owner.get(str(rec.get("action_id")), ""), str(rec.get("action", "")), result)] += 1
                self.action_counts = counts
                self.action_results = latest_results(records, owner)
                if self.history is not None:
                    self.history.audit(records, configs)
            await asyncio.sleep(AUDIT_EVERY)

    async def _prune_loop(self) -> None:
        while self.history is not None:
            self.history.prune()
            await asyncio.sleep(PRUNE_EVERY)

    # ---- the whole process ------------------------------------------------------------

    async def run(self) -> int:
        host, port = parse_listen(self.options.listen)
        fleet = load_fleet(self.options.config)
        if not is_loopback(host):
            log(f"listening on {host}: anyone who can reach it reads every pair's state (no action is possible)")
        self.httpd, _thread = start_http_server(port, host, registry=self.registry)
        port = self.httpd.server_port
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        reloads: list[asyncio.Task[None]] = []
        loop.add_signal_handler(signal.SIGHUP, lambda: reloads.append(asyncio.create_task(self.reload())))
        self._apply(fleet)
        chores = [asyncio.create_task(self._audit_loop()), asyncio.create_task(self._prune_loop())]
        try:
            bound = max((status_timeout(lp.entry.config) for lp in self.loops.values() if lp.entry.config),
                        default=1.0)
            firsts = [asyncio.create_task(lp.first.wait()) for lp in self.loops.values()]
            await asyncio.wait(firsts, timeout=bound + 1)
            for task in firsts:
                task.cancel()
            history = self.options.history if self.options.history is not None else "off"
            notify("READY=1", self._status())
            print(f"hatui serve ready: listen={host}:{port} pairs={len(self.loops)} history={history}", flush=True)
            await stop.wait()
        finally:
            notify("STOPPING=1")
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            for task in chores + reloads:
                task.cancel()
            await asyncio.gather(*chores, *reloads, return_exceptions=True)
            await asyncio.gather(*(lp.stop() for lp in self.loops.values()))
            self.httpd.shutdown()
            self.httpd.server_close()
            if self.history is not None:
                self.history.close()
        return 0


def run_serve(options: ServeOptions) -> int:
    """Serve until SIGTERM/SIGINT; the process exit code."""
    return asyncio.run(Service(options).run())
