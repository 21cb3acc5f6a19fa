"""Temporary alias while the lab work lands (removed with it): use hatui.emulator.drbd_machine."""
from hatui.emulator.drbd_machine import *  # noqa: F401,F403
