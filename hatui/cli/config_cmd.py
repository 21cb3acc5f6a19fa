"""`hatui config example` and `hatui config check`."""

from __future__ import annotations

import importlib.resources

import click

from hatui.config import load_config, resolve_config_path

from hatui.cli.errors import one_line_errors


@click.group()
def config() -> None:
    """Show or check the configuration."""


@config.command("example")
def config_example() -> None:
    """Print a commented example configuration."""
    click.echo(importlib.resources.files("hatui").joinpath("config_example.toml").read_text(), nl=False)


@config.command("check")
@click.pass_obj
@one_line_errors
def config_check(opts: dict) -> None:
    """Validate the configuration and explain each error with the key that is wrong.

    Checks what the console checks when it starts: every setting, the theme
    (config or --theme) among the console's themes, and the [keys] table."""
    path = resolve_config_path(opts["config_path"])
    cfg = load_config(path)
    theme, notes = _check_theme(opts.get("theme") or cfg.theme)
    names = " and ".join(cfg.node_names)
    keys = f"keys changed: {', '.join(f'{c}={k}' for c, k in cfg.keys.items())}" if cfg.keys else "default keys"
    click.echo(f"{path}: OK: cluster {cfg.cluster.name}, nodes {names}, VIP {cfg.vip.address}, "
               f"DRBD {', '.join(d.resource for d in cfg.drbd)}, theme {theme}, {keys}")
    for note in notes:
        click.echo(f"note: {note} (the console ignores that file)")


def _check_theme(name: str | None) -> tuple[str, list[str]]:
    """The theme the console would use (ConfigError if it would refuse), and theme files it would skip."""
    try:
        from hatui.ui.themes import load_themes, resolve_theme
    except ImportError:  # no Textual: no console to refuse it
        return name or "hatui-dark", []
    available, problems = load_themes()
    return resolve_theme(name, available), problems
