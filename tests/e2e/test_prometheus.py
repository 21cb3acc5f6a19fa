"""The real Prometheus (Debian's package) scraping `hatui serve` against the demo fleet; promtool on the rules.

Everything is a real process on 127.0.0.1: the simulated fleet (`hatui demo --pairs N --headless`),
one or two `hatui serve`, and `prometheus` with a temporary config and data folder on a free
port. Waits are bounded; every process is stopped at the end. Skipped (with the reason) only
when the binaries are missing and this is not root: as root, scripts/test.sh installs them, so
their absence is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conftest import run_cli
from tests.e2e.test_serve import Serve
from tests import REPO

ROOT = REPO
RULES = ROOT / "scripts" / "prometheus"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.geteuid() != 0:
            pytest.skip(f"{name} is not installed (Debian package 'prometheus'; scripts/test.sh installs it as root)")
        pytest.fail(f"{name} is missing although running as root: scripts/test.sh installs Debian's 'prometheus'")
    return path


def test_alert_rules_are_valid_and_their_unit_tests_pass() -> None:
    promtool = binary("promtool")
    check = subprocess.run([promtool, "check", "rules", str(RULES / "alerts.yml")], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    names = re.findall(r"^\s*- alert: (\S+)", (RULES / "alerts.yml").read_text(), re.M)
    assert f"SUCCESS: {len(names)} rules found" in check.stdout, "promtool read every rule"
    tested = (RULES / "alerts_test.yml").read_text()
    assert [n for n in names if f"alertname: {n}" not in tested] == [], "every alert has a promtool unit test"
    test = subprocess.run([promtool, "test", "rules", "alerts_test.yml"], cwd=RULES, capture_output=True,
                          text=True, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A real Prometheus on 127.0.0.1, scraping ``targets`` every second with hatui's alert rules."""

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "rule_files": [str(RULES / "alerts.yml")],
            "scrape_configs": [{"job_name": "hatui", "static_configs": [{"targets": targets}]}],
        }))
        self.log = tmp / "prometheus.log"
        self._log_file = self.log.open("w")
        self.proc = subprocess.Popen(
            [binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=self._log_file)

    def _get(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read().decode() or "{}") if path.startswith("/api") else {"ok": resp.status}

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                await asyncio.to_thread(self._get, "/-/ready")
                return
            except OSError:
                assert time.monotonic() < deadline, "prometheus not ready: " + self.log.read_text()
                await asyncio.sleep(0.3)

    async def query(self, expr: str) -> list[dict]:
        doc = await asyncio.to_thread(self._get, "/api/v1/query", query=expr)
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    async def query_range(self, expr: str, start: float, end: float) -> list[dict]:
        doc = await asyncio.to_thread(self._get, "/api/v1/query_range", query=expr, start=f"{start:.3f}",
                                      end=f"{end:.3f}", step="1")
        assert doc["status"] == "success", (expr, doc)
        return doc["data"]["result"]

    async def until(self, expr: str, check, timeout: float = 60, what: str = "") -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            result = await self.query(expr)
            if check(result):
                return result
            assert time.monotonic() < deadline, f"timed out waiting for {what or expr}: {result}"
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log_file.close()


@pytest_asyncio.fixture
async def demo_fleet(tmp_path: Path):
    """``hatui demo --pairs 4 --headless``: the fleet folder, once the simulated pairs listen."""
    binary("prometheus")
    folder = tmp_path / "fleet"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hatui.cli", "demo", "--headless", "--pairs", "4", "--write-config", str(folder),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HATUI_STATE_DIR": str(tmp_path / "state")})
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert f"config={folder} pairs=4" in line, line + (await proc.stderr.read()).decode()
        yield folder
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


