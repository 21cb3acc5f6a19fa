#!/usr/bin/env python3
"""Benchmark the fleet console (the overview) over 1, 10 and 50 simulated pairs: CPU per wall second.

For each fleet size N, in one run, printed side by side:

* the simulated fleet runs in its own process (``hatui demo --headless --pairs N``), every pair
  file rewritten to poll every ``--interval`` seconds (2 s, the config default), so the CPU
  measured here is the console's alone: Textual drawing the overview, the asyncssh clients,
  parsing, facts and rules of every pair;
* the console (:class:`hatui.ui.fleet_app.FleetApp`, headless ``App.run_test`` at 160x48, which
  draws every frame as on a terminal) polls every pair on its own; after every pair has
  answered and a warm-up, for ``--seconds``: its CPU time / wall time (% of one core), the pair
  polls done, CPU per node poll, and how often the table was redrawn;
* at the largest size, the same again with one pair's screen open (that pair polled by the
  pair screen, each node every interval; the other pairs by the overview), and the same pollers
  without the console (no Textual), so the console's own share shows as a ratio;
* the demo process' own CPU, for context: the simulator shares the machine with the console.

No absolute thresholds: the README quotes the numbers of one run next to the issue's target
(≤ 25 % of one core at 50 pairs).

Usage: python scripts/bench_fleet.py [--pairs 1,10,50] [--seconds 30] [--interval 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hatui.fleet import load_fleet
from hatui.ui.fleet_app import FleetApp
from hatui.ui.fleet_poll import FleetPolling
from hatui.ui.fleet_screen import FleetScreen
from hatui.ui.main_screen import MainScreen

TICK = os.sysconf("SC_CLK_TCK")
SIZE = (160, 48)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def start_demo(n: int, folder: Path, env: dict[str, str], interval: float) -> subprocess.Popen:
    demo = subprocess.Popen([sys.executable, "-m", "hatui.cli", "demo", "--headless", "--pairs", str(n),
                             "--write-config", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    deadline = time.monotonic() + 60 + n
    while time.monotonic() < deadline:
        line = demo.stdout.readline() if demo.stdout else ""
        if "hatui demo ready" in line:
            break
        if not line and demo.poll() is not None:
            raise SystemExit(f"the demo fleet of {n} did not start")
    for f in folder.glob("demo-*.toml"):
        f.write_text(re.sub(r"(?m)^poll_interval = .*$", f"poll_interval = {interval:g}", f.read_text()))
    return demo


class CountingScreen(FleetScreen):
    """The overview, counting the flushes that reached the table (at most one per 0.25 s, plus the clock tick)."""

    flushes = 0

    def flush(self) -> None:
        if self.is_attached and self.app.screen is self:
            self.flushes += 1
        super().flush()


class CountingFleetApp(FleetApp):
    def get_default_screen(self) -> CountingScreen:
        return CountingScreen(self.polling.rows(), read_only=self.read_only, keys=self.hint_keys)

    @property
    def redraws(self) -> int:
        return self.overview.flushes  # type: ignore[attr-defined]


async def measure(app: CountingFleetApp, seconds: float) -> dict[str, float]:
    polls0, redraws0, node0 = app.polling.polls, app.redraws, app.poll_count
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    pair_polls = app.polling.polls - polls0
    node_polls = 2 * pair_polls + (app.poll_count - node0)  # the overview polls both nodes; a pair screen one
    return {"cpu_pct": 100 * cpu / wall, "pair_polls_s": pair_polls / wall, "node_polls_s": node_polls / wall,
            "cpu_ms_per_node_poll": 1000 * cpu / node_polls if node_polls else float("nan"),
            "redraws_s": (app.redraws - redraws0) / wall, "wall": wall}


async def run_console(folder: Path, seconds: float, pair_screen: bool) -> dict[str, dict[str, float]]:
    fleet = load_fleet(folder)
    app = CountingFleetApp(fleet)
    out: dict[str, dict[str, float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 60 + len(fleet.pairs)
        while not all(w.snapshot is not None for w in app.polling.watches.values()):
            if time.monotonic() > deadline:
                raise SystemExit("not every pair answered in time")
            await asyncio.sleep(0.2)
        await asyncio.sleep(4.0)  # warm-up: every loop on its own schedule
        out["overview"] = await measure(app, seconds)
        if pair_screen:
            await pilot.press("enter")
            while not (isinstance(app.screen, MainScreen) and app.snapshot is not None):
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)
            out["pair screen open"] = await measure(app, seconds)
            await pilot.press("escape")
            while not isinstance(app.screen, FleetScreen):
                await asyncio.sleep(0.1)
        await pilot.press("q")
    return out


async def run_pollers_alone(folder: Path, seconds: float) -> dict[str, float]:
    """The same pollers without the console (no Textual): what polling the fleet costs by itself."""
    fleet = load_fleet(folder)
    polling = FleetPolling(fleet, lambda name: None)
    polling.start()
    try:
        deadline = time.monotonic() + 60 + len(fleet.pairs)
        while not all(w.snapshot is not None for w in polling.watches.values()):
            if time.monotonic() > deadline:
                raise SystemExit("not every pair answered in time")
            await asyncio.sleep(0.2)
        await asyncio.sleep(4.0)
        polls0, wall0, cpu0 = polling.polls, time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        node_polls = 2 * (polling.polls - polls0)
        return {"cpu_pct": 100 * cpu / wall, "pair_polls_s": node_polls / 2 / wall, "node_polls_s": node_polls / wall,
                "cpu_ms_per_node_poll": 1000 * cpu / node_polls if node_polls else float("nan"),
                "redraws_s": float("nan"), "wall": wall}
    finally:
        await polling.close()


def run_size(n: int, seconds: float, interval: float, work: Path, pair_screen: bool) -> dict[str, dict[str, float]]:
    env = dict(os.environ, HATUI_STATE_DIR=str(work / "state"))
    os.environ["HATUI_STATE_DIR"] = env["HATUI_STATE_DIR"]  # the console's own files stay in the scratch folder
    folder = work / f"fleet-{n}"
    demo = start_demo(n, folder, env, interval)
    try:
        demo0, t0 = cpu_seconds(demo.pid), time.monotonic()
        result = asyncio.run(run_console(folder, seconds, pair_screen))
        if pair_screen:  # the largest size: the same pollers without the console, for the ratio
            result["pollers alone, no console"] = asyncio.run(run_pollers_alone(folder, seconds))
        demo_pct = 100 * (cpu_seconds(demo.pid) - demo0) / (time.monotonic() - t0)
        for phase in result.values():
            phase["demo_cpu_pct"] = demo_pct
        return result
    finally:
        demo.terminate()
        try:
            demo.wait(20)
        except subprocess.TimeoutExpired:
            demo.kill()


ROWS = (
    ("fleet console CPU, % of one core", lambda r: f"{r['cpu_pct']:.1f}"),
    ("pair polls per second", lambda r: f"{r['pair_polls_s']:.1f}"),
    ("node polls per second", lambda r: f"{r['node_polls_s']:.1f}"),
    ("console CPU per node poll, ms", lambda r: f"{r['cpu_ms_per_node_poll']:.2f}"),
    ("overview flushes per second", lambda r: "—" if r["redraws_s"] != r["redraws_s"] else f"{r['redraws_s']:.1f}"),
    ("demo simulator CPU, % of one core", lambda r: f"{r['demo_cpu_pct']:.1f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="1,10,50")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    sizes = [int(x) for x in args.pairs.split(",")]
    columns: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="hatui-bench-fleet-") as tmp:
        for n in sizes:
            print(f"measuring {n} pairs for {args.seconds:g} s …", file=sys.stderr, flush=True)
            for phase, result in run_size(n, args.seconds, args.interval, Path(tmp), n == max(sizes)).items():
                columns.append((f"{n} pairs" + ("" if phase == "overview" else f", {phase}"), result))
    width = max(len(name) for name, _ in ROWS)
    heads = [name for name, _ in columns]
    cell = max(14, *(len(h) for h in heads))
    print(f"hatui fleet console ({SIZE[0]}x{SIZE[1]}, headless), every pair polled every {args.interval:g} s, "
          f"{args.seconds:g} s measured per column")
    print(f"{'':<{width}}  " + "  ".join(f"{h:>{cell}}" for h in heads))
    for name, fmt in ROWS:
        print(f"{name:<{width}}  " + "  ".join(f"{fmt(r):>{cell}}" for _, r in columns))
    overview = [(h, r) for h, r in columns if "," not in h]
    base_name, base = overview[0]
    for name, r in overview[1:]:
        print(f"{name} vs {base_name}: console CPU ×{r['cpu_pct'] / base['cpu_pct']:.1f}, "
              f"CPU per node poll ×{r['cpu_ms_per_node_poll'] / base['cpu_ms_per_node_poll']:.2f}")
    alone = dict(columns).get(f"{max(sizes)} pairs, pollers alone, no console")
    if alone:
        top = overview[-1][1]
        print(f"{max(sizes)} pairs: the console costs ×{top['cpu_pct'] / alone['cpu_pct']:.2f} its pollers alone "
              f"({top['cpu_pct'] - alone['cpu_pct']:+.1f} points of a core for Textual and the overview)")


if __name__ == "__main__":
    main()
