"""The console on scripted snapshots: a change in the model is on screen after one poll."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from textual.command import CommandPalette

from hatui.probes import catalog
from hatui.probes.script import Section
from hatui.ui.app import HatuiApp
from hatui.ui.detail_screen import DetailScreen
from hatui.ui.help_screen import HelpScreen
from tests.functional import scenarios as sc
from tests.functional.conftest import make_app, screen_text, settled

WIDE = (160, 48)
SMALL = (80, 24)


async def poll(app: HatuiApp, pilot, count: int) -> str:
    """Press `r` (refresh now), wait until poll number ``count`` is shown; return the screen text."""
    await pilot.press("r")
    await app.wait_for_poll(count)
    await settled(app, pilot)
    return screen_text(app)


async def started(app: HatuiApp, pilot) -> str:
    await app.wait_for_poll(1)
    await settled(app, pilot)
    return screen_text(app)


@pytest.mark.asyncio
async def test_healthy_pair_at_80x24_shows_every_layer_of_both_nodes() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        text = await started(app, pilot)
    for label in ("Virtual IP", "Keepalived", "NFS server", "DAG proc.", "Filesystem", "DRBD", "Phys. disk"):
        assert text.count(label) == 2, label
    assert "vm2 ★ ACTIVE" in text and "vm12 ☆ standby" in text
    assert "✔ OK" in text and "VIP 192.168.83.200 → vm2 ★" in text
    assert "polled 1s ago · 20 ms" in text
    assert "⇄ Replication r0  ✔ Connected" in text
    assert "? Help" in text.splitlines()[-1]  # the footer fits


@pytest.mark.asyncio
async def test_crash_shows_unreachable_and_no_old_data() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover())
    async with app.run_test(size=WIDE) as pilot:
        before = await started(app, pilot)
        assert "MASTER" in before
        text = await poll(app, pilot, 2)
    assert "vm2 ✖ UNREACHABLE last seen 3s ago" in text
    assert "connection refused" in text
    assert "MASTER" not in text  # vm2's old keepalived state is not shown as current
    assert "vm2 node: reachable → UNREACHABLE" in text  # event log
    assert "active node unreachable" in text  # timing log: T+0 of a failover


@pytest.mark.asyncio
async def test_failover_is_visible_in_timing_log() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await poll(app, pilot, 2)
        text = await poll(app, pilot, 3)
    assert "VIP 192.168.83.200 → vm12 ★" in text
    assert "vm12 ★ ACTIVE" in text
    assert "VIP → vm12" in text and "DRBD Primary → vm12" in text
    assert "10.0 s" in text and "≤ T+15 s" in text and "✔ under" in text
    assert "── active role moved" in text  # one story, its header, T+0 = the loss of the active node


@pytest.mark.asyncio
async def test_link_cut_shows_on_the_replication_link() -> None:
    app = make_app(sc.healthy(), sc.link_cut())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        text = await poll(app, pilot, 2)
    assert "⇄ Replication r0  ▲ Connecting  to vm" in text or "▲ Connecting" in text


@pytest.mark.asyncio
async def test_sync_start_shows_direction_progress_eta_and_speed() -> None:
    app = make_app(sc.healthy(), sc.syncing(30.0, 30720.0), sc.syncing(42.5, 40960.0))
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        assert "→ vm12" not in screen_text(app)
        await poll(app, pilot, 2)
        text = await poll(app, pilot, 3)
    assert "vm2 → vm12" in text
    assert "42%" in text
    assert "ETA 0:29" in text
    assert "40.0 MiB/s" in text
    assert app.speeds.samples["r0"] and list(app.speeds.samples["r0"]) == [30720.0, 40960.0]


@pytest.mark.asyncio
async def test_vip_move_changes_the_active_node() -> None:
    app = make_app(sc.healthy(), sc.vip_moved())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        text = await poll(app, pilot, 2)
    assert "VIP 192.168.83.200 → vm12 ★" in text
    assert "vm12 ★ ACTIVE" in text and "vm2 ☆ standby" in text


@pytest.mark.asyncio
async def test_service_stop_shows_in_stack_and_findings() -> None:
    app = make_app(sc.healthy(), sc.nfs_stopped())
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        text = await poll(app, pilot, 2)
    assert "✖ inactive" in text
    assert "NFS server is down on active node vm2" in text
    assert "✖ CRITICAL" in text
    assert "vm2 NFS server: active → inactive" in text


@pytest.mark.asyncio
async def test_node_without_fresh_data_is_shown_stale() -> None:
    app = make_app(sc.healthy(), clock_at=sc.T0 + 3600 * 10)
    async with app.run_test(size=SMALL) as pilot:
        text = await started(app, pilot)
    assert "⌛ STALE" in text
    assert "★ ACTIVE" not in text  # nobody is presented as active on old data


@pytest.mark.asyncio
async def test_help_opens_and_lists_every_key() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for word in ("Help", "Quit", "Refresh", "Filter events", "Theme", "ctrl+p", "enter", "esc"):
            assert word in text, word
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.asyncio
async def test_palette_lists_console_commands() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"refresh")
        await pilot.pause(0.3)
        assert "Refresh" in screen_text(app)
        await pilot.press("enter")
        await app.wait_for_poll(2)


def _with_raw_drbd(snap):
    node = snap.nodes[0]
    sections = dict(node.sections)
    sections[catalog.DRBD] = Section(catalog.DRBD, 0, "r0 role:Primary\n  disk:UpToDate\n  vm12 role:Secondary [peer]\n")
    return dataclasses.replace(snap, nodes=(dataclasses.replace(node, sections=sections), snap.nodes[1]))


@pytest.mark.asyncio
async def test_enter_on_a_layer_shows_its_raw_output() -> None:
    app = make_app(_with_raw_drbd(sc.healthy()))
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("down", "down", "down", "down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        text = screen_text(app)
        assert "vm2 · DRBD" in text
        assert "── drbd exit 0 ──" in text
        assert "vm12 role:Secondary [peer]" in text  # raw text, never read as markup
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)


@pytest.mark.asyncio
async def test_right_arrow_selects_the_other_node() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("right", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert "vm12 · Keepalived" in screen_text(app)


@pytest.mark.asyncio
async def test_slash_filters_the_event_log() -> None:
    app = make_app(sc.healthy(), sc.nfs_stopped(), sc.link_cut(sc.T0 + 4))
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await poll(app, pilot, 2)
        await poll(app, pilot, 3)
        await pilot.press("slash", *"nfs")
        await pilot.pause()
        text = screen_text(app)
        assert "NFS server: active → inactive" in text
        assert "Connecting" not in text.split("Events")[1]
        assert "filter: nfs" in text
        await pilot.press("escape")
        await pilot.pause()
        text = screen_text(app)
        assert "filter: nfs" not in text
        assert "Replication: Connected → Connecting" in text


@pytest.mark.asyncio
async def test_narrow_panes_switch_with_keys() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        text = await started(app, pilot)
        assert "Findings" in text and "Timing" not in text
        await pilot.press("l")
        await pilot.pause()
        text = screen_text(app)
        assert "Timing" in text and "active at start" in text


@pytest.mark.asyncio
async def test_theme_cycles_through_the_theme_files() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        assert app.theme == "hatui-dark"
        assert {"hatui-dark", "hatui-high-contrast"} <= set(app.theme_names)
        await pilot.press("t")
        assert app.theme != "hatui-dark" and app.theme in app.theme_names


class FailingPoller:
    async def poll(self):
        raise RuntimeError("boom")

    async def close(self) -> None:
        pass


class HangingPoller:
    async def poll(self):
        await asyncio.sleep(3600)

    async def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_poll_failure_is_shown_and_console_keeps_running() -> None:
    from tests import builders as b

    app = HatuiApp(b.config(), poller=FailingPoller(), poll_interval=3600)
    async with app.run_test(size=SMALL) as pilot:
        await app.wait_for_poll(1)
        await pilot.pause()
        assert "poll failed: RuntimeError: boom" in screen_text(app)


@pytest.mark.asyncio
async def test_ui_answers_keys_while_a_poll_hangs() -> None:
    from tests import builders as b

    app = HatuiApp(b.config(), poller=HangingPoller(), poll_interval=3600)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert "first poll in progress" in screen_text(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
