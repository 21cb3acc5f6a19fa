#!/usr/bin/env python3
"""Benchmark: crash failovers and planned switchovers in the real lab (root, Linux).

In the network-namespace lab (real sshd, real keepalived/VRRP, the DRBD
emulator replicating over a real link), a client in its own namespace writes
sequence-numbered records through the VIP every 50 ms and logs every
acknowledged write and every outage window. For each run this measures:

* crash failover: SIGKILL everything on the active node and take its links down;
  keepalived on the survivor and the node kit take over on their own. The
  outage is the client's window around the crash. The crashed node is then
  restored and resynced before the next run.
* planned switchover: ``hatui failover --confirm TARGET`` (stop services, demote,
  promote, mount, start, move the VIP by restarting keepalived on the old node).

and, after each run, reads every acknowledged record back through the VIP.
Printed beside the seed's 35 s (services available at T+35) and VRRP's own
limit for a crash (3 x advert_int + skew = 3.61 s at advert_int 1, priority 100).
Targets: crash <= 5 s, planned <= 2 s, 0 acknowledged writes lost.

    sudo .venv/bin/python scripts/bench_failover.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.lab.host.faults import inject  # noqa: E402
from hatui.lab.host.lab import Lab  # noqa: E402

SEED_AVAILABLE = 35.0
VRRP_LIMIT = 3 * 1 + (256 - 100) / 256
TARGETS = {"crash": 5.0, "planned": 2.0}
VIP = "10.83.0.200:2049"


def status(lab: Lab) -> dict:
    out = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", str(lab.config_path), "status", "--json"],
                         capture_output=True, text=True, timeout=60)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"verdict": "UNKNOWN", "nodes": []}


def active(doc: dict) -> str | None:
    names = [n["name"] for n in doc.get("nodes", []) if n.get("active")]
    return names[0] if len(names) == 1 else None


def wait(lab: Lab, predicate, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = status(lab)
        if predicate(doc):
            return doc
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}: "
                             f"{[f['code'] for f in doc.get('findings', [])]}")
        time.sleep(0.5)


def client_events(lab: Lab) -> list[dict]:
    events = []
    for line in lab.client_log.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pass
    return events


def lost_writes(lab: Lab) -> list[int]:
    out = subprocess.run(["ip", "netns", "exec", "client", sys.executable, "-m", "hatui.lab.host.client",
                          "--target", VIP, "--verify", str(lab.client_log)], capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])["lost"]


def one_run(lab: Lab, kind: str, state_dir: Path) -> dict:
    doc = wait(lab, lambda d: d.get("verdict") == "OK", 120, "a healthy pair")
    source = active(doc)
    target = "vm12" if source == "vm2" else "vm2"
    lab.client_start(interval=0.05)
    time.sleep(1.5)
    started = time.monotonic()
    if kind == "crash":
        inject(lab, "crash", source)
        wait(lab, lambda d: active(d) == target and any(
            n["name"] == target and n["layers"]["nfs"]["state"] == "active" for n in d["nodes"]), 60, "takeover")
    else:
        out = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", str(lab.config_path), "failover",
                              "--confirm", target, "--yes-recent"], capture_output=True, text=True, timeout=180,
                             env={**os.environ, "HATUI_STATE_DIR": str(state_dir)})
        if out.returncode != 0:
            raise SystemExit(f"bench: failover failed: {out.stdout}{out.stderr}")
    duration = time.monotonic() - started
    time.sleep(1.5)
    lab.client_stop()
    events = client_events(lab)
    outages = [e["seconds"] for e in events if e.get("event") == "outage"]
    acked = sum(1 for e in events if e.get("event") == "ack")
    lost = lost_writes(lab)
    if kind == "crash":
        inject(lab, "restore", source)
    return {"kind": kind, "from": source, "to": target, "duration": duration,
            "outage": max(outages, default=0.0), "acked": acked, "lost": len(lost)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind")
    parser.add_argument("--dir", default=None, help="an existing lab's folder (default: a fresh lab, removed after)")
    args = parser.parse_args()
    own = args.dir is None
    lab = Lab(args.dir or tempfile.mkdtemp(prefix="hatui-bench-lab-", dir="/var/tmp"))
    state_dir = Path(tempfile.mkdtemp(prefix="hatui-bench-state-"))
    results = []
    try:
        if own:
            lab.up(log=lambda line: print(line, file=sys.stderr))
        for kind in ("crash", "planned"):
            for i in range(args.runs):
                r = one_run(lab, kind, state_dir)
                results.append(r)
                print(f"{kind:<8} #{i + 1} {r['from']}→{r['to']}: outage {r['outage']:.2f} s, "
                      f"acked {r['acked']}, lost {r['lost']}", file=sys.stderr)
    finally:
        if own:
            lab.down(log=lambda line: None)
    print(f"{'kind':<8} {'runs':>4} {'outage median':>14} {'outage max':>11} {'lost':>5} {'target':>7} "
          f"{'seed':>6} {'VRRP limit':>10}")
    for kind in ("crash", "planned"):
        rows = [r for r in results if r["kind"] == kind]
        out = [r["outage"] for r in rows]
        lost = sum(r["lost"] for r in rows)
        limit = f"{VRRP_LIMIT:.2f} s" if kind == "crash" else "-"
        print(f"{kind:<8} {len(rows):>4} {statistics.median(out):>12.2f} s {max(out):>9.2f} s {lost:>5} "
              f"{TARGETS[kind]:>5.1f} s {SEED_AVAILABLE:>4.0f} s {limit:>10}"
              f"   ratio to seed: {statistics.median(out) / SEED_AVAILABLE:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
