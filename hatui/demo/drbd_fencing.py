"""Temporary alias while the lab work lands (removed with it): use hatui.emulator.drbd_fencing."""
from hatui.emulator.drbd_fencing import *  # noqa: F401,F403
