"""The README's console section matches the console: its keys table and its text captures."""

from __future__ import annotations

import dataclasses
import re

import pytest

from hatui.ui.plan_screen import PlanScreen
from tests.functional import scenarios as sc
from tests.functional.conftest import make_app, screen_text
from tests.functional.test_snapshots import SCENES
from tests import REPO

README = REPO / "README.md"
# Keys the console keeps for navigation and dialogs (hatui.config.FIXED_KEYS), as the table writes them.
FIXED = {"↑↓", "j k", "←→", "h", "tab", "shift+tab", "enter", "space", "esc", "ctrl+p"}


def console_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## The console\n"):text.index("## Configuration\n")]


def keys_table() -> dict[str, str]:
    rows = {}
    for line in console_section().splitlines():
        m = re.match(r"^\| (`.+?`(?: / `.+?`)*) \| (.+) \|$", line)
        if m:
            for key in re.findall(r"`([^`]+)`", m.group(1)):
                rows[key] = m.group(2)
    return rows


def capture(name: str) -> str:
    section = console_section()
    start = section.index(f"<!-- capture: {name} ")
    block = section[start:].split("```text\n", 1)[1]
    return block.split("\n```", 1)[0]


def stripped(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


@pytest.mark.asyncio
async def test_the_keys_table_lists_every_console_key_and_no_other() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=(80, 24)):
        commands = app.console_commands()
    table = keys_table()
    for key, _action, description in commands:
        assert key in table, f"{key} ({description}) is not in the README's keys table"
    assert set(table) - {k for k, _, _ in commands} <= FIXED, set(table) - {k for k, _, _ in commands}
    assert "z" in table and table["z"].startswith("zoom") and table["c"].startswith("copy")


@pytest.mark.asyncio
async def test_the_80x24_capture_is_what_the_console_shows() -> None:
    snapshots = SCENES["node_down"]()
    app = make_app(*snapshots)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_for_poll(1)
        for n in range(2, len(snapshots) + 1):
            await pilot.press("r")
            await app.wait_for_poll(n)
        await pilot.pause()
        await pilot.pause()
        assert stripped(screen_text(app)) == capture("node_down 80x24")


@pytest.mark.asyncio
async def test_the_plan_capture_is_what_the_console_shows(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    snap = sc.healthy()
    nodes = tuple(dataclasses.replace(n, vrrp=dataclasses.replace(n.vrrp, last_transition=sc.T0 - 30))
                  for n in snap.nodes)
    app = make_app(dataclasses.replace(snap, nodes=nodes))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_for_poll(1)
        await pilot.press("F")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, PlanScreen):
                break
        await pilot.pause()
        assert stripped(screen_text(app)) == capture("plan_recent 80x24")
