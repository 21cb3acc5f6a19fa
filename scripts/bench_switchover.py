#!/usr/bin/env python3
"""Benchmark: N planned switchovers (alternating) against the demo pair.

For each switchover it reports the total duration of the action (plan run to
verified) and the client-visible outage: a client polls the service through
the VIP every few milliseconds (in the simulation: exactly one node holds the
VIP, and that node is up, DRBD Primary, mounted and runs NFS) and the longest
gap in service during the action is the outage. Printed beside the seed's
"failover sequence 30-60 seconds" (services available at T+35). Target: outage
<= 2 s.

Runs the real hatui actions over real SSH against the in-process demo pair,
at real time by default (``--time-scale 1``: keepalived's skew and DRBD's
timers take their real durations).

    python scripts/bench_switchover.py --runs 6
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.actions import ActionRunner, plan_failover
from hatui.config import load_config
from hatui.demo.server import DemoPair
from hatui.snapshot.poller import ClusterPoller
from hatui.states import Severity

SEED_RANGE = (30.0, 60.0)
SEED_AVAILABLE = 35.0
TARGET_OUTAGE = 2.0
CLIENT_EVERY = 0.005


def serves(pair: DemoPair) -> bool:
    """What a client reaching the VIP sees: is there one holder, and does it serve NFS?"""
    sim = pair.sim
    sim.tick(pair.sim_now())
    holders = [n for n in sim.nodes.values() if n.up and n.vip]
    if len(holders) != 1:
        return False
    h = holders[0]
    return h.mounted and sim.drbd.node(h.name).role == "Primary" and h.units[sim.nfs_unit].active


class Client:
    """Polls the service through the VIP; records every outage interval."""

    def __init__(self, pair: DemoPair) -> None:
        self.pair = pair
        self.down_since: float | None = None
        self.outages: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            now = time.monotonic()
            if serves(self.pair):
                if self.down_since is not None:
                    self.outages.append((self.down_since, now))
                    self.down_since = None
            elif self.down_since is None:
                self.down_since = now
            await asyncio.sleep(CLIENT_EVERY)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def longest_between(self, start: float, end: float) -> float:
        spans = [min(b, end) - max(a, start) for a, b in self.outages if b >= start and a <= end]
        if self.down_since is not None and self.down_since <= end:
            spans.append(end - max(self.down_since, start))
        return max(spans, default=0.0)


async def wait_healthy(poller: ClusterPoller, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        snap = await poller.poll()
        if snap.verdict == Severity.OK:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("pair not healthy: " + "; ".join(f.message for f in snap.findings))
        await asyncio.sleep(0.1)


async def bench(runs: int, time_scale: float) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="hatui-bench-"))
    os.environ["HATUI_STATE_DIR"] = str(tmp / "state")  # never the operator's real timelines/audit
    pair = await DemoPair.start(tmp / "demo.toml", state_dir=tmp / "demo", time_scale=time_scale)
    results = []
    try:
        config = load_config(pair.config_path)
        poller = ClusterPoller(config)
        runner = ActionRunner(config, poller.transports, poller, acknowledged={"recent-role-change"},
                              check_interval=0.05)
        client = Client(pair)
        client.start()
        try:
            for i in range(runs):
                await wait_healthy(poller)
                plan = plan_failover(await poller.poll(), config)
                started = time.monotonic()
                result = await runner.run(plan, confirm=plan.target)
                ended = time.monotonic()
                if not result.ok:
                    raise RuntimeError(f"run {i + 1}: {result.summary()}")
                outage = client.longest_between(started, ended)
                results.append({"run": i + 1, "from": plan.source, "to": plan.target,
                                "total_s": ended - started, "outage_s": outage,
                                "timeline": str(result.timeline.path) if result.timeline else None})
                print(f"run {i + 1}: {plan.source} → {plan.target}: total {ended - started:6.2f}s, "
                      f"client-visible outage {outage:5.2f}s", flush=True)
        finally:
            await client.stop()
            await poller.close()
    finally:
        await pair.stop()
    totals = [r["total_s"] for r in results]
    outages = [r["outage_s"] for r in results]
    return {"runs": results, "time_scale": time_scale,
            "total_median_s": statistics.median(totals), "total_max_s": max(totals),
            "outage_median_s": statistics.median(outages), "outage_max_s": max(outages),
            "seed_failover_s": list(SEED_RANGE), "target_outage_s": TARGET_OUTAGE}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--time-scale", type=float, default=1.0, help="demo time speed (1 = real time)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report = asyncio.run(bench(args.runs, args.time_scale))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ok = report["outage_max_s"] <= TARGET_OUTAGE
    scale = f" (demo time x{args.time_scale:g})" if args.time_scale != 1 else ""
    print(f"\n{args.runs} switchovers{scale}")
    print(f"  total duration   median {report['total_median_s']:6.2f}s   max {report['total_max_s']:6.2f}s   "
          f"seed failover: {SEED_RANGE[0]:g}-{SEED_RANGE[1]:g}s (services at T+{SEED_AVAILABLE:g})")
    print(f"  client outage    median {report['outage_median_s']:6.2f}s   max {report['outage_max_s']:6.2f}s   "
          f"target <= {TARGET_OUTAGE:g}s: {'MET' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
