"""The incident story on the demo pair: a crash and a planned switchover, each one story with one T+0."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.asyncio


async def _journal_has(demo, node: str, step: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if any(e["step"] == step for e in demo.sim.node(node).journal):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {step} in {node}'s journal")


def _one_story(incident: dict) -> list[dict]:
    rows = incident["rows"]
    starts = [r["start"] for r in rows]
    assert starts == sorted(starts), "rows in time order"
    assert rows[0]["start"] == incident["t0"] and rows[0]["t_plus"] == 0.0, "one T+0: the first row's"
    assert all(r["t_plus"] >= 0 for r in rows)
    return rows


async def test_crash_takeover_is_one_ordered_story_from_the_estimated_crash(demo, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "cli-state"))
    empty = await run_cli("--config", str(demo.config_path), "timeline", "--auto")
    assert empty.exit_code == 0 and "no incident" in empty.stdout
    demo.sim.crash("vm2")
    await _journal_has(demo, "vm12", "available")
    result = await run_cli("--config", str(demo.config_path), "timeline", "--auto", "--json")
    assert result.exit_code == 0, result.stderr
    incident = result.doc[-1]
    assert incident["kind"] == "TAKEOVER" and incident["title"] == "crash and automatic takeover: by vm12"
    rows = _one_story(incident)
    assert rows[0]["step"] == "vm2 lost (estimated)"
    kit = [r for r in rows if r["source"] == "node kit" and r["phase"]]
    assert [r["phase"] for r in kit] == ["detect", "vip", "promote", "mount", "services", "services", "available"]
    assert 3.5 < kit[0]["t_plus"] < 3.7  # T+0 = master-down interval before detection
    assert all(r["outcome"] == "ok" and r["over"] is False for r in kit)  # well within the seed's budget
    text = await run_cli("--config", str(demo.config_path), "timeline", "--auto")
    assert "crash and automatic takeover: by vm12" in text.stdout and "≤ T+15 s" in text.stdout
    assert "≤T+" not in text.stdout and "within" not in text.stdout


async def test_planned_failover_story_has_no_failed_row_and_one_t0(demo, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "cli-state"))
    done = await run_cli("--config", str(demo.config_path), "failover", "--confirm", "vm12")
    assert done.exit_code == 0, done.stdout + done.stderr
    await _journal_has(demo, "vm12", "available")  # keepalived's notify script ran on vm12 after hatui
    kit = {e["step"]: e for e in demo.sim.node("vm12").journal}
    assert all(e["ok"] for e in demo.sim.node("vm12").journal)
    assert kit["promote"]["detail"].startswith("already") and kit["mount"]["detail"].startswith("already")
    result = await run_cli("--config", str(demo.config_path), "timeline", "--auto", "--json")
    assert result.exit_code == 0, result.stderr
    (incident,) = result.doc  # the switchover is one incident, not an action plus an "automatic failover"
    assert incident["kind"] == "ACTION" and incident["title"].startswith("hatui action: failover")
    rows = _one_story(incident)
    assert not [r for r in rows if r["outcome"] == "failed"]
    assert not any("lost (estimated)" in r["step"] for r in rows)
    steps = [r for r in rows if r["source"] == "hatui" and r["phase"]]
    assert len(steps) == 11 and all(r["outcome"] in ("ok", "already") for r in steps)
    folded = [r for r in steps if "node kit: already" in r["note"]]
    assert {r["phase"] for r in folded} >= {"promote", "mount", "services"}  # the kit's no-ops, not new rows
    assert all(r["budget_text"].startswith("≤ T+") for r in steps if r["budget"] is not None)
