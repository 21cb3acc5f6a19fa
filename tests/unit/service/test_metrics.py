"""/metrics content: ecosystem names, what each state of the simulated pair exports, and read-only serve."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hatui.service.metrics import DEFS, FleetCollector, snapshot_samples
from tests.sim_pair import SimPair
from tests import REPO

ROOT = REPO


def scrape(pairs, actions=None) -> dict[str, list]:
    registry = CollectorRegistry()
    registry.register(FleetCollector(lambda: pairs, lambda: actions or {}))
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(metrics, metric, /, **labels):
    hits = [v for lab, v in metrics.get(metric, []) if all(lab.get(k) == x for k, x in labels.items())]
    assert len(hits) == 1, (metric, labels, metrics.get(metric))
    return hits[0]


@pytest.mark.asyncio
async def test_healthy_pair_in_drbd_reactor_and_keepalived_names() -> None:
    pair = SimPair()
    m = scrape([("p1", "/x/p1.toml", None, await pair.poll())])
    assert value(m, "hatui_pairs") == 1
    assert value(m, "hatui_pair_status", pair="p1") == 0
    assert value(m, "hatui_pair_verdict", pair="p1", hatui_pair_verdict="OK") == 1
    assert value(m, "hatui_pair_verdict", pair="p1", hatui_pair_verdict="CRITICAL") == 0
    # state-labelled gauges: the state label is named like the metric; every known state, 1 for the current
    assert value(m, "drbd_resource_role", pair="p1", node="vm2", name="r0", drbd_resource_role="Primary") == 1
    assert value(m, "drbd_resource_role", pair="p1", node="vm12", name="r0", drbd_resource_role="Primary") == 0
    roles = [lab["drbd_resource_role"] for lab, _ in m["drbd_resource_role"] if lab["node"] == "vm12"]
    assert sorted(roles) == ["Primary", "Secondary", "Unknown"]
    assert value(m, "drbd_connection_state", node="vm2", conn_name="vm12", drbd_connection_state="Connected") == 1
    # the peer's DRBD node id, as drbd-reactor labels it (vm2 is node-id 0, vm12 node-id 1)
    assert value(m, "drbd_connection_state", node="vm2", conn_name="vm12", peer_node_id="1",
                 drbd_connection_state="Connected") == 1
    assert value(m, "drbd_peerdevice_outofsync_bytes", node="vm12", conn_name="vm2", peer_node_id="0", volume="0") == 0
    assert value(m, "drbd_device_state", node="vm12", volume="0", minor="0", drbd_device_state="UpToDate") == 1
    assert value(m, "drbd_peerdevice_outofsync_bytes", node="vm2", conn_name="vm12", volume="0") == 0
    assert value(m, "keepalived_vrrp_state", node="vm2", iname="VI_1", intf="eth0") == 2  # MASTER
    assert value(m, "keepalived_vrrp_state", node="vm12", iname="VI_1") == 1  # BACKUP
    assert value(m, "hatui_vip_holder", node="vm2") == 1 and value(m, "hatui_vip_holder", node="vm12") == 0
    assert value(m, "hatui_node_active", node="vm2") == 1
    assert value(m, "hatui_takeover_safe", node="vm12") == 1
    assert "hatui_finding" not in m
    for name, samples in m.items():
        for labels, _ in samples:
            if name != "hatui_pairs" and not name.startswith("hatui_action"):
                assert labels.get("pair") == "p1", name


@pytest.mark.asyncio
async def test_crash_takeover_and_resync_as_metrics() -> None:
    pair = SimPair()
    await pair.poll()
    pair.fault("crash vm2")
    pair.advance(20)
    m = scrape([("p1", "/x", None, await pair.poll())])
    assert value(m, "hatui_pair_status", pair="p1") == 2
    assert value(m, "hatui_node_reachable", node="vm2") == 0
    assert not [lab for lab, _ in m["drbd_resource_role"] if lab["node"] == "vm2"]  # unknown, not old values
    assert "hatui_vip_holder" not in {n for n, s in m.items() if any(lab.get("node") == "vm2" for lab, _ in s)}
    root = [lab for lab, _ in m["hatui_finding"] if lab["root"] == "true"]
    assert [(r["code"], r["node"], r["severity"]) for r in root] == [("connection-refused", "vm2", "CRITICAL")]
    assert all(lab["caused_by"] == "connection-refused" for lab, _ in m["hatui_finding"] if lab["root"] == "false")
    steps = {lab["step"]: v for lab, v in m["hatui_failover_step_seconds"]}
    budgets = {lab["step"]: v for lab, v in m["hatui_failover_step_budget_seconds"]}
    assert {"detect", "vip", "promote", "mount", "available"} <= set(steps)
    assert budgets["promote"] == 20 and 3 < steps["detect"] < 4  # T+0 = detect − the master-down interval
    assert value(m, "hatui_failover_started_timestamp_seconds", node="vm12") > 0

    pair.fault("restore vm2")
    pair.advance(5)
    await pair.poll()
    pair.fault("sync")  # a resync from the new Primary
    pair.advance(0.5)
    await pair.poll()
    pair.advance(0.5)
    m = scrape([("p1", "/x", None, await pair.poll())])
    pct = value(m, "hatui_sync_percent", node="vm2", name="r0", source="vm12")
    assert 0 <= pct < 100
    assert value(m, "hatui_sync_eta_seconds", node="vm2", source="vm12") >= 0


@pytest.mark.asyncio
async def test_broken_pair_actions_and_snapshot_cache() -> None:
    pair = SimPair()
    snap = await pair.poll()
    collector = FleetCollector(lambda: [("ok", "/a", None, snap), ("bad", "/b.toml", "b.toml: not valid TOML", None)],
                               lambda: {("ok", "failover", "succeeded"): 2, ("", "failback", "refused"): 1})
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'hatui_pair_config_error{file="/b.toml",pair="bad"} 1.0' in text
    assert 'hatui_pair_status{pair="bad"} 3.0' in text
    assert 'hatui_action_runs_total{action="failover",pair="ok",result="succeeded"} 2.0' in text
    first = collector._samples("ok", snap)
    assert collector._samples("ok", snap) is first  # computed once per snapshot
    assert snapshot_samples("ok", snap) == first


def test_every_metric_is_in_the_readme_with_its_help_text() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, (kind, text, labels) in {**DEFS, **EXTRA}.items():
        shown = name + ("_total" if kind == "counter" else "")
        row = re.search(rf"^\| `{re.escape(shown)}` \|(.*)$", readme, re.M)
        assert row, f"{shown} missing from README's metric table"
        assert text in row.group(1), f"{shown}: README help differs"


EXTRA = {  # the metrics prometheus_client objects own (not the collector)
    "hatui_poll_duration_seconds": ("histogram", "Seconds one node's poll took (one batched exec; a node that does "
                                    "not answer counts its whole bound)", ()),
    "hatui_history_write_errors": ("counter", "History writes that failed or were dropped", ()),
}


def test_serve_cannot_run_actions() -> None:
    """The service loads no action runner, plan, guard or lock: of the actions, only the audit log's reader."""
    code = ("import sys, hatui.service.serve, hatui.cli.fleet, hatui.history.recorder, hatui.actions.audit; "
            "print(sorted(m for m in sys.modules if m.startswith(('hatui.actions', 'textual', 'hatui.ui'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "['hatui.actions', 'hatui.actions.audit']"


def test_peer_node_id_is_empty_when_the_source_does_not_say_it() -> None:
    from tests import builders

    snap = builders.healthy()  # records built without a node id (as DRBD 8.4's /proc/drbd gives them)
    labels = [s[1] for s in snapshot_samples("p", snap) if s[0] == "drbd_connection_state"]
    assert labels and all(lab[-1] == "" for lab in labels)
