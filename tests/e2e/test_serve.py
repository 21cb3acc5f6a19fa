"""`hatui serve` as a process against simulated pairs over real SSH: metrics, faults, reload, stop, history.

The demo pairs run in the test's own event loop (hatui.demo.fleet.start_fleet: one folder of
pair files); serve and the CLI are subprocesses, so everything crosses real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from hatui.actions.audit import AuditLog
from hatui.demo.fleet import start_fleet
from tests.e2e.conftest import run_cli
from tests import REPO

ROOT = REPO
DASHBOARD = ROOT / "scripts" / "prometheus" / "grafana-dashboard.json"
TIME_SCALE = 4.0


@pytest_asyncio.fixture
async def fleet(tmp_path: Path):
    pairs = await start_fleet(2, tmp_path / "fleet", tmp_path / "keys", time_scale=TIME_SCALE, poll_interval=0.5)
    try:
        yield pairs
    finally:
        await asyncio.gather(*(p.stop() for p in pairs))


class Serve:
    """A `hatui serve` subprocess; ``port`` once its ready line came."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port = proc, port

    @classmethod
    async def start(cls, config: Path, tmp: Path, *extra: str, env: dict[str, str] | None = None) -> Serve:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hatui.cli", "--config", str(config), "serve", "--listen", "127.0.0.1:0",
            "--history", str(tmp / "history.sqlite"), "--audit", str(tmp / "audit.jsonl"), *extra,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HATUI_STATE_DIR": str(tmp / "state"), **(env or {})})
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"hatui serve ready: listen=127\.0\.0\.1:(\d+) pairs=(\d+)", line)
        assert match, line + (await proc.stderr.read()).decode()
        return cls(proc, int(match.group(1)))

    async def get(self, path: str = "/metrics", method: str = "GET") -> tuple[int, str]:
        def fetch() -> tuple[int, str]:
            req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=b"x" if method == "POST" else None)
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, resp.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()
        return await asyncio.to_thread(fetch)

    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        status, text = await self.get()
        assert status == 200
        out: dict[str, list] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out.setdefault(s.name, []).append((s.labels, s.value))
        return out

    async def wait_for(self, check, timeout: float = 30.0, what: str = ""):
        deadline = time.monotonic() + timeout
        while True:
            m = await self.metrics()
            try:
                if check(m):
                    return m
            except (KeyError, IndexError, StopIteration):
                pass
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.2)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 15)


def value(m, metric, /, **labels):
    hits = [v for lab, v in m.get(metric, []) if all(lab.get(k) == x for k, x in labels.items())]
    return hits[0] if len(hits) == 1 else None


