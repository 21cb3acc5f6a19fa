"""``hatui demo --headless``: run the simulated pair in the foreground.

Prints one ready line (so scripts and the lab can wait for it), then serves
until SIGINT/SIGTERM. The click command is wired by the CLI module.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from hatui.demo.server import DemoPair


async def _serve(write_config: Path, state_dir: Path, time_scale: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with await DemoPair.start(write_config, state_dir=state_dir, time_scale=time_scale) as pair:
        vm_a, vm_b = pair.sim.names
        print(
            f"hatui demo ready: config={pair.config_path} "
            f"{vm_a}=127.0.0.1:{pair.ports[0]} {vm_b}=127.0.0.1:{pair.ports[1]}",
            flush=True,
        )
        await stop.wait()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)


def run_headless(write_config: Path, state_dir: Path, time_scale: float) -> int:
    """Serve the demo pair until SIGINT/SIGTERM; returns the process exit code (0)."""
    try:
        asyncio.run(_serve(Path(write_config), Path(state_dir), time_scale))
    except OSError as exc:  # e.g. cannot write the config or listen
        print(f"hatui demo: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
