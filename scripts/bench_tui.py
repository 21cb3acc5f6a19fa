#!/usr/bin/env python3
"""Benchmark the console against the demo pair: CPU per wall second and change-to-screen latency.

The demo pair runs in its own process (``hatui demo --headless``), so the CPU
measured here is the console's alone (Textual + the asyncssh client + model).
The console runs headless (``App.run_test``) at 1 s polling.

1. CPU: for ``--seconds`` of steady polling, process CPU time / wall time, as %
   of one core (target ≤ 3 %).
2. Latency: ``--samples`` times, stop (then start) keepalived on the standby
   node through the simulator and measure from sending the fault to the
   standby's Keepalived row changing on screen. Nothing streams this change
   (the kit journals nothing for a standby's keepalived), so it waits for the
   standby's next poll: target ≤ the interval it is polled at + 150 ms — the
   poll interval, or 2 × it while the node's DRBD stream is on (the poll is then
   a reconcile; see README "What streams and what is polled").

Usage: python scripts/bench_tui.py [--seconds 20] [--samples 6] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hatui.config import load_config
from hatui.transport import NodeTransport
from hatui.ui.app import HatuiApp
from hatui.ui.node_stack import NodeStack

SIZE = (100, 30)


def start_demo(state: Path) -> tuple[subprocess.Popen, Path]:
    config = state / "config.toml"
    env = dict(os.environ, HATUI_STATE_DIR=str(state))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hatui.cli", "demo", "--headless", "--write-config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "ready" not in line:
        proc.terminate()
        raise SystemExit(f"demo did not start: {line.strip() or proc.wait()}")
    return proc, config


async def inject(config, kind: str, *args: str) -> None:
    """Same path as `hatui demo fault`: the simulator's control command over SSH."""
    command = shlex.join(["hatui-sim", "fault", kind, *args])
    for node in config.nodes:
        transport = NodeTransport(node, config.cluster)
        try:
            result = await transport.run(command, timeout=5)
        except Exception:
            continue
        finally:
            await transport.close()
        if result.exit_status == 0:
            return
    raise RuntimeError(f"fault {kind} not accepted")


def region_text(app: HatuiApp, widget) -> str:
    """The characters on screen inside ``widget``'s region."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    rows = strips[region.y: region.bottom]
    return "\n".join("".join(s.text for s in row)[region.x: region.right] for row in rows)


async def wait_until(predicate, timeout: float) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError
        await asyncio.sleep(0.005)
    return time.perf_counter()


async def bench(config_path: Path, seconds: float, samples: int, interval: float) -> dict[str, object]:
    config = load_config(config_path)
    app = HatuiApp(config, poll_interval=interval)
    out: dict[str, object] = {}
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_for_poll(2, timeout=30)
        await wait_until(lambda: app.snapshot is not None and len(app.snapshot.active_nodes) == 1, 30)
        # --- CPU in steady state -----------------------------------------------------
        polls0 = app.poll_count
        wall0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        out["cpu_pct"] = 100 * cpu / wall
        out["polls"] = app.poll_count - polls0
        out["wall"] = wall
        # --- fault → screen latency ------------------------------------------------------
        standby = next(n.name for n in app.snapshot.nodes if n.name not in app.snapshot.active_nodes)
        stack = next(s for s in app.main.query(NodeStack) if s.node == standby)
        latencies = []
        for i in range(samples):
            stopping = i % 2 == 0
            kind = "stop-keepalived" if stopping else "start-keepalived"
            gone = "✔ BACKUP"
            # Start at a random phase of the poll cycle, like a real fault would.
            await asyncio.sleep((i * 0.37) % interval)
            sent = time.perf_counter()
            await inject(config, kind, standby)
            if stopping:
                seen = await wait_until(lambda: gone not in region_text(app, stack), interval * 3 + 5)
            else:
                seen = await wait_until(lambda: gone in region_text(app, stack), interval * 3 + 5)
            latencies.append(seen - sent)
            await asyncio.sleep(interval * 0.5)
        out["latencies"] = latencies
        out["node_interval"] = app.poller.interval_for(standby, interval)
        await pilot.press("q")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="steady-state CPU window")
    parser.add_argument("--samples", type=int, default=6, help="fault → screen latency samples")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hatui-bench-") as tmp:
        proc, config = start_demo(Path(tmp))
        try:
            result = asyncio.run(bench(config, args.seconds, args.samples, args.interval))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    lat = result["latencies"]
    budget = result["node_interval"] + 0.150
    rows = [
        ("CPU per wall second", f"{result['cpu_pct']:.2f} % of one core", "≤ 3 %", result["cpu_pct"] <= 3.0,
         f"{result['polls']} polls in {result['wall']:.1f} s"),
        ("change → screen, mean", f"{statistics.mean(lat) * 1000:.0f} ms", f"≤ {budget * 1000:.0f} ms",
         statistics.mean(lat) <= budget, f"{len(lat)} samples"),
        ("change → screen, max", f"{max(lat) * 1000:.0f} ms", f"≤ {budget * 1000:.0f} ms", max(lat) <= budget,
         "all: " + " ".join(f"{x * 1000:.0f}" for x in lat)),
    ]
    print(f"hatui console benchmark: demo pair, {args.interval:g} s polling (the standby polled every "
          f"{result['node_interval']:g} s), headless {SIZE[0]}x{SIZE[1]}")
    print(f"{'measure':<24}{'value':<22}{'target':<12}{'ok':<5}note")
    for name, value, target, ok, note in rows:
        print(f"{name:<24}{value:<22}{target:<12}{'yes' if ok else 'NO':<5}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
