"""Console themes: TOML files in ``themes/`` → :class:`textual.theme.Theme`.

A theme file holds the fields of ``Theme`` (``name``, ``primary``, ``success``
…) and an optional ``[variables]`` table. The directory sits next to the
package (``<repo>/themes``); ``$HATUI_THEMES_DIR`` overrides it. The operator's
own themes go in ``~/.config/hatui/themes/`` (the config file's folder). If a
folder is missing or a file is broken, the console still starts on a built-in
theme. These are the console's only themes: Textual's own are not offered.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

from textual.app import App
from textual.theme import Theme

import hatui
from hatui import paths
from hatui.errors import ConfigError

DEFAULT_THEME = "hatui-dark"
# Used only when themes/ cannot be found, so the console always has its two themes.
_BUILTIN = {
    "hatui-dark": Theme(
        name="hatui-dark", primary="#4f8fd0", secondary="#b48ead", accent="#5fd7d7", success="#6cc070",
        warning="#e5c07b", error="#ff5f5f", foreground="#d8dee9", background="#15181d", surface="#1c2027",
        panel="#252a33", dark=True,
    ),
    "hatui-high-contrast": Theme(
        name="hatui-high-contrast", primary="#56b4e9", secondary="#cc79a7", accent="#ffffff",
        success="#56b4e9", warning="#f0e442", error="#e69f00", foreground="#ffffff", background="#000000",
        surface="#0a0a0a", panel="#1a1a1a", dark=True,
    ),
}
_FIELDS = {f.name for f in dataclasses.fields(Theme)}


def themes_dir() -> Path:
    """Where theme files live: ``$HATUI_THEMES_DIR`` or ``<repo>/themes``."""
    override = os.environ.get("HATUI_THEMES_DIR")
    if override:
        return Path(override)
    return Path(hatui.__file__).resolve().parents[1] / "themes"


def user_themes_dir() -> Path:
    """The operator's own theme files: ``themes/`` beside the default config file."""
    return paths.default_config_file().parent / "themes"


def theme_from_toml(text: str, source: str) -> Theme:
    """One theme file → Theme; :class:`ConfigError` names the file and the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ConfigError(f"{source}: unknown theme keys {', '.join(unknown)}")
    if "name" not in data or "primary" not in data:
        raise ConfigError(f"{source}: a theme needs at least `name` and `primary`")
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_themes(folder: Path | None = None) -> tuple[dict[str, Theme], list[str]]:
    """All themes (built-ins overridden by files: the shipped ones, then the operator's); second
    item: one line per broken file. ``folder`` replaces both folders (tests)."""
    themes = dict(_BUILTIN)
    problems: list[str] = []
    folders = [themes_dir(), user_themes_dir()] if folder is None else [folder]
    for path in (p for f in folders if f.is_dir() for p in sorted(f.glob("*.toml"))):
        try:
            theme = theme_from_toml(path.read_text(encoding="utf-8"), str(path))
        except (ConfigError, OSError) as exc:
            problems.append(str(exc))
            continue
        themes[theme.name] = theme
    return themes, problems


def resolve_theme(requested: str | None, available: dict[str, Theme]) -> str:
    """``--theme`` / config ``theme`` → a registered name, or a clear error."""
    name = requested or DEFAULT_THEME
    if name not in available:
        raise ConfigError(f"theme {name!r} is not one of hatui's themes (available: {', '.join(sorted(available))}; "
                          f"add your own as TOML in {user_themes_dir()})")
    return name


def install(app: App, requested: str | None, folder: Path | None = None) -> tuple[list[str], list[str]]:
    """Register hatui's themes on ``app`` (only them: Textual's built-in ones go) and select ``requested``;
    returns the theme names and one line per broken theme file."""
    available, problems = load_themes(folder)
    for item in available.values():
        app.register_theme(item)
    app.theme = resolve_theme(requested, available)
    for name in list(app.available_themes):
        if name not in available:
            app.unregister_theme(name)
    return sorted(available), problems
