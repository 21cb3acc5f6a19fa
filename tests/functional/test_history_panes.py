"""The console's event and timing panes show what the history recorded before it was opened.

The history is written with the store's own API (and, for the takeover, by the recorder
``hatui serve`` uses) into a temporary database; the console opens on the demo pair (or
scripted snapshots) with that database.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from hatui.config import load_config
from hatui.demo.server import DemoPair
from hatui.history import store
from hatui.history.recorder import Recorder
from hatui.snapshot.poller import ClusterPoller
from hatui.ui.app import HatuiApp
from hatui.ui.event_log import EventLog, event_content
from tests.functional import scenarios as sc
from tests import builders as b
from tests.functional.conftest import NotedApp, make_app, screen_text
from tests.functional.test_demo_console import POLL, until

SIZE = (160, 48)


@pytest_asyncio.fixture
async def pair(tmp_path):
    demo = await DemoPair.start(None, state_dir=tmp_path / "demo", time_scale=10)
    try:
        yield demo
    finally:
        await demo.stop()


def write(path, rows: list[dict[str, object]]) -> None:
    conn = store.connect(path)
    try:
        with store.transaction(conn):
            store.insert_events(conn, rows)
    finally:
        conn.close()


def event(ts: float, pair: str, kind: str, subject: str, before: str, after: str, severity: str, *,
          node: str = "", layer: str = "drbd:r0", detail: str = "", key: str | None = None) -> dict[str, object]:
    return dict(ts=ts, pair=pair, node=node, layer=layer, kind=kind, subject=subject, before=before, after=after,
                severity=severity, detail=detail, source="serve", key=key)


def events_of(app) -> list[str]:
    return [e.text for e in app.main.query_one(EventLog).events]


@pytest.mark.asyncio
async def test_the_panes_show_the_pairs_history_dimmed_and_before_the_live_events(pair: DemoPair, tmp_path) -> None:
    now = time.time()
    db = tmp_path / "history.sqlite"
    write(db, [
        event(now - 3600, "demo", "state", "DRBD r0", "Secondary", "Primary", "OK", node="vm12",
              detail="r0 UpToDate"),
        event(now - 3500, "demo", "finding", "drbd-disconnected", "", "raised", "CRITICAL", node="vm2",
              layer="drbd", detail="replication link down"),
        event(now - 3400, "demo", "failover", "vip", "", "ok", "OK", node="vm12", layer="failover",
              detail="VRRP VI_1 MASTER · T+1.2 s ≤ T+10 s ✔ under", key=f"journal|demo|vm12|{now - 3400!r}|vip"),
        event(now - 3300, "demo", "action", "failback", "", "succeeded", "OK", layer="action",
              detail="Failback: move the active role to vm2 (ops@desk, a1)", key="audit|a1|result|1"),
        event(now - 3200, "other-pair", "state", "DRBD r0", "Secondary", "Primary", "OK", node="vm9"),
        event(now - 3 * 86400, "demo", "state", "Keepalived", "BACKUP", "FAULT", "CRITICAL", node="vm2"),
    ])
    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL, history=db)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.snapshot is not None and app.main.query_one(EventLog).opened is not None)
        await app.wait_for_poll(app.poll_count + 2)
        await pilot.pause()
        texts = events_of(app)
        history = ["vm12 DRBD r0: Secondary → Primary  (r0 UpToDate)",
                   "vm2 finding drbd-disconnected: raised  (replication link down)",
                   "action failback: succeeded  (Failback: move the active role to vm2 (ops@desk, a1))"]
        assert texts[:3] == history  # oldest first, before the console's own first poll
        assert any(t.startswith("first poll") for t in texts[3:])
        assert not [t for t in texts if "vm9" in t or "FAULT" in t]  # another pair's, and older than 24 h
        assert sum(t in history for t in texts) == 3  # later polls add none of them again
        log = app.main.query_one(EventLog)
        styles = [{span.style for span in event_content(e, log.opened).spans} for e in log.events]
        assert styles[:3] == [{"dim"}] * 3 and all("dim" not in s for s in styles[3:])  # only the past is dimmed
        steps = [(r.step, r.node, r.note) for r in app.timing_log.rows]
        assert ("✔ vip", "vm12", "VRRP VI_1 MASTER · T+1.2 s ≤ T+10 s ✔ under") in steps
        assert ("✔ failback succeeded", None, "Failback: move the active role to vm2 (ops@desk, a1)") in steps
        text = screen_text(app)
        assert "history: 4 events from before this console opened (dimmed)" in text
        assert "vm12 DRBD r0: Secondary → Primary" in text


@pytest.mark.asyncio
async def test_a_takeover_recorded_by_serve_and_replayed_from_the_journal_shows_once(pair: DemoPair,
                                                                                        tmp_path) -> None:
    """hatui serve recorded a takeover's journal lines; the console replays the same lines from the node
    kit's journal when it opens: each step is one row."""
    config = load_config(pair.config_path)
    active = pair.sim.active_node()
    await pair.fault("crash", active)
    poller = ClusterPoller(config)
    db = tmp_path / "history.sqlite"
    conn = store.connect(db)
    try:
        recorder = Recorder(conn, "serve")
        for _ in range(100):
            snap = await poller.poll()
            recorder.snapshot(config.cluster.name, snap)
            journal = [e for n in snap.nodes if n.reachable for e in n.journal]
            if any(e.step == "vip" for e in journal):
                break
            await asyncio.sleep(0.1)
        recorded = store.query(conn, pair=config.cluster.name)
    finally:
        conn.close()
        await poller.close()
    steps = {(str(r["node"]), str(r["subject"])) for r in recorded if r["kind"] == "failover"}
    assert ("vip" in {s for _, s in steps}), recorded
    app = HatuiApp(config, poll_interval=POLL, history=db)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.snapshot is not None and app.main.query_one(EventLog).opened is not None)
        await app.wait_for_poll(app.poll_count + 2)
        await pilot.pause()
        rows = [(r.node, r.step) for r in app.timing_log.rows]
    for node, step in steps:
        shown = [r for r in rows if r[0] == node and r[1].endswith(f" {step}")]
        assert len(shown) == 1, (node, step, rows)


