"""Temporary alias while the lab work lands (removed with it): use hatui.snapshot.poller."""
from hatui.snapshot.poller import *  # noqa: F401,F403
