"""The console's copy command: the selected finding's command (main screen) or a layer's raw output
(details) to the terminal's clipboard, through OSC 52 (works over SSH, no X needed)."""

from __future__ import annotations

from textual.app import App

from hatui.ui.detail_screen import DetailScreen
from hatui.ui.main_screen import MainScreen


def copy_selection(app: App) -> None:
    screen = app.screen
    payload = screen.copy_payload() if isinstance(screen, (DetailScreen, MainScreen)) else None
    if payload is None:
        app.notify("nothing to copy: no finding" if isinstance(screen, MainScreen) else "nothing to copy here",
                   title="copy", timeout=3)
        return
    text, what = payload
    app.copy_to_clipboard(text)
    shown = text if len(text) <= 70 else text[:69] + "…"
    app.notify(f"{shown}\n(sent to your terminal's clipboard: OSC 52)", title=f"copied {what}", timeout=5)
