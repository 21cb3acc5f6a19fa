"""An automatic failover in the demo shows as a timeline read from the survivor's journal."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.asyncio


async def test_crash_failover_timeline_from_the_node_journal(demo) -> None:
    empty = await run_cli("--config", str(demo.config_path), "timeline", "--auto")
    assert empty.exit_code == 0 and "no automatic failover" in empty.stdout
    demo.sim.crash("vm2")
    for _ in range(100):
        if demo.sim.active_node() == "vm12" and any(e["step"] == "available" for e in demo.sim.node("vm12").journal):
            break
        await asyncio.sleep(0.05)
    result = await run_cli("--config", str(demo.config_path), "timeline", "--auto", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc[-1]["node"] == "vm12"
    phases = [s["phase"] for s in doc[-1]["steps"]]
    assert phases == ["detect", "vip", "promote", "mount", "services", "services", "available"]
    first = doc[-1]["steps"][0]
    assert 3.5 < first["t_end"] < 3.7  # T+0 = master-down interval before detection
    assert all(s["over"] is False for s in doc[-1]["steps"])  # the demo is well within the seed's budget
    text = await run_cli("--config", str(demo.config_path), "timeline", "--auto")
    assert "latest automatic takeover by vm12" in text.stdout and "≤T+15s" in text.stdout
