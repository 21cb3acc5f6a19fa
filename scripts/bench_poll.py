#!/usr/bin/env python3
"""What one poll costs on a node, side by side with its parts, over one SSH connection per node.

Per node, interleaved round by round so machine noise hits them alike, ``--rounds`` times each:

* bare exec: ``true`` (what any exec costs: a channel, sshd's fork+exec, the login shell);
* each probe alone: the poll script with that one probe (same preamble, same framing);
* the whole poll: the script the poller sends in steady state (keepalived's signal already learnt,
  neither the slow DAG health probe nor the DRBD configuration due).

Prints medians and p95 per node and the ratio poll / (bare + slowest single probe), target ≤ 1.3.
With ``--cold`` also ``hatui status`` in a fresh process vs two parallel OpenSSH ``drbdadm status``.

Everything talks to 127.0.0.1 only, or, with ``--config``, to the pair that config names (the lab
writes ``/var/lib/hatui-lab/config.toml``; ``hatui lab up`` prints it). Without ``--config`` the
demo pair runs in its own process.

With ``--exclude`` the same again without some probes (the lab's stand-ins for drbdsetup, systemctl and
exportfs are Python programs, ~30 ms of CPU each to start: an artefact of the lab, not of a real node).

Usage: python scripts/bench_poll.py [--rounds N] [--config PATH] [--cold] [--exclude drbd,units,exports]
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
from contextlib import asynccontextmanager
from pathlib import Path

from hatui.config import Config, load_config
from hatui.probes import catalog
from hatui.probes.script import Probe, build_script, keepalived_probes, new_nonce, split_sections
from hatui.snapshot.poller import ClusterPoller
from hatui.transport import NodeTransport

TARGET = 1.3


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 2 else samples[0]


def ms(value: float) -> str:
    return f"{value * 1000:7.1f}"


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


def steady_probes(config: Config, poller: ClusterPoller, name: str, exclude: frozenset[str]) -> list[Probe]:
    """The probes of a steady-state poll (signal learnt; DAG health and DRBD configuration not due),
    without the ``exclude``d ones."""
    probes = catalog.poll_probes(config, include_slow=False, include_config=False)
    probes = keepalived_probes(probes, catalog.KEEPALIVED, poller.known_signal(name))
    return [p for p in probes if p.name not in exclude]


def poll_script(config: Config, probes: list[Probe], nonce: str) -> str:
    return build_script(probes, nonce=nonce, prefix=config.cluster.prefix_words,
                        keepalived_pid_file=config.keepalived.pid_file,
                        keepalived_json_file=config.keepalived.json_file)


async def measure_node(config: Config, poller: ClusterPoller, name: str, rounds: int,
                       exclude: frozenset[str] = frozenset()) -> dict[str, list[float]]:
    transport: NodeTransport = poller.transports[name]
    probes = steady_probes(config, poller, name, exclude)
    singles = {p.name: poll_script(config, [p], "0") for p in probes}  # the nonce is fixed: not parsed
    samples: dict[str, list[float]] = {"bare": [], "poll": [], **{k: [] for k in singles}}

    async def timed(key: str, command: str, script: str | None = None) -> None:
        start = time.perf_counter()
        result = await transport.run(command, input=script)
        samples[key].append(time.perf_counter() - start)
        if key == "poll" and not split_sections(result.stdout, nonce):
            raise SystemExit(f"{name}: the poll script printed no sections: {result.stderr.strip()[:200]}")

    for _ in range(rounds):
        await timed("bare", "true")
        for key, script in singles.items():
            await timed(key, "sh -s", script)
        nonce = new_nonce()
        # The poller's own script, unless probes are left out (then the same probes, in one script).
        whole = poll_script(config, probes, nonce) if exclude else poller.script_for(nonce, 1, name)
        await timed("poll", "sh -s", whole)
    return samples


def report(name: str, samples: dict[str, list[float]]) -> float:
    probes = {k: v for k, v in samples.items() if k not in ("bare", "poll")}
    slowest = max(probes, key=lambda k: statistics.median(probes[k]))
    print(f"\n{name}: {len(samples['poll'])} rounds        median ms    p95 ms")
    print(f"  bare exec `true`             {ms(statistics.median(samples['bare']))}   {ms(p95(samples['bare']))}")
    for key in sorted(probes, key=lambda k: -statistics.median(probes[k])):
        mark = "  ← slowest" if key == slowest else ""
        print(f"  probe {key:<22} {ms(statistics.median(probes[key]))}   {ms(p95(probes[key]))}{mark}")
    print(f"  whole poll                   {ms(statistics.median(samples['poll']))}   {ms(p95(samples['poll']))}")
    budget = statistics.median(samples["bare"]) + statistics.median(probes[slowest])
    ratio = statistics.median(samples["poll"]) / budget
    print(f"  ratio poll / (bare + slowest probe {slowest}) = {ratio:.2f}  (target ≤ {TARGET})")
    return ratio


async def subprocess_time(*argv: str) -> float:
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    await proc.wait()
    return time.perf_counter() - start


async def cold_status(config: Config, config_path: Path, rounds: int) -> None:
    """`hatui status` in a fresh process vs two parallel OpenSSH `drbdadm status` (target ≤ 1.5×)."""
    ssh = shutil.which("ssh")
    hatui_cold, openssh = [], []
    for _ in range(max(3, rounds // 4)):
        hatui_cold.append(await subprocess_time(sys.executable, "-m", "hatui.cli", "--config", str(config_path),
                                                "status"))
        if ssh:
            start = time.perf_counter()
            await asyncio.gather(*(subprocess_time(
                ssh, "-q", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={node.known_hosts}", "-i", str(node.identity_file),
                "-p", str(node.port), f"{node.user}@{node.host}", "drbdadm status") for node in config.nodes))
            openssh.append(time.perf_counter() - start)
    print(f"\nhatui status (cold process)   median {ms(statistics.median(hatui_cold))} ms")
    if openssh:
        print(f"2× parallel OpenSSH drbdadm   median {ms(statistics.median(openssh))} ms")
        print(f"ratio = {statistics.median(hatui_cold) / statistics.median(openssh):.2f}  (target ≤ 1.5)")


async def main(rounds: int, config_arg: str | None, cold: bool, exclude: frozenset[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        async with (given_pair(config_arg) if config_arg else demo_process(tmp)) as config_path:
            config = load_config(config_path)
            print(f"pair: {config_arg or 'the demo (own process)'}; one connection per node, {rounds} rounds")
            poller = ClusterPoller(config)
            try:
                await poller.poll()  # connect, learn keepalived's signal: not measured
                for name in config.node_names:
                    if not poller.latest[name].reachable:
                        print(f"\n{name}: not reachable ({poller.latest[name].error}): skipped")
                        continue
                    report(name, await measure_node(config, poller, name, rounds))
                    if exclude:
                        print(f"  … and without {', '.join(sorted(exclude))}:", end="")
                        report(name, await measure_node(config, poller, name, rounds, exclude))
            finally:
                await poller.close()
            if cold:
                await cold_status(config, config_path, rounds)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--config", help="measure this pair (e.g. the lab's config) instead of the demo")
    parser.add_argument("--cold", action="store_true", help="also: hatui status cold vs OpenSSH")
    parser.add_argument("--exclude", default="", metavar="PROBE,…",
                        help="also measure without these probes (e.g. the lab's Python stand-ins: drbd,units,exports)")
    args = parser.parse_args()
    excluded = frozenset(filter(None, args.exclude.split(",")))
    sys.exit(asyncio.run(main(args.rounds, args.config, args.cold, excluded)))