@pytest.mark.asyncio
async def test_serve_metrics_faults_reload_and_clean_stop(fleet, tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    (folder / "zz-broken.toml").write_text("[cluster]\nname = 'x'\n")  # no nodes: a config error
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.setblocking(False)
    serve = await Serve.start(folder, tmp_path, env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    try:
        assert b"READY=1" in notify.recv(4096)
        m = await serve.wait_for(lambda m: value(m, "hatui_pair_status", pair="demo-2") == 0, what="demo-2 OK")
        assert value(m, "hatui_pair_status", pair="demo-1") == 0
        assert value(m, "hatui_pair_config_error", pair="zz-broken") == 1
        assert value(m, "hatui_pair_verdict", pair="zz-broken", hatui_pair_verdict="UNKNOWN") == 1
        assert value(m, "hatui_pairs") == 3
        assert (await serve.get("/metrics", "POST"))[0] == 405  # read-only: GET only

        await fleet[0].fault("crash", "vm2")
        m = await serve.wait_for(lambda m: value(m, "hatui_node_reachable", pair="demo-1", node="vm2") == 0,
                                 what="vm2 of demo-1 unreachable")
        assert value(m, "hatui_pair_status", pair="demo-1") == 2
        assert value(m, "hatui_finding", pair="demo-1", node="vm2", code="connection-refused", root="true") == 1
        assert value(m, "hatui_pair_status", pair="demo-2") == 0  # the other pair is untouched

        # demo-2's nodes hang (each poll waits out its bound); demo-1 keeps being polled meanwhile.
        await fleet[1].fault("hang", "vm2")
        await fleet[1].fault("hang", "vm12")
        await asyncio.sleep(1.0)
        before = value(await serve.metrics(), "hatui_pair_last_poll_timestamp_seconds", pair="demo-1")
        await asyncio.sleep(2.0)
        m = await serve.metrics()
        assert value(m, "hatui_pair_last_poll_timestamp_seconds", pair="demo-1") > before + 1.0
        await fleet[1].fault("unhang", "vm2")
        await fleet[1].fault("unhang", "vm12")

        # SIGHUP: a new pair file appears, the broken one is gone.
        text = (folder / "demo-2.toml").read_text().replace('name = "demo-2"', 'name = "demo-2b"', 1)
        (folder / "demo-2b.toml").write_text(text)
        (folder / "zz-broken.toml").unlink()
        serve.proc.send_signal(signal.SIGHUP)
        m = await serve.wait_for(lambda m: value(m, "hatui_pair_status", pair="demo-2b") is not None
                                 and value(m, "hatui_pairs") == 3, what="reloaded fleet")
        assert value(m, "hatui_pair_config_error", pair="zz-broken") is None
        assert value(m, "hatui_poll_duration_seconds_count", pair="demo-1", node="vm12") > 0
    finally:
        code = await serve.stop()
    assert code == 0
    messages = []
    while True:
        try:
            messages.append(notify.recv(4096))
        except BlockingIOError:
            break
    assert any(b"RELOADING=1" in msg for msg in messages) and b"STOPPING=1" in messages[-1]
    out = await run_cli("history", "--db", str(tmp_path / "history.sqlite"), "--pair", "demo-1", "--json")
    events = json.loads(out.stdout)
    assert any(e["node"] == "vm2" and e["layer"] == "node" and (e["before"], e["after"]) == ("answered", "unreachable")
               for e in events)
    assert any(e["kind"] == "failover" and e["node"] == "vm12" for e in events)  # the node kit's takeover


def dashboard_metrics() -> set[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    names = set()
    for expr in exprs:
        found = set(re.findall(r"\b((?:hatui|drbd|keepalived)_[a-zA-Z0-9_]+)", expr))
        assert found, f"no metric selector in {expr!r}"
        names |= found
    return names


@pytest.mark.asyncio
async def test_every_dashboard_query_names_a_metric_of_a_live_scrape(fleet, tmp_path: Path) -> None:
    audit = AuditLog("failover", path=tmp_path / "audit.jsonl")
    audit.record("start", plan={"title": "t", "resources": ["r0"], "steps": [{"node": "vm2"}]})
    audit.record("result", result="succeeded")
    serve = await Serve.start(tmp_path / "fleet", tmp_path)
    try:
        await fleet[0].fault("crash", "vm2")  # an automatic takeover: failover steps
        await fleet[1].fault("sync")  # a resync: progress and ETA
        wanted, seen = dashboard_metrics(), set()
        deadline = time.monotonic() + 30
        while not wanted <= seen and time.monotonic() < deadline:
            seen |= set((await serve.metrics()).keys())
            await asyncio.sleep(0.1)
        assert wanted <= seen, f"dashboard metrics never scraped: {sorted(wanted - seen)}"
    finally:
        assert await serve.stop() == 0


@pytest.mark.asyncio
async def test_status_all_a_hung_pair_costs_only_its_own_bound(fleet, tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    text = (folder / "demo-2.toml").read_text()
    text = re.sub(r"command_timeout = .*", "command_timeout = 0.5", text)
    (folder / "demo-2.toml").write_text(re.sub(r"connect_timeout = .*", "connect_timeout = 0.5", text))
    await fleet[1].fault("hang", "vm12")
    started = time.monotonic()
    out = await run_cli("--config", str(folder), "status", "--all", "--json")
    took = time.monotonic() - started
    rows = {r["pair"]: r for r in json.loads(out.stdout)}
    assert out.exit_code == 2, out.stderr
    assert rows["demo-1"]["verdict"] == "OK" and rows["demo-1"]["active"] == ["vm2"]
    assert rows["demo-2"]["root"]["code"] == "node-hung" and rows["demo-2"]["root"]["node"] == "vm12"
    assert took < 0.5 + 0.5 + 3 + 4  # demo-2's own bound (+ interpreter start); the demo's default is 11 s
    table = await run_cli("--config", str(folder), "status", "--all")
    lines = table.stdout.splitlines()
    assert lines[1].startswith("✔ OK") and "demo-1" in lines[1]
    assert "node-hung vm12" in lines[2]
