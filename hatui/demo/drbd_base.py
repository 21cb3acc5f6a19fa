"""Temporary alias while the lab work lands (removed with it): use hatui.emulator.drbd_base."""
from hatui.emulator.drbd_base import *  # noqa: F401,F403
