"""The console's commands and their keys: one table for the bindings, the footer, `?` and the palette.

Keys come from :data:`hatui.config.DEFAULT_KEYS`, overridden by the config's
``[keys]`` table (validated there: clashes are config errors, so ``hatui config
check`` and the console refuse the same files). A command that would change
the cluster stays bound in ``--read-only`` but hidden, so its key still
answers: a notification says why it is off.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.binding import Binding

from hatui.config import Config, key_display


@dataclass(frozen=True)
class Command:
    """One console command: its ``[keys]`` name, Textual action and the words shown for it."""

    id: str
    action: str
    description: str
    footer: bool = True  # shown in the footer (all are in `?` and the palette)
    mutating: bool = False  # changes the cluster: hidden (and refused) with --read-only


COMMANDS: tuple[Command, ...] = (
    Command("help", "help", "Help"),
    Command("quit", "quit", "Quit"),
    Command("refresh", "refresh", "Refresh"),
    Command("failover", "failover", "Failover", mutating=True),
    Command("failback", "failback", "Failback", mutating=True),
    Command("resync", "resync", "Resync", mutating=True),
    Command("zoom", "zoom", "Zoom"),
    Command("copy", "copy", "Copy command", footer=False),
    Command("filter", "filter", "Filter events", footer=False),
    Command("theme", "cycle_theme", "Theme", footer=False),
    Command("findings", "show_panel('findings')", "Findings pane", footer=False),
    Command("events", "show_panel('events')", "Events pane", footer=False),
    Command("timing", "show_panel('timing')", "Timing pane", footer=False),
)
BY_ID = {c.id: c for c in COMMANDS}
MUTATING_ACTIONS = frozenset(c.action for c in COMMANDS if c.mutating)


def display(config: Config, command: str) -> str:
    """The key(s) of a command as the operator types them: "?", "F", "ctrl+f/f5"."""
    return "/".join(key_display(k) for k in config.key_for(command).split(","))


def bindings(config: Config, *, read_only: bool) -> list[Binding]:
    """The app's bindings, with the configured keys."""
    out = []
    for c in COMMANDS:
        shown = c.footer and not (read_only and c.mutating)
        out.append(Binding(config.key_for(c.id), c.action, c.description, show=shown,
                           key_display=display(config, c.id), id=c.id))
    return out


def bind_all(app: App, config: Config, *, read_only: bool) -> None:
    """Bind every command's configured keys on ``app`` (the footer shows a command's first key)."""
    for binding in bindings(config, read_only=read_only):
        for index, key in enumerate(binding.key.split(",")):
            app.bind(key, binding.action, description=binding.description, show=binding.show and index == 0,
                     key_display=key_display(key))
