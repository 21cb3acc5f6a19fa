"""Every key answers, keyboard only: a refused key says why, an unknown key says so, and a node
waiting out its reconnect backoff counts down with the key that retries now."""

from __future__ import annotations

import asyncio

import pytest

from hatui.actions.runner import RunResult
from hatui.ui.plan_screen import PlanScreen
from tests import builders as b
from tests.functional import scenarios as sc
from tests.functional.conftest import NotedApp, make_app, screen_text

WIDE = (160, 48)


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))


async def started(app, pilot) -> None:
    await app.wait_for_poll(1)
    await pilot.pause()


@pytest.mark.asyncio
async def test_read_only_keys_say_why_they_do_nothing() -> None:
    app = make_app(sc.healthy(), read_only=True, app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        for key in ("F", "B", "R"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, PlanScreen)
    notes = app.notes_text()
    for kind in ("failover", "failback", "resync"):
        assert f"{kind} refused: hatui runs with --read-only: {kind}" in notes, notes
    assert "Restart hatui without --read-only" in notes
    assert "Failover" not in footer and "Resync" not in footer  # still hidden, but no longer silent


class HangingPoller:
    transports = None

    async def poll(self):
        await asyncio.sleep(3600)

    async def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_keys_before_the_first_poll_say_there_is_no_data_yet() -> None:
    app = NotedApp(b.config(), poller=HangingPoller(), poll_interval=3600)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("F", "R", "enter", "c")
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)
    notes = app.notes_text()
    assert "failover refused: no data from the pair yet" in notes
    assert "resync refused: no data from the pair yet" in notes
    assert "details: no data from vm2 yet" in notes
    assert "copy: nothing to copy" in notes


class BlockingRunner:
    """Runs until the test lets it finish, so keys can be pressed mid-run."""

    def __init__(self, app, decision, release: asyncio.Event) -> None:
        self.app, self.decision, self.release = app, decision, release

    async def run(self, plan, *, confirm, on_event=None):
        await self.release.wait()
        return Finished(plan, "succeeded", snapshot=self.app.snapshot)


class Finished(RunResult):
    async def release(self):
        return []


class RunningApp(NotedApp):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, make_runner=self.blocking_runner, **kwargs)
        self.release = asyncio.Event()

    def blocking_runner(self, decision):
        return BlockingRunner(self, decision, self.release)


@pytest.mark.asyncio
async def test_keys_during_a_run_say_an_action_is_running() -> None:
    app = make_app(sc.healthy(), app_class=RunningApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("F")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, PlanScreen):
                break
        await pilot.press(*"vm12", "enter")
        await pilot.pause()
        assert app.action_running
        await pilot.press("r", "B")
        await pilot.pause()
        notes = app.notes_text()
        assert "refresh: an action is running: the screen follows its own polls" in notes
        assert "failback refused: an action is running: finish it first" in notes
        app.release.set()
        for _ in range(100):
            await pilot.pause(0.02)
            if not app.action_busy:
                break
    assert "failover: failover succeeded" in app.notes_text()


@pytest.mark.asyncio
async def test_a_key_that_is_not_bound_says_where_the_keys_are() -> None:
    app = make_app(sc.healthy(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        assert "'x' is not a key here: ? lists every key" in app.notes_text()
        await pilot.press("slash", *"xq")  # letters typed into the filter box are the filter's
        await pilot.pause()
        assert app.notes_text().count("is not a key here") == 1


class Transport:
    def __init__(self, retry_in: float | None) -> None:
        self.retry_in = retry_in


class BackoffPoller(sc.ScriptedPoller):
    """vm2 is down and its transport waits 9.2 s before the next connect attempt."""

    def __init__(self, *snapshots) -> None:
        super().__init__(*snapshots)
        self.transports = {"vm2": Transport(9.2), "vm12": Transport(None)}
        self.retried = 0

    def retry_now(self) -> None:
        self.retried += 1
        self.transports["vm2"].retry_in = None


@pytest.mark.asyncio
async def test_a_node_in_reconnect_backoff_counts_down_and_r_retries_now() -> None:
    poller = BackoffPoller(sc.node_down())
    app = make_app(sc.node_down(), poller=poller, app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        text = screen_text(app)
        assert "reconnect in 9 s · r: retry now · connection refused" in text
        poller.transports["vm2"].retry_in = 4.1  # the next tick of the clock shows the new count
        await pilot.pause(1.2)
        assert "reconnect in 4 s · r: retry now" in screen_text(app)
        await pilot.press("r")
        await app.wait_for_poll(2)
        await pilot.pause()
        assert poller.retried == 1
        assert "retry: reconnecting to vm2 now instead of waiting" in app.notes_text()
        assert "reconnect in" not in screen_text(app)
