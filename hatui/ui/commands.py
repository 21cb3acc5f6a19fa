"""Command palette (ctrl+p): every console command by name, from the app's own bindings.

Actions added later (failover, resync …) appear here automatically; in
read-only mode the ones that change the cluster do not.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ConsoleCommands(Provider):
    """Lists :meth:`HatuiApp.console_commands`."""

    def _commands(self) -> list[tuple[str, str, str]]:
        app = self.app
        return app.console_commands() if hasattr(app, "console_commands") else []

    async def discover(self) -> Hits:
        for key, action, description in self._commands():
            yield DiscoveryHit(description, partial(self.app.run_action, action), help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for key, action, description in self._commands():
            score = matcher.match(description)
            if score > 0:
                yield Hit(score, matcher.highlight(description), partial(self.app.run_action, action),
                          help=f"key: {key}")
