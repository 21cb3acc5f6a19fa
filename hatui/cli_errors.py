"""Temporary alias while the lab work lands (removed with it): use hatui.cli.errors."""
from hatui.cli.errors import *  # noqa: F401,F403
