"""Dialogs, keyboard only: state in a glyph and a word, reading-order focus, enter never cancels,
a cancel is said and recorded, and hints name the console's own controls."""

from __future__ import annotations

import dataclasses

import pytest

from hatui.actions.audit import read_audit
from hatui.ui.action_screens import ResyncChooser
from hatui.ui.controls import ChoiceList, Toggle
from hatui.ui.plan_screen import PlanScreen
from tests.functional import scenarios as sc
from tests.functional.conftest import NotedApp, make_app, screen_text

WIDE = (160, 48)


@pytest.fixture
def audit(tmp_path, monkeypatch):
    """The audit log of this test's console (HATUI_STATE_DIR is the test's own folder)."""
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    return lambda: read_audit(tmp_path / "audit.jsonl")


def recent_role_change():
    snap = sc.healthy()
    nodes = tuple(dataclasses.replace(n, vrrp=dataclasses.replace(n.vrrp, last_transition=sc.T0 - 30))
                  for n in snap.nodes)
    return dataclasses.replace(snap, nodes=nodes)


async def plan(app, pilot, *keys: str) -> PlanScreen:
    await app.wait_for_poll(1)
    await pilot.pause()
    await pilot.press(*keys)
    for _ in range(100):
        await pilot.pause(0.02)
        if isinstance(app.screen, PlanScreen):
            await pilot.pause()
            return app.screen
    raise AssertionError(f"no plan screen: {screen_text(app)}")


def cancel_rows(app) -> list[str]:
    return [r.step for r in app.timing_log.rows if "cancelled" in r.step]


@pytest.mark.asyncio
async def test_the_checkbox_shows_its_state_in_a_glyph_and_a_word_and_has_the_focus_first() -> None:
    app = make_app(recent_role_change(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        screen = await plan(app, pilot, "F")
        assert app.focused is screen.query_one(Toggle)  # zero Tabs away: the decision still open
        assert "[ ] switch anyway — not ticked" in screen_text(app)
        await pilot.press("space")
        await pilot.pause()
        text = screen_text(app)
        assert "[x] switch anyway — ticked" in text and "✔ ACKNOWLEDGED" in text
        await pilot.press("enter")  # enter acts on the focused control: unticks, never closes
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen) and "[ ] switch anyway — not ticked" in screen_text(app)


@pytest.mark.asyncio
async def test_focus_follows_the_reading_order() -> None:
    app = make_app(recent_role_change(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await plan(app, pilot, "F")
        seen = [app.focused.id]
        for _ in range(4):
            await pilot.press("tab")
            seen.append(app.focused.id)
        # checkbox → Cancel → name box → (Run is disabled) → the plan body → checkbox again
        assert seen == ["plan-ack", "plan-cancel", "plan-input", "plan-body", "plan-ack"]


@pytest.mark.asyncio
async def test_enter_on_a_refused_plan_says_why_and_esc_cancels_on_the_record(audit) -> None:
    app = make_app(sc.syncing(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await plan(app, pilot, "F")
        assert app.focused.id == "plan-body"  # nothing to tick, nothing can be typed: the refusal to read
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)  # enter never cancels: the dialog and its decision stay
        assert "enter does nothing here: Refused (1): nothing can run until that is fixed" in app.notes_text()
        assert "the Replication line shows it" in screen_text(app) and "hatui status" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)
        assert "failover: cancelled: nothing was changed" in app.notes_text()
        assert cancel_rows(app) == ["✖ failover cancelled by you"]
    record = [r for r in audit() if r["event"] == "cancelled"]
    assert len(record) == 1 and record[0]["action"] == "failover" and record[0]["via"] == "console"
    assert record[0]["refusals"] == ["syncing"] and record[0]["plan"]["target"] == "vm12"


@pytest.mark.asyncio
async def test_the_cancel_button_cancels_with_what_was_typed_on_record(audit) -> None:
    app = make_app(sc.healthy(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await plan(app, pilot, "F")
        await pilot.press(*"vm1", "shift+tab", "enter")  # back to Cancel, and activate it
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)
        assert cancel_rows(app) == ["✖ failover cancelled by you"]
    record = [r for r in audit() if r["event"] == "cancelled"]
    assert record and record[0]["confirmation"] == "vm1"


@pytest.mark.asyncio
async def test_the_victim_chooser_reads_chosen_and_not_chosen_and_enter_chooses() -> None:
    app = make_app(sc.split_brain(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        screen = await plan(app, pilot, "R", "down", "enter")
        assert app.focused is screen.query_one(ChoiceList)
        assert "( ) vm2 — not chosen" in screen_text(app)
        await pilot.press("down", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert isinstance(app.screen, PlanScreen)
        assert "(•) vm12 — VICTIM: its changes since the split are discarded" in text
        assert "( ) vm2 — survivor: keeps its changes" in text
        assert "type vm12 (the VICTIM, whose changes are discarded) in the name box" in text


@pytest.mark.asyncio
async def test_hints_in_the_console_name_its_keys_not_command_line_flags() -> None:
    app = make_app(sc.split_brain(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await plan(app, pilot, "R", "enter")  # reconnect: refused while the split brain lasts
        text = screen_text(app)
        assert "REFUSED:" in text and "Resolve it first: R → split-brain" in text
        assert "hatui resync" not in text and "--victim" not in text


@pytest.mark.asyncio
async def test_leaving_the_resync_chooser_is_a_cancel_on_record(audit) -> None:
    app = make_app(sc.healthy(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await app.wait_for_poll(1)
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ResyncChooser)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ResyncChooser)
        assert cancel_rows(app) == ["✖ resync cancelled by you"]
        assert "resync: cancelled: nothing was changed" in app.notes_text()
    assert [r["action"] for r in audit() if r["event"] == "cancelled"] == ["resync"]
