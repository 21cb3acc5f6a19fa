"""Actions in the console on scripted snapshots: keys, read-only, the plan screen, refusals, failure dialog."""

from __future__ import annotations

import dataclasses

import pytest
from textual.command import CommandPalette
from textual.widgets import Button, Input

from hatui.actions.runner import RunResult
from hatui.ui.action_screens import FailureScreen, ResyncChooser
from hatui.ui.controls import ChoiceList, Toggle
from hatui.ui.help_screen import HelpScreen
from hatui.ui.plan_screen import PlanScreen
from tests.functional import scenarios as sc
from tests.functional.conftest import NotedApp, make_app, screen_text

WIDE = (160, 48)
SMALL = (80, 24)


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """The audit log (a cancel is recorded too) and timelines go to the test's own folder."""
    folder = tmp_path / "hatui-state"
    monkeypatch.setenv("HATUI_STATE_DIR", str(folder))
    return folder


class CountingApp(NotedApp):
    """Records every runner it would make instead of running anything."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, make_runner=self.fake_runner, **kwargs)
        self.runners: list[object] = []

    def fake_runner(self, decision):
        self.runners.append(decision)
        return FakeRunner(self, decision)


class FakeRunner:
    """Fails at step 5 the first time; retry succeeds (what the runner does is tested in tests/e2e)."""

    def __init__(self, app, decision) -> None:
        self.app, self.decision = app, decision

    async def run(self, plan, *, confirm, on_event=None):
        snap = self.app.snapshot
        self.result = FakeResult(plan, "failed", 4, "exit 1: drbdadm: State change failed", snapshot=snap)
        return self.result


class FakeResult(RunResult):
    async def retry(self, step=None, on_event=None):
        self.app_retried = True
        return FakeResult(self.plan, "succeeded", snapshot=self.snapshot)

    async def release(self):
        return []


async def started(app, pilot) -> None:
    await app.wait_for_poll(1)
    await pilot.pause()


async def open_plan(app, pilot, key: str = "F") -> PlanScreen:
    await pilot.press(key)
    for _ in range(100):
        await pilot.pause(0.02)
        if isinstance(app.screen, PlanScreen):
            return app.screen
    raise AssertionError(f"no plan screen after {key}: {screen_text(app)}")


def notes(app) -> str:
    """Every notification shown so far (toasts are drawn a frame later than the screen)."""
    return app.notes_text()


def run_button(app) -> Button:
    return app.screen.query_one("#plan-run", Button)


@pytest.mark.asyncio
@pytest.mark.parametrize("read_only", [False, True])
async def test_read_only_hides_and_refuses_the_actions(read_only: bool) -> None:
    app = make_app(sc.healthy(), read_only=read_only, app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        commands = [c[1] for c in app.console_commands()]
        for key in ("F", "B", "R"):
            await pilot.press(key)
            await pilot.pause(0.1)
            opened = isinstance(app.screen, (PlanScreen, ResyncChooser))
            # B on a pair already served by the preferred node: no plan, a notification says so.
            answered = opened or "nothing to failback" in notes(app)
            assert answered is not read_only, key
            if opened:
                await pilot.press("escape")
            await pilot.pause(0.1)
            assert not app.action_busy
        await app.run_action("failover")  # the palette's way in
        await pilot.pause()
        if read_only:
            assert not isinstance(app.screen, PlanScreen)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = screen_text(app)
    for word, action in (("Failover", "failover"), ("Failback", "failback"), ("Resync", "resync")):
        assert (word in footer) is not read_only, word
        assert (action in commands) is not read_only, action
        assert (word in help_text) is not read_only, word
    assert app.runners == []


@pytest.mark.asyncio
async def test_palette_lists_the_actions() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"failo")
        await pilot.pause(0.3)
        assert "Failover" in screen_text(app)
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(app.screen, PlanScreen):
                break
        assert isinstance(app.screen, PlanScreen)


@pytest.mark.asyncio
async def test_plan_screen_shows_every_step_and_a_wrong_name_keeps_confirm_disabled(state_dir) -> None:
    app = make_app(sc.healthy(), app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        screen = await open_plan(app, pilot)
        text = screen_text(app)
        assert "Failover: move the active role from vm2 to vm12" in text
        assert "$ sudo -n drbdadm secondary r0" in text and "vm2" in text
        assert app.focused is screen.query_one(Input)  # nothing to tick or choose: the name box
        assert run_button(app).disabled
        await pilot.press("enter")  # enter on an empty name: says so, never cancels, never runs
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen) and app.runners == []
        await pilot.press(*"vm2")  # the source, not the target
        await pilot.pause()
        assert run_button(app).disabled
        await pilot.press("enter")  # enter with a wrong name does nothing
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen) and app.runners == []
        await pilot.press("backspace", "1", "2")
        await pilot.pause()
        assert not run_button(app).disabled  # vm12 matches
        await pilot.press("backspace")
        await pilot.pause()
        assert run_button(app).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)
        assert app.runners == []
        assert "cancelled: nothing was changed" in notes(app)


@pytest.mark.asyncio
async def test_preflight_refusal_is_shown_and_nothing_runs() -> None:
    app = make_app(sc.syncing(), app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        screen = await open_plan(app, pilot)
        text = screen_text(app)
        assert "REFUSED: DRBD r0 is resyncing (42.5% in sync" in text
        assert "→ Wait for the sync to finish" in text
        assert screen.query_one(Input).disabled and run_button(app).disabled
        await pilot.click("#plan-run")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen) and app.runners == []


@pytest.mark.asyncio
async def test_split_brain_blocks_a_reconnect_and_failover_has_no_plan() -> None:
    app = make_app(sc.healthy(), sc.split_brain(), app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("r")
        await app.wait_for_poll(2)
        await pilot.press("F")  # both nodes look active: no plan, a notification says why
        await pilot.pause(0.2)
        assert not isinstance(app.screen, PlanScreen)
        assert "cannot tell which node is active" in notes(app)
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ResyncChooser)
        await pilot.press("enter")  # the first flow: reconnect
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(app.screen, PlanScreen):
                break
        text = screen_text(app)
        assert "REFUSED:" in text and "split brain" in text.lower() and "Resolve it first" in text
        assert run_button(app).disabled and app.runners == []


@pytest.mark.asyncio
async def test_split_brain_resolution_shows_evidence_and_confirms_with_the_victim() -> None:
    app = make_app(sc.split_brain(), app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("down", "enter")  # split-brain
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(app.screen, PlanScreen):
                break
        text = screen_text(app)
        assert "Evidence" in text and "vm2: DRBD r0 Primary now" in text and "vm12: DRBD r0 Primary now" in text
        assert "Choose the victim in the list above" in text and run_button(app).disabled
        assert "( ) vm2 — not chosen" in text and "( ) vm12 — not chosen" in text
        assert isinstance(app.focused, ChoiceList)  # the open decision has the focus
        await pilot.press("enter")  # enter chooses the option under the cursor (vm2): it never cancels
        await pilot.pause()
        text = screen_text(app)
        assert isinstance(app.screen, PlanScreen)
        assert "(•) vm2 — VICTIM" in text and "( ) vm12 — survivor" in text
        assert "$ sudo -n drbdadm connect --discard-my-data r0" in text
        await pilot.press(*"vm12")  # typed letters go to the name box
        await pilot.pause()
        assert run_button(app).disabled  # the victim is vm2: its name is what confirms
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"vm2")
        await pilot.pause()
        assert not run_button(app).disabled


@pytest.mark.asyncio
async def test_recent_role_change_needs_the_checkbox() -> None:
    snap = sc.healthy()
    nodes = tuple(dataclasses.replace(n, vrrp=dataclasses.replace(n.vrrp, last_transition=sc.T0 - 30))
                  for n in snap.nodes)
    app = make_app(dataclasses.replace(snap, nodes=nodes), app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        screen = await open_plan(app, pilot)
        text = screen_text(app)
        assert "NEEDS YOUR OK: the last role change was 31s ago" in text
        assert "(tick [x] switch anyway below: space)" in text and "--yes-recent" not in text
        assert "[ ] switch anyway — not ticked" in text
        assert app.focused is screen.query_one(Toggle)  # the checkbox is the first decision: no Tabs away
        await pilot.press(*"vm12", "enter")  # the name alone is not enough: enter says what is missing
        await pilot.pause()
        assert run_button(app).disabled and app.runners == [] and isinstance(app.screen, PlanScreen)
        assert "tick [x] switch anyway first" in notes(app)
        await pilot.press("shift+tab", "shift+tab", "space")  # name box → Cancel → the checkbox; tick it
        await pilot.pause()
        assert "[x] switch anyway — ticked" in screen_text(app)
        assert not run_button(app).disabled
        await pilot.press("tab", "tab", "enter")  # → Cancel → name box; enter confirms
        await pilot.pause()
        assert app.runners and app.runners[0].acknowledged == ("recent-role-change",)


@pytest.mark.asyncio
async def test_failed_step_offers_retry_rollback_and_leave() -> None:
    app = make_app(sc.healthy(), app_class=CountingApp)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await open_plan(app, pilot)
        await pilot.click("#plan-input")
        await pilot.press(*"vm12", "enter")
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(app.screen, FailureScreen):
                break
        assert isinstance(app.screen, FailureScreen)
        text = screen_text(app)
        assert "Stopped at step 5 of 11: promote DRBD r0 to Primary (no --force) on vm12" in text
        assert "exit 1: drbdadm: State change failed" in text
        assert "vm2: VIP held, DRBD r0 Primary/UpToDate/Connected" in text and "vm12: VIP not held" in text
        assert app.focused.id == "failure-leave"
        assert not app.screen.query_one("#failure-rollback", Button).disabled
        await pilot.click("#failure-retry")
        for _ in range(50):
            await pilot.pause(0.02)
            if not app.action_busy:
                break
        assert not isinstance(app.screen, FailureScreen)
        assert "failover succeeded" in notes(app) and "✔ failover succeeded" in screen_text(app)
        assert app.timing_log.rows[-1].note == "failover succeeded"


@pytest.mark.asyncio
async def test_help_lists_the_action_keys_at_80x24() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
    for word in ("F  Failover", "B  Failback", "R  Resync", "ctrl+p"):
        assert word in text, word


@pytest.mark.asyncio
async def test_typing_with_focus_on_cancel_goes_into_the_name_box() -> None:
    app = make_app(sc.healthy(), app_class=CountingApp)
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        screen = await open_plan(app, pilot)
        await pilot.press(*"vm12")
        await pilot.pause()
        assert screen.query_one(Input).value == "vm12" and not run_button(app).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert app.runners == []
