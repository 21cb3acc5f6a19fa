"""Temporary alias while the lab work lands (removed with it): use hatui.emulator.drbd_sync."""
from hatui.emulator.drbd_sync import *  # noqa: F401,F403
