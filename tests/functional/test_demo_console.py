"""The console against the real demo pair (in-process asyncssh servers on 127.0.0.1, fast sim time).

A fault injected in the simulator must be on screen after the first poll that
starts after it: poll number ``n + 2`` when ``n`` polls had finished at injection
(poll ``n + 1`` may already have been under way).
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from hatui.config import load_config
from hatui.demo.server import DemoPair
from hatui.ui.app import HatuiApp
from tests.functional.conftest import screen_text, settled

POLL = 0.3
SIZE = (100, 30)


@pytest_asyncio.fixture
async def pair(tmp_path):
    demo = await DemoPair.start(None, state_dir=tmp_path, time_scale=10)
    try:
        yield demo
    finally:
        await demo.stop()


async def until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def running_console(pair: DemoPair, pilot, app: HatuiApp) -> str:
    await until(lambda: app.snapshot is not None and len(app.snapshot.active_nodes) == 1)
    await pilot.pause()
    return app.snapshot.active_nodes[0]


async def after_fault(pair: DemoPair, app: HatuiApp, pilot, *fault) -> str:
    seen = app.poll_count
    await pair.fault(*fault)
    await app.wait_for_poll(seen + 2)
    await pilot.pause()
    return screen_text(app)


@pytest.mark.asyncio
async def test_crash_in_simulator_is_on_screen_within_one_poll(pair: DemoPair) -> None:
    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL)
    async with app.run_test(size=SIZE) as pilot:
        active = await running_console(pair, pilot, app)
        assert f"{active} ★ ACTIVE" in screen_text(app)
        text = await after_fault(pair, app, pilot, "crash", active)
        assert f"{active} ✖ UNREACHABLE" in text
        # keepalived on the survivor takes over by itself; the timing log shows the move.
        survivor = pair.sim.peer_of(active).name
        await until(lambda: app.snapshot.vip_holders == (survivor,))
        await pilot.press("l")
        await pilot.pause()
        text = screen_text(app)
        assert "active node unreachable" in text
        # the console's "VIP → survivor", or the kit's vip row it folded into: one row either way
        assert sum(1 for r in app.timing_log.rows if r.phase == "vip" and r.node == survivor) == 1


@pytest.mark.asyncio
async def test_service_stop_and_link_cut_show_within_one_poll(pair: DemoPair) -> None:
    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL)
    async with app.run_test(size=SIZE) as pilot:
        active = await running_console(pair, pilot, app)
        text = await after_fault(pair, app, pilot, "cut-link")
        assert "Replication r0" in text and "Connected  Established" not in text
        text = await after_fault(pair, app, pilot, "stop-service", active, pair.sim.nfs_unit)
        assert "NFS server is down on active node" in text or "✖ inactive" in text or "✖ failed" in text


# ---- actions from the console ------------------------------------------------------------------


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """Timelines and the audit log of console actions go to the test's own folder."""
    folder = tmp_path / "hatui-state"
    monkeypatch.setenv("HATUI_STATE_DIR", str(folder))
    return folder


@pytest.mark.asyncio
async def test_whole_failover_from_the_key_to_the_finished_timeline(pair: DemoPair, state_dir) -> None:
    from textual.widgets import Button

    from hatui.ui.plan_screen import PlanScreen

    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL)
    async with app.run_test(size=(120, 40)) as pilot:
        active = await running_console(pair, pilot, app)
        target = pair.sim.peer_of(active).name
        await pilot.press("F")
        await until(lambda: isinstance(app.screen, PlanScreen))
        await pilot.pause()
        text = screen_text(app)
        assert f"Failover: move the active role from {active} to {target}" in text
        assert "$ drbdadm secondary r0" in text and "$ systemctl stop" in text  # the demo runs without sudo
        run = app.screen.query_one("#plan-run", Button)
        await pilot.press("tab", *target)
        await pilot.pause()
        assert not run.disabled
        await pilot.click("#plan-run")
        await until(lambda: not app.action_busy, timeout=30)
        await settled(app, pilot)
        assert pair.sim.active_node() == target
        text = screen_text(app)
        assert "✔ failover suc" in text  # the summary row (cut by the pane's width at 120 columns)
        # one story: the action's header, no "automatic" takeover, no failed row (the kit found it all done)
        headers = [r.step for r in app.timing_log.rows if r.step.startswith("──")]
        assert headers == [f"── hatui action: failover → {target} (confirmed by you)"]
        assert not [r for r in app.timing_log.rows if r.step.startswith("✖")]
        assert any(r.step == "✔ failover succeeded" for r in app.timing_log.rows)
        assert "✔ under" in text and "✔ 11. verify:" in text  # the last step, on screen, with its budget
        done = [r for r in app.timing_log.rows if r.step.startswith(("✔ 1.", "✔ 5.", "✔ 11."))]
        assert len(done) == 3 and all(r.note.startswith(("done", "already so")) for r in done)
        steps = [r for r in app.timing_log.rows if r.step[2:3].isdigit()]  # the action's rows, not the journal's
        assert len(steps) == 11 and all(r.step.startswith("✔") for r in steps)
    assert list((state_dir / "timelines").glob("*-failover-*.jsonl"))


@pytest.mark.asyncio
async def test_automatic_failover_shows_journal_rows(pair: DemoPair) -> None:
    app = HatuiApp(load_config(pair.config_path), poll_interval=POLL)
    async with app.run_test(size=SIZE) as pilot:
        assert await running_console(pair, pilot, app) == "vm2"
        pair.sim.crash("vm2")
        await until(lambda: any(r.step == "✔ available" for r in app.timing_log.rows), timeout=20)
        await pilot.press("l", "z")  # the timing pane, full screen: the whole story at once
        await pilot.pause()
        text = screen_text(app)
        assert "── crash and automatic takeover: by vm12" in text
        rows = app.timing_log.rows
        start = next(i for i, r in enumerate(rows) if r.step.startswith("── crash"))
        story = rows[start + 1:]
        assert story[0].step == "vm2 lost (estimated)" and story[0].t_plus == 0.0  # one T+0: the estimated crash
        assert [r.start for r in story] == sorted(r.start for r in story)
        kit = [r.step for r in story if r.node == "vm12" and r.phase]
        assert kit == [f"✔ {s}" for s in ("detect", "vip", "promote", "mount", "nfs", "dag", "available")]
        assert "≤ T+15 s ✔ under" in text  # vip: T+ against the documented budget
