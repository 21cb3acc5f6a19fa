"""`hatui status --json` over real SSH against the demo pair, in each state the core issue names."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.asyncio


async def status(pair, *extra: str):
    return await run_cli("--config", str(pair.config_path), "status", "--json", *extra)


async def wait_for(pair, predicate, timeout: float = 20.0):
    """Poll `hatui status --json` until predicate(doc) holds; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await status(pair)
        if predicate(result.doc) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.3)


def codes(doc) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def node(doc, name):
    return next(n for n in doc["nodes"] if n["name"] == name)


async def test_healthy(demo) -> None:
    result = await wait_for(demo, lambda d: d["verdict"] == "OK")
    doc = result.doc
    assert result.exit_code == 0, result.stderr
    assert doc["schema"] == "hatui.status/v1" and doc["cluster"] == "demo"
    assert doc["vip"]["holders"] == ["vm2"]
    vm2, vm12 = node(doc, "vm2"), node(doc, "vm12")
    assert vm2["reachable"] and vm2["active"] and not vm12["active"]
    assert vm2["drbd"][0]["role"] == "Primary" and vm12["drbd"][0]["role"] == "Secondary"
    peer = vm2["drbd"][0]["peers"][0]
    assert (peer["connection"], peer["replication"], peer["peer_disk"]) == ("Connected", "Established", "UpToDate")
    assert vm2["layers"]["keepalived"]["state"] == "MASTER"
    assert vm2["layers"]["mount:r0"]["state"] == "mounted"
    assert vm2["latency_ms"] is not None


async def test_syncing(demo) -> None:
    # Slow enough to be seen by a CLI process per poll on a busy machine (~5 s real at this time scale).
    demo.sim.drbd.sync_rate_kib_s = 4 * 1024
    demo.sim.fault("sync")
    result = await wait_for(demo, lambda d: "sync-in-progress" in codes(d))
    assert result.exit_code == 1, result.stdout
    finding = next(f for f in result.doc["findings"] if f["code"] == "sync-in-progress")
    assert re.search(r"\d+(\.\d)?% in sync", finding["message"])
    peers = [p for n in result.doc["nodes"] for r in n["drbd"] for p in r["peers"]]
    assert any(p["replication"] in ("SyncSource", "SyncTarget") and p["sync_percent"] is not None for p in peers)


async def test_split_brain(demo) -> None:
    demo.sim.fault("split-brain")
    result = await wait_for(demo, lambda d: "split-brain" in codes(d))
    assert result.exit_code == 2
    assert result.doc["findings"][0]["code"] == "split-brain" and result.doc["findings"][0]["root"]
    conns = {n["name"]: n["drbd"][0]["peers"][0]["connection"] for n in result.doc["nodes"]}
    assert conns == {"vm2": "StandAlone", "vm12": "StandAlone"}


async def test_node_crashed_fails_over(demo) -> None:
    demo.sim.fault("crash", "vm2")
    result = await wait_for(demo, lambda d: d["vip"]["holders"] == ["vm12"]
                            and node(d, "vm12")["drbd"][0]["role"] == "Primary"
                            and node(d, "vm12")["layers"]["dag"]["state"] == "active")
    doc = result.doc
    assert result.exit_code == 2
    assert not node(doc, "vm2")["reachable"] and node(doc, "vm2")["error"]
    assert node(doc, "vm12")["active"]
    first = doc["findings"][0]
    assert (first["code"], first["node"], first["root"]) == ("connection-refused", "vm2", True)
    assert node(doc, "vm2")["state"] == "unreachable"
    assert all(f["root"] or f["caused_by"] == "connection-refused" for f in doc["findings"])


async def test_vip_on_both_nodes(demo) -> None:
    demo.sim.fault("block-vrrp")
    result = await wait_for(demo, lambda d: len(d["vip"]["holders"]) == 2)
    assert result.exit_code == 2
    findings = result.doc["findings"]
    assert findings[0]["code"] == "vrrp-split" and "Stop keepalived on vm12" in findings[0]["hint"]
    assert {"vip-on-both", "keepalived-master-both"} <= codes(result.doc)
    assert {f["caused_by"] for f in findings[1:]} == {"vrrp-split"}
    assert not any(f["code"].endswith("-down-active") for f in findings)  # vm12 is not the active node
    assert [n["name"] for n in result.doc["nodes"] if n["active"]] == ["vm2"]


