"""``hatui demo --pairs N``: N simulated pairs in one process, described by one fleet folder.

Each pair is a full :class:`~hatui.demo.server.DemoPair` (two asyncssh servers on
127.0.0.1, its own simulator, keys and known_hosts), so faults are per pair and hatui
talks to each exactly as to a real pair. The fleet is written the way an operator would
write one (see :mod:`hatui.fleet`): a folder with one pair file per pair, ``demo-1.toml``
… ``demo-N.toml``, each naming its pair ``demo-I``. ``hatui --config FOLDER status --all``,
``hatui --config FOLDER serve`` and ``hatui --config FOLDER demo fault --pair demo-2 crash vm2``
then work on it like on any fleet.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import threading
from pathlib import Path

from hatui import paths
from hatui.config import parse_config
from hatui.demo.server import DemoPair

_OURS = re.compile(r"^demo-\d+\.toml$")


def pair_name(index: int) -> str:
    return f"demo-{index}"


def pair_text(pair: DemoPair, name: str, poll_interval: float | None) -> str:
    """The demo's pair config with its own cluster name (and poll interval), checked by the real parser."""
    text = pair.config_text().replace('\nname = "demo"\n', f'\nname = "{name}"\n', 1)
    if not text.startswith("[cluster]"):
        raise RuntimeError("unexpected demo config layout")
    if poll_interval is not None:
        text = re.sub(r"(?m)^poll_interval = .*$", f"poll_interval = {poll_interval:g}", text, count=1)
    if parse_config(text, name).cluster.name != name:
        raise RuntimeError(f"demo config for {name} does not name its pair")
    return text


async def start_fleet(count: int, folder: Path, state_dir: Path, *, time_scale: float = 1.0,
                      poll_interval: float | None = None) -> list[DemoPair]:
    """Start ``count`` pairs and write ``folder/demo-I.toml`` for each; stale demo files are removed."""
    folder = paths.private_dir(folder)
    wanted = {f"{pair_name(i)}.toml" for i in range(1, count + 1)}
    for old in folder.glob("demo-*.toml"):
        if _OURS.match(old.name) and old.name not in wanted:
            old.unlink()
    pairs: list[DemoPair] = []
    try:
        for i in range(1, count + 1):
            name = pair_name(i)
            pair = await DemoPair.start(folder / f"{name}.toml", state_dir=state_dir / name, time_scale=time_scale)
            pairs.append(pair)
            paths.write_private(pair.config_path, pair_text(pair, name, poll_interval))
    except BaseException:
        await asyncio.gather(*(p.stop() for p in pairs), return_exceptions=True)
        raise
    return pairs


async def _serve(count: int, folder: Path, state_dir: Path, time_scale: float, poll_interval: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    pairs = await start_fleet(count, folder, state_dir, time_scale=time_scale, poll_interval=poll_interval)
    try:
        print(f"hatui demo ready: config={folder} pairs={count}", flush=True)
        await stop.wait()
    finally:
        await asyncio.gather(*(p.stop() for p in pairs), return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_headless_fleet(count: int, folder: Path, state_dir: Path, time_scale: float = 1.0,
                       poll_interval: float | None = None) -> int:
    """Serve the simulated fleet in the foreground until SIGINT/SIGTERM; the exit code."""
    try:
        asyncio.run(_serve(count, Path(folder), Path(state_dir), time_scale, poll_interval))
    except OSError as exc:
        print(f"hatui demo: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


class FleetThread:
    """The simulated fleet in its own event-loop thread (the console owns the main loop)."""

    def __init__(self, count: int, folder: Path, state_dir: Path, time_scale: float = 1.0) -> None:
        self.folder = Path(folder)
        self.loop = asyncio.new_event_loop()
        self.pairs: list[DemoPair] = []
        ready: threading.Event = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.pairs = self.loop.run_until_complete(start_fleet(count, self.folder, Path(state_dir),
                                                                      time_scale=time_scale))
            except BaseException as exc:  # reported to the starting thread
                error.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(asyncio.gather(*(p.stop() for p in self.pairs), return_exceptions=True))
            self.loop.close()

        self._thread = threading.Thread(target=run, name="hatui-demo-fleet", daemon=True)
        self._thread.start()
        if not ready.wait(15 + count):
            raise TimeoutError("the simulated fleet did not start in time")
        if error:
            raise error[0]

    def stop(self, timeout: float = 10.0) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
