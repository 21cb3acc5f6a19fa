"""ASCII mode, keys from the config, and a palette with hatui's commands and themes only (keyboard only)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from textual.command import CommandPalette

from hatui.config import Config
from hatui.ui import themes
from hatui.ui.ascii import locale_is_utf8, to_ascii
from hatui.ui.help_screen import HelpScreen
from hatui.ui.plan_screen import PlanScreen
from tests import builders as b
from tests.functional import scenarios as sc
from tests.functional.conftest import NotedApp, make_app, screen_text

SMALL = (80, 24)
WIDE = (160, 48)


def non_ascii(text: str) -> set[str]:
    return {c for c in text if not c.isascii()}


async def shown(app, pilot, polls: int = 1) -> str:
    await app.wait_for_poll(1)
    for n in range(2, polls + 1):
        await pilot.press("r")
        await app.wait_for_poll(n)
    await pilot.pause()
    return screen_text(app)


@pytest.mark.asyncio
async def test_ascii_mode_puts_nothing_but_ascii_on_the_terminal(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    app = make_app(sc.healthy(), sc.syncing(30.0, 30720.0), sc.syncing(42.5, 40960.0), ascii=True)
    async with app.run_test(size=SMALL) as pilot:
        text = await shown(app, pilot, 3)
        assert not non_ascii(text), non_ascii(text)
        assert "+- vm2 * ACTIVE" in text and "o standby" in text and "! WARNING" in text
        assert "[########............] 42.5%" in text  # the sync bar in characters, not colour
        assert text.splitlines()[-1].startswith("enter Details")
        for keys, screen in ((("question_mark",), HelpScreen), (("escape", "F"), PlanScreen)):
            await pilot.press(*keys)
            for _ in range(50):
                await pilot.pause(0.02)
                if isinstance(app.screen, screen):
                    break
            await pilot.pause()
            text = screen_text(app)
            assert isinstance(app.screen, screen) and not non_ascii(text), (screen, non_ascii(text))


def test_ascii_keeps_every_width() -> None:
    for text in ("╭─ vm2 ★ ACTIVE ─╮", "✔ OK ▲ WARNING ✖ CRITICAL", "⌛ STALE", "(•) vm12 → ≤ T+10 s", "日本"):
        out = to_ascii(text)
        assert out.isascii() and len(out) == sum(2 if c in "⌛日本" else 1 for c in text), (text, out)


@pytest.mark.parametrize(
    "env,utf8",
    [({"LANG": "C.UTF-8"}, True), ({"LANG": "en_US.utf8"}, True), ({"LANG": "C"}, False), ({}, False),
     ({"LANG": "en_US.UTF-8", "LC_ALL": "POSIX"}, False), ({"LANG": "C", "LC_CTYPE": "de_DE.UTF-8"}, True)],
)
def test_the_locale_decides_ascii_mode(env: dict[str, str], utf8: bool) -> None:
    assert locale_is_utf8(env) is utf8


@pytest.mark.parametrize("args,env,ascii_mode", [([], "C.UTF-8", False), ([], "C", True), (["--ascii"], "C.UTF-8", True)])
def test_the_command_line_opens_the_console_in_ascii_mode(args, env, ascii_mode, tmp_path, monkeypatch) -> None:
    from hatui import cli
    import hatui.ui.app

    seen = {}
    monkeypatch.setattr(hatui.ui.app, "run_console", lambda config, **kw: seen.update(kw))
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_CTYPE", raising=False)
    monkeypatch.setenv("LANG", env)
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE)
    result = CliRunner().invoke(cli.main, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    assert seen["ascii"] is ascii_mode


def keyed(**keys: str) -> Config:
    return Config.model_validate({**b.config().model_dump(), "keys": keys})


@pytest.mark.asyncio
async def test_keys_from_the_config_drive_footer_help_and_actions() -> None:
    app = make_app(sc.healthy(), sc.crashed_before_failover(), sc.node_down(), app_class=NotedApp,
                   config=keyed(zoom="Z", copy="y", refresh="f5,r"))
    async with app.run_test(size=SMALL) as pilot:
        text = await shown(app, pilot)
        assert "Z Zoom" in text.splitlines()[-1] and "f5 Refresh" in text.splitlines()[-1]
        await pilot.press("f5")
        await app.wait_for_poll(2)
        await pilot.press("r")  # a second key for the same command
        await app.wait_for_poll(3)
        await pilot.pause()
        assert "↑↓ select · y copies the command" in screen_text(app)
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None and "'z' is not a key here" in app.notes_text()
        await pilot.press("Z")
        await pilot.pause()
        assert app.screen.maximized is not None
        await pilot.press("Z", "y")
        await pilot.pause()
        assert app.clipboard.startswith("vm12 serves.")
        await pilot.press("question_mark")
        await pilot.pause()
        assert "f5/r  Refresh" in screen_text(app) and "Z     Zoom" in screen_text(app)


@pytest.mark.asyncio
async def test_the_palette_has_hatuis_commands_once_and_hatuis_themes_only() -> None:
    app = make_app(sc.healthy())
    async with app.run_test(size=WIDE) as pilot:
        await shown(app, pilot)
        assert set(app.available_themes) == set(app.theme_names) and all(
            n.startswith("hatui-") for n in app.theme_names)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        assert isinstance(app.screen, CommandPalette)
        text = "\n".join(screen_text(app).splitlines()[:-1])  # the palette, not the footer under it
        assert text.count("Quit") == 1 and text.count("Help") == 1
        assert "Keys" not in text and "Screenshot" not in text and "textual" not in text
        await pilot.press(*"theme: hatui-light")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "Theme: hatui-light" in text and "textual" not in text
        await pilot.press("enter")
        await pilot.pause()
    assert app.theme == "hatui-light"


@pytest.mark.asyncio
async def test_the_operators_own_theme_is_offered(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = themes.user_themes_dir()
    folder.mkdir(parents=True)
    (folder / "night.toml").write_text('name = "night"\nprimary = "#3355aa"\ndark = true\n')
    app = make_app(sc.healthy(), theme="night")
    async with app.run_test(size=SMALL) as pilot:
        await shown(app, pilot)
        assert app.theme == "night" and "night" in app.theme_names
        await pilot.press("t")
        assert app.theme in app.theme_names and app.theme != "night"


EXAMPLE = __import__("importlib.resources").resources.files("hatui").joinpath("config_example.toml").read_text()