def series(result: list[dict], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


def dashboard_queries() -> list[str]:
    doc = json.loads((RULES / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    return [e.replace("$pair", ".*").replace("$__rate_interval", "1m") for e in exprs]


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_prometheus_sees_a_fault_alerts_and_every_dashboard_query(demo_fleet: Path, tmp_path: Path) -> None:
    env = {"HATUI_STATE_DIR": str(tmp_path / "state")}
    serve = await Serve.start(demo_fleet, tmp_path, "--audit", str(tmp_path / "state" / "audit.jsonl"), env=env)
    prom = Prometheus(tmp_path, [f"127.0.0.1:{serve.port}"])
    started = time.time()
    try:
        await prom.ready()
        await prom.until("hatui_pair_status", lambda r: series(r, "pair") == dict.fromkeys(
            ("demo-1", "demo-2", "demo-3", "demo-4"), 0.0), what="four OK pairs")
        assert series(await prom.query('up{job="hatui"}'), "job") == {"hatui": 1.0}

        # A crash on demo-2, a resync on demo-3, a planned switchover on demo-1 (an audited action run).
        assert (await run_cli("--config", str(demo_fleet), "demo", "fault", "--pair", "demo-2", "crash", "vm2",
                              env=env)).exit_code == 0
        assert (await run_cli("--config", str(demo_fleet), "demo", "fault", "--pair", "demo-3", "sync",
                              env=env)).exit_code == 0
        done = await run_cli("--config", str(demo_fleet), "failover", "--pair", "demo-1", "--confirm", "vm12",
                             "--yes-recent", env=env)
        assert done.exit_code == 0, done.stdout + done.stderr

        await prom.until('hatui_pair_status{pair="demo-2"}', lambda r: series(r, "pair") == {"demo-2": 2.0},
                         what="demo-2 CRITICAL")
        root = await prom.query('hatui_finding{pair="demo-2",root="true"}')
        assert [(r["metric"]["code"], r["metric"]["node"]) for r in root] == [("connection-refused", "vm2")]
        assert series(await prom.query('hatui_node_reachable{pair="demo-2"}'), "node") == {"vm2": 0.0, "vm12": 1.0}
        assert series(await prom.query('hatui_pair_status{pair!="demo-2"}'), "pair").get("demo-4") == 0.0
        # the alert rules run on these series: the pair-critical alert is pending (it needs 30 s) or firing
        # (demo-1 is briefly CRITICAL mid-switchover, and its alert can show up one evaluation before
        # demo-2's: wait for demo-2's own)
        alerts = await prom.until("ALERTS", lambda r: any(a["metric"]["alertname"] == "HatuiPairCritical"
                                                          and a["metric"].get("pair") == "demo-2" for a in r),
                                  what="HatuiPairCritical for demo-2")
        critical = {a["metric"].get("pair") for a in alerts if a["metric"]["alertname"] == "HatuiPairCritical"}
        assert "demo-2" in critical and "demo-4" not in critical  # (demo-1 is briefly CRITICAL mid-switchover)
        await prom.until('hatui_action_runs_total{action="failover",result="succeeded"}',
                         lambda r: [float(x["value"][1]) for x in r] == [1.0], what="the audited failover")
        await prom.until("hatui_failover_step_seconds", lambda r: any(x["metric"]["pair"] == "demo-2" for x in r),
                         what="demo-2's automatic takeover steps")

        # Every dashboard query returns data over the time range (as Grafana asks for it).
        await asyncio.sleep(2)
        for expr in dashboard_queries():
            result = await prom.query_range(expr, started, time.time())
            assert result, f"dashboard query returned no data: {expr}"
    finally:
        prom.stop()
        assert await serve.stop() == 0


@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_two_serve_instances_each_half_the_fleet_one_query_for_all(demo_fleet: Path, tmp_path: Path) -> None:
    halves = []
    for i, names in enumerate((("demo-1", "demo-2"), ("demo-3", "demo-4"))):
        half = tmp_path / f"half{i}"
        half.mkdir()
        for name in names:
            shutil.copy(demo_fleet / f"{name}.toml", half / f"{name}.toml")
        halves.append(half)
    await run_cli("--config", str(demo_fleet), "demo", "fault", "--pair", "demo-4", "stop-keepalived", "vm12",
                  env={"HATUI_STATE_DIR": str(tmp_path / "state")})
    serves = [await Serve.start(h, tmp_path / h.name) for h in halves]
    prom = Prometheus(tmp_path, [f"127.0.0.1:{s.port}" for s in serves])
    try:
        await prom.ready()
        result = await prom.until("max by (pair) (hatui_pair_status)", lambda r: len(r) == 4, what="all four pairs")
        assert series(result, "pair") == {"demo-1": 0.0, "demo-2": 0.0, "demo-3": 0.0, "demo-4": 1.0}
        where = await prom.query("count by (instance) (hatui_pair_status)")
        assert sorted(float(r["value"][1]) for r in where) == [2.0, 2.0]  # two instances, half each
        assert series(await prom.query('count(up{job="hatui"} == 1)'), "") == {"": 2.0}
    finally:
        prom.stop()
        for s in serves:
            assert await s.stop() == 0
