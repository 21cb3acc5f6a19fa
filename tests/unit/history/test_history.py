"""The history: what a snapshot adds, once, across restarts and concurrent writers; bounds; queries."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from hatui.cli import main
from hatui.errors import HatuiError
from hatui.history import store
from hatui.history.query import line, parse_time
from hatui.history.recorder import Recorder, audit_pairs
from tests.sim_pair import SimPair
from tests import REPO


def events(conn, **filters):
    return store.query(conn, **filters)


def kinds(rows):
    return [(r["node"], r["layer"], r["kind"], r["before"], r["after"]) for r in rows]


@pytest.mark.asyncio
async def test_changes_findings_and_takeover_are_recorded_once(tmp_path) -> None:
    db = tmp_path / "h.sqlite"
    conn = store.connect(db)
    rec = Recorder(conn, "test")
    pair = SimPair()
    snap = await pair.poll()
    first = rec.snapshot("p1", snap)
    assert first > 10  # every layer's first state, the verdict, both nodes
    assert rec.snapshot("p1", snap) == 0  # nothing changed: nothing written
    assert ("", "cluster", "state", "", "OK") in kinds(events(conn))

    pair.fault("crash vm2")
    pair.advance(1)
    rec.snapshot("p1", await pair.poll())
    rows = events(conn, since=0)
    assert ("vm2", "node", "state", "answered", "unreachable") in kinds(rows)
    assert ("vm2", "node", "finding", "", "raised") in kinds(rows)
    # the unreachable node's layers are not turned into "unknown" rows
    assert not [r for r in rows if r["node"] == "vm2" and r["layer"] == "drbd:r0" and r["after"] == "unknown"]

    pair.advance(15)  # the node kit on vm12 takes over
    rec.snapshot("p1", await pair.poll())
    steps = [r for r in events(conn, layer="failover")]
    assert [r["subject"] for r in steps][:3] == ["detect", "vip", "promote"]
    assert all(r["node"] == "vm12" and "≤ T+" in r["detail"] for r in steps)
    assert ("vm12", "drbd:r0", "state", "Secondary", "Primary") in kinds(events(conn))

    pair.fault("restore vm2")
    pair.advance(30)
    rec.snapshot("p1", await pair.poll())
    cleared = [r for r in events(conn, layer="node") if r["kind"] == "finding" and r["after"] == "cleared"]
    assert [r["subject"] for r in cleared] == ["connection-refused"]
    assert ("vm2", "node", "state", "unreachable", "answered") in kinds(events(conn))

    # A restart (new recorder, new connection) re-reads the same journal and state: no duplicates.
    total = len(events(conn))
    again = Recorder(store.connect(db), "restarted")
    assert again.snapshot("p1", await pair.poll()) == 0
    assert len(events(conn)) == total


def test_file_is_private_and_in_wal_mode(tmp_path) -> None:
    db = tmp_path / "sub" / "h.sqlite"
    conn = store.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with pytest.raises(FileNotFoundError):
        store.connect(tmp_path / "missing.sqlite", create=False)


WRITER = """
import sys, time
from hatui.history import store
conn = store.connect(sys.argv[1])
me = sys.argv[2]
for i in range(150):
    with store.transaction(conn):
        store.insert_events(conn, [dict(ts=time.time(), pair="p", layer="action", kind="action", subject=me,
                                        after=str(i), key=f"{me}-{i}"),
                                   dict(ts=1.0, pair="p", layer="failover", kind="failover", subject="shared",
                                        after=str(i % 10), key=f"shared-{i % 10}")])
