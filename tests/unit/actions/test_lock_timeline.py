"""Lock (both nodes, owner, stale, break), timeline rows and files, audit, no Textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hatui.actions.audit import AuditLog, excerpt, read_audit
from hatui.actions.lock import STALE_AFTER, LockHeld, LockOwner, NodeLocks
from hatui.timelines.saved import Timeline, find_timeline, list_timelines, row_from_dict
from hatui.transport import CommandResult
from tests.unit.actions.support import fake_pair
from tests import REPO

ROOT = REPO


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.asyncio
async def test_lock_is_taken_on_both_nodes_shows_its_owner_and_is_released():
    cluster, transports, _ = fake_pair()
    locks = NodeLocks(cluster.config, transports)
    assert all(not s.held for s in (await locks.status_all()).values())
    owner = await locks.acquire("failover")
    statuses = await locks.status_all()
    for st in statuses.values():
        assert st.held and st.owner == owner and not st.stale
        assert f"({owner.action})" in st.describe() and f"{owner.user}@{owner.host}" in st.describe()
    assert ("vm2", "sudo -n mkdir /run/hatui.lock.d") in cluster.log
    with pytest.raises(LockHeld, match="another action is running"):
        await locks.acquire("resync-full")
    assert await locks.release(owner) == []
    assert all(not s.held for s in (await locks.status_all()).values())


@pytest.mark.asyncio
async def test_acquire_is_all_or_nothing():
    cluster, transports, _ = fake_pair()
    cluster.nodes["vm12"].dirs.add("/run/hatui.lock.d")  # someone holds vm12 only
    locks = NodeLocks(cluster.config, transports)
    with pytest.raises(LockHeld, match="unknown owner"):
        await locks.acquire("failover")
    assert not cluster.nodes["vm2"].dirs, "vm2's half was given back"


@pytest.mark.asyncio
async def test_stale_locks_are_reported_not_broken_and_break_is_explicit():
    cluster, transports, _ = fake_pair()
    old = LockOwner("ops", "gone", 1, "failover", 0.0, "tok")
    node = cluster.nodes["vm2"]
    node.dirs.add("/run/hatui.lock.d")
    node.files["/run/hatui.lock.d/owner"] = old.to_json()
    locks = NodeLocks(cluster.config, transports)
    st = await locks.status("vm2")
    assert st.held and st.stale and st.age > STALE_AFTER
    assert "STALE" in st.describe() and "hatui lock break --confirm vm2" in st.describe()
    with pytest.raises(LockHeld):
        await locks.acquire("failover")
    assert node.dirs, "a stale lock is never broken silently"
    before = await locks.break_lock("vm2")
    assert before.owner == old and not node.dirs


@pytest.mark.asyncio
async def test_an_unreadable_lock_is_never_taken_for_free():
    cluster, transports, _ = fake_pair()
    cluster.fail["vm2: cat /run/hatui.lock.d"] = CommandResult("cat", 127, "", "sh: 1: test: not found", 0.0)
    st = await NodeLocks(cluster.config, transports).status("vm2")
    assert st.error and "not found" in st.error and "unknown" in st.describe()


def test_timeline_rows_budget_and_files(state_dir):
    clock = iter([0.0, 1.0, 12.5, 13.0, 14.0, 14.0, 14.0]).__next__
    tl = Timeline("failover", "Failover: vm2 → vm12", clock=clock)
    row = tl.begin(0, 1, "vm2", "detect", "stop the DAG processor", "systemctl stop x", 10.0)
    tl.end(row, "ok", exit_status=0)
    assert (row.t_start, row.t_end, row.duration, row.over) == (1.0, 12.5, 11.5, True)
    late = tl.begin(1, 1, "vm12", "promote", "promote", "drbdadm primary r0", 20.0)
    tl.end(late, "failed", detail="exit 11: (-1) Multiple primaries not allowed by config")
    assert late.over is False and "Multiple primaries" in late.line() and "≤ T+20 s" in late.line() and "≤T+" not in late.line()
    tl.finish("failed", "step 2")
    doc = find_timeline(tl.id[:15])
    assert doc is not None and doc["header"]["action"] == "failover"
    assert [s["status"] for s in doc["steps"]] == ["ok", "failed"] and doc["steps"][0]["over"] is True
    assert doc["result"]["result"] == "failed" and doc["result"]["over_budget"] == 1
    assert row_from_dict(doc["steps"][0]).line() == row.line()
    assert tl.path.parent == state_dir / "timelines"
    assert list_timelines()[0]["header"]["id"] == tl.id


def test_timeline_cli_lists_and_shows(state_dir):
    from hatui.cli import main

    tl = Timeline("failback", "Failback")
    tl.end(tl.begin(0, 1, "vm2", "detect", "stop", "x", 10.0), "ok")
    tl.finish("succeeded")
    runner = CliRunner()
    listed = runner.invoke(main, ["timeline"])
    assert listed.exit_code == 0 and tl.id in listed.output and "succeeded" in listed.output
    as_json = json.loads(runner.invoke(main, ["timeline", "--json"]).output)
    assert as_json[0]["header"]["id"] == tl.id
    shown = runner.invoke(main, ["timeline", tl.id])
    assert shown.exit_code == 0 and "vm2: stop" in shown.output
    assert runner.invoke(main, ["timeline", "nope"]).exit_code == 1


def test_audit_is_append_only_jsonl_with_who_and_where(state_dir):
    a = AuditLog("failover")
    a.record("start", plan={"kind": "failover"}, confirmation="vm12")
    a.command("vm12", "drbdadm primary r0", exit_status=11, stderr="(-1) Multiple primaries" + "x" * 1000)
    AuditLog("resync-full").record("refused", refusals=[])
    recs = read_audit()
    assert [r["event"] for r in recs] == ["start", "command", "refused"]
    assert all(r["user"] and r["host"] and r["ts"] for r in recs)
    assert recs[1]["exit_status"] == 11 and len(recs[1]["output"]) <= 401
    assert excerpt("a" * 10) == "a" * 10


def test_read_only_and_missing_confirmation_refuse_on_the_cli(state_dir, tmp_path):
    from hatui.cli import main

    runner = CliRunner()
    out = runner.invoke(main, ["--read-only", "lock", "break", "--confirm", "vm2"])
    assert out.exit_code == 2 and "--read-only" in out.output
    assert read_audit()[-1]["event"] == "refused"


@pytest.mark.parametrize("module", ["hatui.actions.runner", "hatui.cli.actions", "hatui.actions.resync",
                                    "hatui.timelines.saved"])
def test_actions_never_import_textual(module):
    code = f"import sys, {module}; print([m for m in sys.modules if m.split('.')[0] == 'textual'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
