#!/usr/bin/env python3
"""Poll-cycle benchmark against the demo pair; prints ratios measured side by side in one run.

1. One batched poll cycle of both nodes (ClusterPoller.poll) vs a bare `true` exec on the same
   open connections (both nodes, concurrently) vs a naive cycle that runs every probe as its own
   exec. Target: poll cycle ≤ 1.3× the bare exec.
2. `hatui status` cold (a fresh process: imports, SSH handshakes, one poll) vs two parallel OpenSSH
   `ssh node drbdadm status` processes. Target: ≤ 1.5×.

Everything talks to 127.0.0.1 only (or, with --config, to the pair it names, e.g. the lab).
Usage: python scripts/bench_poll.py [--rounds N] [--config PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from contextlib import asynccontextmanager

from hatui.config import load_config
from hatui.snapshot.poller import ClusterPoller
from hatui.probes import catalog


async def timed(fn, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


async def subprocess_time(*argv: str) -> float:
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await proc.wait()
    return time.perf_counter() - start


def fmt(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:7.1f} ms  (min {min(samples) * 1000:6.1f}, max {max(samples) * 1000:6.1f})"


@asynccontextmanager
async def demo_process(tmp: str):
    """The demo pair in its own process, as an operator's nodes would be: its CPU is not ours."""
    config_path = Path(tmp) / "demo.toml"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hatui.cli", "demo", "--headless", "--write-config", str(config_path),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "HATUI_STATE_DIR": str(Path(tmp) / "state")},
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if b"ready" not in line:
            raise SystemExit(f"demo did not start: {line!r}")
        yield config_path
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def given_pair(path: str):
    yield Path(path)


async def main(rounds: int, config: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        async with (given_pair(config) if config else demo_process(tmp)) as config_path:
            print(f"pair: {'the demo (own process)' if not config else config}")
            config = load_config(config_path)
            poller = ClusterPoller(config)
            await poller.poll()  # open both connections; not measured
            transports = list(poller.transports.values())

            async def bare() -> None:
                await asyncio.gather(*(t.run("true") for t in transports))

            probes = catalog.poll_probes(config, include_slow=False)

            async def naive() -> None:
                async def one_node(t):
                    for probe in probes:
                        await t.run(probe.alternatives[0] if probe.name != catalog.KEEPALIVED else "cat /tmp/keepalived.json")
                await asyncio.gather(*(one_node(t) for t in transports))

            # Interleave the three so machine noise hits them alike.
            poll_s, bare_s, naive_s = [], [], []
            for _ in range(rounds):
                poll_s += await timed(poller.poll, 1)
                bare_s += await timed(bare, 1)
                naive_s += await timed(naive, 1)
            await poller.close()

            print(f"poll cycle (both nodes, batched) {fmt(poll_s)}")
            print(f"bare `true` exec (both nodes)    {fmt(bare_s)}")
            print(f"naive one exec per probe         {fmt(naive_s)}")
            ratio = statistics.median(poll_s) / statistics.median(bare_s)
            print(f"ratio poll / bare exec  = {ratio:.2f}  (target ≤ 1.3)")
            print(f"ratio naive / poll      = {statistics.median(naive_s) / statistics.median(poll_s):.2f}  (what batching saves)")

            ssh = shutil.which("ssh")
            hatui_cold, openssh = [], []
            for _ in range(max(3, rounds // 4)):
                hatui_cold.append(await subprocess_time(sys.executable, "-m", "hatui.cli", "--config", str(config_path), "status"))
                if ssh:
                    cmds = []
                    for node in config.nodes:
                        cmds.append(subprocess_time(
                            ssh, "-q", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                            "-o", f"UserKnownHostsFile={node.known_hosts}", "-i", str(node.identity_file),
                            "-p", str(node.port), f"{node.user}@{node.host}", "drbdadm status"))
                    start = time.perf_counter()
                    await asyncio.gather(*cmds)
                    openssh.append(time.perf_counter() - start)
            print(f"hatui status (cold process)      {fmt(hatui_cold)}")
            if openssh:
                print(f"2× parallel OpenSSH drbdadm      {fmt(openssh)}")
                print(f"ratio hatui status / OpenSSH = {statistics.median(hatui_cold) / statistics.median(openssh):.2f}  (target ≤ 1.5)")
            else:
                print("OpenSSH client not installed: status comparison skipped")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--config", help="measure this pair (e.g. the lab's config) instead of the demo")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.rounds, args.config)))