async def test_service_down(demo) -> None:
    demo.sim.fault("stop-service", "vm2", "airflow-dag-processor.service")
    result = await wait_for(demo, lambda d: "dag-down-active" in codes(d))
    assert result.exit_code == 2
    assert node(result.doc, "vm2")["layers"]["dag"]["state"] in ("inactive", "failed")


async def test_node_unreachable_mid_poll_does_not_hang(demo, tmp_path) -> None:
    # A node that accepts SSH but never answers: status must still return within its bound.
    short = tmp_path / "short.toml"
    text = demo.config_path.read_text()
    short.write_text(re.sub(r"command_timeout = [0-9.]+", "command_timeout = 1.5", text)
                     if "command_timeout" in text else text.replace("[cluster]", "[cluster]\ncommand_timeout = 1.5"))
    demo.sim.fault("hang", "vm12")
    started = time.monotonic()
    result = await run_cli("--config", str(short), "status", "--json")
    elapsed = time.monotonic() - started
    doc = result.doc
    assert result.exit_code == 2
    assert not node(doc, "vm12")["reachable"] and "within" in node(doc, "vm12")["error"]
    assert node(doc, "vm2")["reachable"]
    assert elapsed < 30  # bounded by command_timeout, never a hang (generous: noisy machines)
    assert doc["findings"][0]["code"] == "node-hung"
    assert doc["vip"]["text"] == "vm2 (vm12 unknown)"


async def test_status_timeout_prints_every_node_that_answered(demo) -> None:
    """The active node hangs: `--timeout 2` still shows vm12, fresh, and the VIP as far as it is known."""
    demo.sim.fault("hang", "vm2")
    started = time.monotonic()
    result = await status(demo, "--timeout", "2")
    assert time.monotonic() - started < 15
    doc = result.doc
    assert result.exit_code == 2
    vm2, vm12 = node(doc, "vm2"), node(doc, "vm12")
    assert vm12["reachable"] and vm12["age_s"] <= 1.0  # within one poll interval of the document
    assert not vm2["reachable"] and vm2["failure"] == "node-hung" and "within 2s" in vm2["error"]
    assert doc["vip"]["text"] == "vm12 does not hold it; vm2 unknown"
    assert doc["findings"][0]["code"] == "node-hung" and "keeps its role" in doc["findings"][0]["message"]


async def test_connection_dropped_mid_command_is_transport_failure(demo) -> None:
    demo.sim.fault("drop", "vm2")
    result = await status(demo)
    doc = result.doc
    vm2 = node(doc, "vm2")
    assert not vm2["reachable"] and vm2["failure"] == "connection-dropped"
    assert "drop" in vm2["error"] or "lost" in vm2["error"] or "closed" in vm2["error"]


async def test_unknown_host_key_is_one_clear_line(demo, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    empty_kh = tmp_path / "empty_known_hosts"
    empty_kh.write_text("")
    bad.write_text(re.sub(r'known_hosts = "[^"]*"', f'known_hosts = "{empty_kh}"', demo.config_path.read_text()))
    result = await run_cli("--config", str(bad), "status")
    assert result.exit_code == 3  # neither node could be asked
    assert "Traceback" not in result.stderr + result.stdout
    assert "host key" in result.stdout and "unknown" in result.stdout and "SHA256:" in result.stdout
    doc = (await run_cli("--config", str(bad), "status", "--json")).doc
    assert {f["code"] for f in doc["findings"]} == {"host-key-unknown"}
    assert all("ssh-keyscan -p" in f["hint"] for f in doc["findings"])


async def test_human_output_shows_both_nodes(demo) -> None:
    result = await run_cli("--config", str(demo.config_path), "status")
    assert "vm2" in result.stdout and "vm12" in result.stdout
    assert "Virtual IP" in result.stdout and "DRBD" in result.stdout
