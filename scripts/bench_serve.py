#!/usr/bin/env python3
"""Benchmark `hatui serve` over 1, 10 and 50 simulated pairs: what one machine's serve costs per pair.

For each fleet size N, in one run, printed side by side:

* the simulated fleet runs in its own process (``hatui demo --headless --pairs N``), every pair
  file rewritten to poll every ``--interval`` seconds (2 s, the config default), so the CPU
  measured for serve is serve's alone (asyncssh client, parsing, rules, metrics, history);
* after a warm-up, for ``--seconds``: serve's CPU time / wall time (% of one core), its resident
  memory at the end, the wall time of a ``/metrics`` scrape (one every 5 s, as Prometheus would;
  median and max), the node polls done (``hatui_poll_duration_seconds_count``), and hatui-side
  CPU per node poll = serve's CPU time / node polls (scrapes and history writes included);
* the demo process' own CPU, for context: the simulator shares the machine with serve.

No absolute thresholds: the README quotes the numbers of one run next to the issue's targets.

Usage: python scripts/bench_serve.py [--pairs 1,10,50] [--seconds 30] [--interval 2]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def ready_line(proc: subprocess.Popen, pattern: str, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(pattern, line or "")
        if match:
            return match
        if not line and proc.poll() is not None:
            break
    proc.terminate()
    raise SystemExit(f"no ready line ({pattern}) from {proc.args[3:6]}")


def scrape(port: int) -> tuple[float, str]:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    return time.perf_counter() - started, text


def node_polls(text: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("hatui_poll_duration_seconds_count{"))


def run_size(n: int, seconds: float, interval: float, work: Path) -> dict[str, float]:
    env = dict(os.environ, HATUI_STATE_DIR=str(work / "state"))
    folder = work / f"fleet-{n}"
    demo = subprocess.Popen([sys.executable, "-m", "hatui.cli", "demo", "--headless", "--pairs", str(n),
                             "--write-config", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    serve = None
    try:
        ready_line(demo, r"hatui demo ready", 60 + n)
        for f in folder.glob("demo-*.toml"):
            f.write_text(re.sub(r"(?m)^poll_interval = .*$", f"poll_interval = {interval:g}", f.read_text()))
        serve = subprocess.Popen([sys.executable, "-m", "hatui.cli", "--config", str(folder), "serve", "--listen",
                                  "127.0.0.1:0", "--history", str(work / f"history-{n}.sqlite")],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        port = int(ready_line(serve, r"listen=127\.0\.0\.1:(\d+)", 60 + n).group(1))
        time.sleep(max(3.0, 2 * interval))  # warm-up: connections open, first polls done
        _, text = scrape(port)
        polls0, cpu0, demo0, t0 = node_polls(text), cpu_seconds(serve.pid), cpu_seconds(demo.pid), time.monotonic()
        scrapes = []
        while time.monotonic() - t0 < seconds:
            time.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - t0))))
            took, text = scrape(port)
            scrapes.append(took)
        wall = time.monotonic() - t0
        cpu, polls = cpu_seconds(serve.pid) - cpu0, node_polls(text) - polls0
        return {
            "pairs": n, "nodes": 2 * n, "serve_cpu_pct": 100 * cpu / wall, "rss_mb": rss_mb(serve.pid),
            "scrape_ms_median": 1000 * statistics.median(scrapes), "scrape_ms_max": 1000 * max(scrapes),
            "metrics_kb": len(text.encode()) / 1024, "polls_per_s": polls / wall,
            "cpu_ms_per_node_poll": 1000 * cpu / polls if polls else float("nan"),
            "demo_cpu_pct": 100 * (cpu_seconds(demo.pid) - demo0) / wall,
        }
    finally:
        for proc in (serve, demo):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


ROWS = (
    ("pairs (nodes)", lambda r: f"{r['pairs']} ({r['nodes']})"),
    ("serve CPU, % of one core", lambda r: f"{r['serve_cpu_pct']:.1f}"),
    ("serve resident memory, MB", lambda r: f"{r['rss_mb']:.0f}"),
    ("/metrics scrape, ms (median / max)", lambda r: f"{r['scrape_ms_median']:.1f} / {r['scrape_ms_max']:.1f}"),
    ("/metrics size, KiB", lambda r: f"{r['metrics_kb']:.0f}"),
    ("node polls per second", lambda r: f"{r['polls_per_s']:.1f}"),
    ("hatui-side CPU per node poll, ms", lambda r: f"{r['cpu_ms_per_node_poll']:.2f}"),
    ("demo simulator CPU, % of one core", lambda r: f"{r['demo_cpu_pct']:.1f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="1,10,50")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    sizes = [int(x) for x in args.pairs.split(",")]
    with tempfile.TemporaryDirectory(prefix="hatui-bench-serve-") as tmp:
        results = []
        for n in sizes:
            print(f"measuring {n} pairs for {args.seconds:g} s …", file=sys.stderr, flush=True)
            results.append(run_size(n, args.seconds, args.interval, Path(tmp)))
    width = max(len(name) for name, _ in ROWS)
    print(f"hatui serve, every pair polled every {args.interval:g} s, {args.seconds:g} s measured per size")
    for name, fmt in ROWS:
        print(f"{name:<{width}}  " + "  ".join(f"{fmt(r):>14}" for r in results))
    base = results[0]
    for r in results[1:]:
        print(f"{r['pairs']} pairs vs {base['pairs']}: serve CPU ×{r['serve_cpu_pct'] / base['serve_cpu_pct']:.1f}, "
              f"memory ×{r['rss_mb'] / base['rss_mb']:.2f}, scrape ×{r['scrape_ms_median'] / base['scrape_ms_median']:.1f}, "
              f"CPU per node poll ×{r['cpu_ms_per_node_poll'] / base['cpu_ms_per_node_poll']:.2f}")


if __name__ == "__main__":
    main()
