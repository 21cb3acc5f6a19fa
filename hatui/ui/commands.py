"""Command palette (ctrl+p): hatui's commands once each, and hatui's themes.

The app's palette has only this provider (no Textual system commands, so no
second Quit or theme picker with Textual's own themes). Commands come from
:meth:`HatuiApp.console_commands` (the key table, so a key changed in
``[keys]`` shows here too); in read-only mode the ones that change the cluster
do not appear. Themes are the ones the console loaded: ``themes/`` and the
operator's own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@runtime_checkable
class Console(Protocol):
    """What the palette lists: the app's commands and its themes."""

    theme_names: list[str]

    def console_commands(self) -> list[tuple[str, str, str]]: ...


class ConsoleCommands(Provider):
    """Lists :meth:`HatuiApp.console_commands`, then ``Theme: NAME`` for each theme."""

    def _entries(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        out: list[tuple[str, Callable[[], object], str]] = []
        if not isinstance(app, Console):
            return out
        for key, action, description in app.console_commands():
            out.append((description, partial(app.run_action, action), f"key: {key}"))
        for name in app.theme_names:
            out.append((f"Theme: {name}", partial(setattr, app, "theme", name), "current theme" if name == app.theme
                        else "switch to this theme"))
        return out

    async def discover(self) -> Hits:
        for text, run, help_text in self._entries():
            yield DiscoveryHit(text, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, run, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=help_text)
