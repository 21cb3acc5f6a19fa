"""Layout and copying, keyboard only: panes sized to their content, a zoom key, 80×24 complete,
operator words with the raw state in the details, pretty raw output, and the copy key."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hatui.probes import catalog
from hatui.probes.script import Section
from hatui.ui.detail_screen import DetailScreen
from hatui.ui.event_log import EventLog
from hatui.ui.findings import FindingsPanel
from hatui.ui.main_screen import MainScreen
from hatui.ui.node_stack import NodeStack
from hatui.ui.timing_log import TimingLog
from tests.functional import scenarios as sc
from tests.functional.conftest import NotedApp, make_app, screen_text

WIDE = (160, 48)
SMALL = (80, 24)


async def shown(app, pilot, polls: int = 1) -> str:
    await app.wait_for_poll(1)
    for n in range(2, polls + 1):
        await pilot.press("r")
        await app.wait_for_poll(n)
    await pilot.pause()
    await pilot.pause()
    return screen_text(app)


def pane(app, kind):
    return app.screen.query_one(kind)


@pytest.mark.asyncio
async def test_findings_take_the_room_their_findings_need() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down())
    async with app.run_test(size=WIDE) as pilot:
        await shown(app, pilot)
        assert pane(app, FindingsPanel).outer_size.height == 3  # "✔ No findings" and its border
        await shown(app, pilot, 3)
        findings = pane(app, FindingsPanel).outer_size.height
        assert 6 < findings <= 48 // 2  # grows with its findings, never past half the room
        assert pane(app, EventLog).outer_size.height > 10  # what is left goes to the logs


@pytest.mark.asyncio
async def test_the_timing_pane_gets_the_width_its_columns_need() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down())
    async with app.run_test(size=WIDE) as pilot:
        text = await shown(app, pilot, 3)
        timing, events = pane(app, TimingLog).outer_size.width, pane(app, EventLog).outer_size.width
        assert timing > 80 and events >= 160 // 4 and timing + events == 160
        assert "failover expected" in text  # the note column is on screen
        assert "vm2 is unreachable: connection" in text  # a long note wraps in its row


@pytest.mark.asyncio
async def test_z_shows_the_focused_pane_full_screen_and_back() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down())
    async with app.run_test(size=SMALL) as pilot:
        await shown(app, pilot, 3)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        for key, kind in (("l", TimingLog), ("e", EventLog), ("f", FindingsPanel)):
            await pilot.press(key, "z")
            await pilot.pause()
            assert isinstance(screen.maximized, kind), key
            assert pane(app, kind).outer_size.width == 80 and pane(app, kind).outer_size.height >= 20
            await pilot.press("z")
            await pilot.pause()
            assert screen.maximized is None
        await pilot.press("escape", "z")  # the stacks too; esc also comes back
        await pilot.pause()
        assert isinstance(screen.maximized, NodeStack)
        await pilot.press("escape")
        await pilot.pause()
        assert screen.maximized is None


@pytest.mark.asyncio
async def test_80x24_with_findings_shows_every_pane_and_every_command_key() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down())
    async with app.run_test(size=SMALL) as pilot:
        text = await shown(app, pilot, 3)
        stacks = "\n".join(text.splitlines()[2:11])
        for label in ("Virtual IP", "Keepalived", "NFS server", "DAG proc.", "Filesystem", "DRBD", "Phys. disk"):
            assert stacks.count(label) == 2, label
        assert "Findings (3)" in text and "▶ ✖ CRITICAL [vm2 Node] vm2 is unreachable" in text
        assert "Events" in text and "l timing · z zoom" in text
        footer = text.splitlines()[-1]
        for key in ("⏎ Details", "? Help", "q Quit", "r Refresh", "F Failover", "B Failback", "R Resync", "z Zoom"):
            assert key in footer, key
        focused = []
        for _ in range(5):  # Tab reaches the panes as well as the stacks
            await pilot.press("tab")
            focused.append(app.focused)
        assert pane(app, FindingsPanel) in focused
        assert any(w is not None and pane(app, EventLog) in w.ancestors for w in focused)
        await pilot.press("l")
        await pilot.pause()
        assert "Timing" in screen_text(app) and "e events · z zoom" in screen_text(app)


@pytest.mark.asyncio
async def test_the_standby_reads_stopped_standby_and_its_details_give_systemds_words() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=WIDE) as pilot:
        text = await shown(app, pilot)
        assert text.count("✔ stopped (standby)  inactive (dead)") == 2  # NFS and DAG processor on vm12
        assert "✔ standby  not held here; vm2 holds it" in text
        await pilot.press("right", "down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        text = screen_text(app)
        assert "vm12 · NFS server" in text and "state   ✔ stopped (standby)  inactive (dead)" in text
        assert "── units exit 0 ──" in text  # and the raw output it was read from


def _with_minified_ip_json(snap):
    node = snap.nodes[0]
    doc = [{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.168.83.200", "prefixlen": 24,
                                             "label": "eth0", "note": "x" * 150}]}]
    sections = {**node.sections, catalog.IP: Section(catalog.IP, 0, json.dumps(doc, separators=(",", ":")))}
    return dataclasses.replace(snap, nodes=(dataclasses.replace(node, sections=sections), snap.nodes[1]))


@pytest.mark.asyncio
async def test_raw_json_is_indented_wrapped_and_copied() -> None:
    app = make_app(_with_minified_ip_json(sc.healthy()), app_class=NotedApp)
    async with app.run_test(size=SMALL) as pilot:
        await shown(app, pilot)
        await pilot.press("enter")  # the Virtual IP layer of vm2
        await pilot.pause()
        text = screen_text(app)
        assert "esc back · c copy raw" in text
        assert '"ifname": "eth0",' in text and '    "addr_info": [' in text  # one key per line, indented
        assert "x" * 60 in text and "x" * 150 not in text  # the long line wraps inside the screen
        await pilot.press("c")
        await pilot.pause()
    assert app.clipboard.startswith("── ip exit 0\n[\n  {\n    \"ifname\": \"eth0\",")
    assert "copied the raw output" in app.notes_text()


@pytest.mark.asyncio
async def test_c_copies_the_selected_findings_command_and_the_finding_says_so() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down(), app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        text = await shown(app, pilot, 3)
        assert "↑↓ select · c copies the command" in text
        assert "[c] copy hint" in text  # the root's hint has no command in backticks: the hint is copied
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard.startswith("vm12 serves. Bring vm2 back")
        await pilot.press("f", "down")  # the next finding in the tree: vm12's data-loss window
        await pilot.pause()
        text = screen_text(app)
        assert "▶ ✖ CRITICAL [vm12 Replication] DATA-LOSS WINDOW" in text
        assert "[c] copy command" in text and text.count("[c] copy") == 1
        await pilot.press("c")
        await pilot.pause()
    assert app.clipboard == "drbdadm outdate r0"
    assert "copied data-loss-window's command: drbdadm outdate r0" in app.notes_text()
    assert "└ ▶ ✖ CRITICAL [vm12 Replication]" in text  # the tree is kept: consequences under their root
    assert "└ ▲ WARNING [vm12 Replication]" in text


@pytest.mark.asyncio
async def test_the_selection_stays_on_its_finding_while_its_message_changes() -> None:
    later = sc.node_down(sc.T0 + 20)  # "(for 18s)" instead of "(for 10s)": the same findings
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down(), later, app_class=NotedApp)
    async with app.run_test(size=WIDE) as pilot:
        await shown(app, pilot, 3)
        await pilot.press("f", "down", "c")
        await shown(app, pilot, 4)
        assert "▶ ✖ CRITICAL [vm12 Replication] DATA-LOSS WINDOW" in screen_text(app)
        await pilot.press("f", "up", "c")
        await pilot.pause()
    assert "copied data-loss-window's command" in app.notes_text()
    assert app.notes_text().splitlines()[-2] == "copied node-unreachable's hint: vm12 serves. Bring vm2 back (power, console): it rejoins as Secondary…"