@pytest.mark.asyncio
@pytest.mark.parametrize("content, notes", [
    (b"this is not an SQLite database, it is " * 100, ("history: cannot read",)),
    (None, ("history: none yet in", "history: nothing recorded for")),  # the console's writer may be first
])
async def test_a_corrupt_or_missing_history_is_one_line_in_the_events_pane(tmp_path, content, notes) -> None:
    db = tmp_path / "history.sqlite"
    if content is not None:
        db.write_bytes(content)
    app = make_app(sc.healthy(), sc.node_down(), history=db, app_class=NotedApp)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.snapshot is not None and app.main.query_one(EventLog).opened is not None)
        if content is None:  # the console records once it showed the past
            await until(lambda: app.history.writer is not None)
        await pilot.press("r")
        await app.wait_for_poll(2)
        await pilot.pause()
        text = screen_text(app)
        assert any(note in text for note in notes), text
        assert "vm2 node: reachable → UNREACHABLE" in text  # the console goes on as without a history
        if content is not None:
            await until(lambda: any("not recorded by this console" in n for n in app.notes))
    if content is not None:
        assert db.read_bytes() == content  # never rewritten: a file hatui cannot read is not hatui's to fix
    else:  # the console made the file and recorded what it polled
        conn = store.connect(db)
        try:
            rows = store.query(conn, pair=b.config().cluster.name, since=0)
        finally:
            conn.close()
        node_rows = [r for r in rows if r["node"] == "vm2" and r["kind"] == "state" and r["layer"] == "node"]
        assert node_rows and node_rows[-1]["source"].startswith("console@"), rows


@pytest.mark.asyncio
async def test_each_pair_screen_of_the_fleet_console_shows_its_own_history(tmp_path, monkeypatch) -> None:
    from tests.functional.test_fleet_console import NOW, make_fleet_app

    # The fleet console records (and prunes by age) from the start; these scripted pairs live in 2023.
    monkeypatch.setattr("hatui.ui.console_history.KEEP_DAYS", 100 * 365.0)

    db = tmp_path / "history.sqlite"
    write(db, [event(NOW - 600, "nfs-a", "state", "DRBD r0", "Secondary", "Primary", "OK", node="vm2"),
               event(NOW - 500, "nfs-c", "state", "Keepalived", "BACKUP", "FAULT", "CRITICAL", node="vm12",
                     layer="keepalived")])
    app = make_fleet_app(history=db)
    async with app.run_test(size=SIZE) as pilot:
        for pair, mine, other in (("nfs-a", "vm2 DRBD r0: Secondary → Primary", "FAULT"),
                                  ("nfs-c", "vm12 Keepalived: BACKUP → FAULT", "Secondary → Primary")):
            app.open_pair(pair)
            await until(lambda: app.pair == pair and app.showing and app.main.query_one(EventLog).opened is not None)
            await pilot.pause()
            texts = events_of(app)
            assert texts[0] == mine and not [t for t in texts if other in t], texts
            await pilot.press("escape")
            await until(lambda: app.pair is None)


@pytest.mark.asyncio
async def test_the_fleet_console_records_every_pairs_polls_not_only_the_open_one(tmp_path, monkeypatch) -> None:
    """No `hatui serve` running: what the fleet console polled is in the history afterwards, per pair."""
    from tests.functional.test_fleet_console import make_fleet_app, scenes

    monkeypatch.setattr("hatui.ui.console_history.KEEP_DAYS", 100 * 365.0)  # the scripted pairs live in 2023
    db = tmp_path / "history.sqlite"
    app = make_fleet_app(history=db)
    async with app.run_test(size=SIZE):
        live = [w for w in app.polling.watches.values() if w.poller is not None]  # not the broken pair file
        await until(lambda: app.history.writer is not None and all(w.snapshot is not None for w in live))
        app.polling.wake_all()  # second polls: nfs-e's VIP moves to vm12 between them
        await until(lambda: app.polling.polls >= 2 * len(live))
    conn = store.connect(db)
    try:
        rows = store.query(conn, since=0)
    finally:
        conn.close()
    assert {r["pair"] for r in rows} == set(scenes()), "every pair's polls, none opened"
    assert all(r["source"].startswith("console@") for r in rows)
    moved = [r for r in rows if r["pair"] == "nfs-e" and r["kind"] == "state" and r["node"] == "vm12"
             and r["layer"] == "vip"]
    assert moved and "held" in str(moved[-1]["after"]), moved
