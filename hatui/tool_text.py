"""Temporary alias while the lab work lands (removed with it): use hatui.emulator.tool_text."""
from hatui.emulator.tool_text import *  # noqa: F401,F403