print("done")
"""


def test_two_processes_write_at_once_without_errors_or_duplicates(tmp_path) -> None:
    """What a console and a service do: separate processes, one file, short transactions."""
    db = tmp_path / "h.sqlite"
    store.connect(db).close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for name in ("console", "serve")]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "done", err
    conn = store.connect(db)
    rows = events(conn)
    assert sum(r["subject"] == "console" for r in rows) == 150
    assert sum(r["subject"] == "serve" for r in rows) == 150
    assert sum(r["subject"] == "shared" for r in rows) == 10  # keyed rows: once, whoever came first


def test_bounds_by_age_and_size(tmp_path) -> None:
    conn = store.connect(tmp_path / "h.sqlite")
    now = time.time()
    with store.transaction(conn):
        store.insert_events(conn, [dict(ts=now - 90000 + i, pair="p", layer="x", kind="state", subject="s",
                                        detail="x" * 500) for i in range(4000)])
        store.insert_events(conn, [dict(ts=now - 10 + i / 1000, pair="p", layer="x", kind="state", subject="new",
                                        detail="y" * 500) for i in range(4000)])
    assert store.prune(conn, keep_seconds=86400, max_bytes=10**9, now=now) == 3600  # older than a day
    left = events(conn)
    assert all(r["ts"] >= now - 86400 for r in left)
    size_before = store.used_bytes(conn)
    store.prune(conn, keep_seconds=86400, max_bytes=size_before // 4, now=now)
    assert store.used_bytes(conn) <= size_before // 4
    newest = events(conn, limit=1)[0]
    assert newest["subject"] == "new"  # the oldest rows went first
    assert (tmp_path / "h.sqlite").stat().st_size < 8 * size_before  # freed pages were given back


def test_query_filters_and_time_words(tmp_path) -> None:
    conn = store.connect(tmp_path / "h.sqlite")
    base = 1_800_000_000.0
    rows = [
        dict(ts=base, pair="a", node="vm2", layer="drbd:r0", kind="state", subject="DRBD r0", before="Secondary",
             after="Primary", severity="OK"),
        dict(ts=base + 60, pair="a", node="vm12", layer="drbd_x", kind="state", subject="odd", after="x"),
        dict(ts=base + 120, pair="b", node="vm2", layer="drbd", kind="finding", subject="standalone",
             after="raised", severity="CRITICAL", detail="why"),
    ]
    with store.transaction(conn):
        store.insert_events(conn, rows)
    assert [r["subject"] for r in events(conn, layer="drbd")] == ["DRBD r0", "standalone"]  # not drbd_x
    assert [r["pair"] for r in events(conn, node="vm2")] == ["a", "b"]
    assert [r["ts"] for r in events(conn, since=base + 30, until=base + 90)] == [base + 60]
    assert [r["ts"] for r in events(conn, limit=2)] == [base + 60, base + 120]
    assert "DRBD r0: Secondary → Primary" in line(events(conn, pair="a")[0])
    assert "CRITICAL standalone raised  (why)" in line(events(conn, pair="b")[0])
    now = 1_800_000_000.0
    assert parse_time("2h", now) == now - 7200
    assert parse_time("30m", now) == now - 1800
    assert parse_time("2026-05-01T03:12") == parse_time("2026-05-01 03:12:00")
    assert time.localtime(parse_time("03:12", now))[3:5] == (3, 12)
    with pytest.raises(HatuiError, match="cannot read the time"):
        parse_time("yesterday-ish")


def test_audit_runs_recorded_once_and_attributed_only_when_certain(tmp_path) -> None:
    from hatui.config import parse_config
    from tests.unit.fleet.test_fleet import pair_file

    a = parse_config(pair_file("alpha"))
    b = parse_config(pair_file("beta").replace('"vm2"', '"db1"').replace('"vm12"', '"db2"'))
    plan = {"title": "Failover vm2 → vm12", "resources": ["r0"], "steps": [{"node": "vm2"}, {"node": "vm12"}]}
    records = [
        {"ts": 1.0, "action": "failover", "action_id": "1-a", "event": "start", "plan": plan, "user": "op", "host": "h"},
        {"ts": 2.0, "action": "failover", "action_id": "1-a", "event": "result", "result": "succeeded"},
        {"ts": 3.0, "action": "failback", "action_id": "2-b", "event": "refused", "plan": plan},
    ]
    assert audit_pairs(records, {"alpha": a, "beta": b}) == {"1-a": "alpha", "2-b": "alpha"}
    assert audit_pairs(records, {"alpha": a, "alpha2": a}) == {}  # ambiguous: not guessed
    named = [dict(r, cluster="alpha2") for r in records]  # hatui writes the pair's name: no guessing needed
    assert audit_pairs(named, {"alpha": a, "alpha2": a}) == {"1-a": "alpha2", "2-b": "alpha2"}
    conn = store.connect(tmp_path / "h.sqlite")
    rec = Recorder(conn)
    assert rec.audit(records, {"alpha": a, "beta": b}) == 3
    assert rec.audit(records, {"alpha": a, "beta": b}) == 0  # re-read: nothing new
    rows = events(conn, layer="action")
    assert [(r["pair"], r["subject"], r["after"]) for r in rows] == [
        ("alpha", "failover", "start"), ("alpha", "failover", "succeeded"), ("alpha", "failback", "refused")]


def test_history_command(tmp_path) -> None:
    db = tmp_path / "h.sqlite"
    conn = store.connect(db)
    with store.transaction(conn):
        store.insert_events(conn, [dict(ts=time.time() - 60, pair="a", node="vm2", layer="vip", kind="state",
                                        subject="Virtual IP", before="held", after="standby", severity="OK")])
    runner = CliRunner()
    out = runner.invoke(main, ["history", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    assert [e["after"] for e in json.loads(out.output)] == ["standby"]
    out = runner.invoke(main, ["history", "--db", str(db), "--since", "2h", "--layer", "vip", "--pair", "a"])
    assert "Virtual IP: held → standby" in out.output
    out = runner.invoke(main, ["history", "--db", str(db), "--since", "10s"])
    assert "no events in that window" in out.output
    out = runner.invoke(main, ["history", "--db", str(tmp_path / "none.sqlite")])
    assert out.exit_code == 3 and "no history yet" in out.output
