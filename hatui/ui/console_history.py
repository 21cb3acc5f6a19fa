"""The console's part in the history (:mod:`hatui.history`): it shows a pair's past when the pair's
screen opens, and it records what it polls while it runs.

Why the console records too: the history answers "what happened at 03:12?" for a pair someone
watched without ``hatui serve`` running. A console and a service (or two consoles) may write the
same file at once: every write is one short transaction that compares against what is already
recorded (:mod:`hatui.history.recorder`), so a change two writers saw is kept once. Writes go to
one worker thread (:class:`hatui.history.writer.HistoryWriter`): the screen never waits on SQLite.
A file that cannot be opened or written is said once, as a notification, and the console goes on.
No Textual here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

from hatui.actions.audit import audit_path
from hatui.config import Config
from hatui.history.writer import HistoryWriter
from hatui.model import ClusterSnapshot
from hatui.ui import history_load

KEEP_DAYS, MAX_MB = 30.0, 200.0  # as `hatui serve`'s defaults: the bounds are the file's, whoever writes


class ConsoleHistory:
    """Reads a pair's past for the panes; records snapshots and action runs once :meth:`start` opened the file."""

    def __init__(self, path: Path, *, say: Callable[[str], None] = print) -> None:
        self.path = path
        self._say = say  # one line about a failure; called from a thread (the app's call_from_thread)
        self.writer: HistoryWriter | None = None
        self._started = False

    def say(self, text: str) -> None:
        try:
            self._say(text)
        except Exception:  # the console is closing: nobody to tell
            pass

    async def recall(self, pair: str, until: float) -> history_load.Past:
        """The pair's history up to ``until`` (read in a thread; never raises)."""
        return await asyncio.to_thread(history_load.load, self.path, pair, until=until)

    async def start(self) -> None:
        """Open the file for writing (in a thread) and prune it to its bounds; a failure is said once."""
        if self._started:
            return
        self._started = True
        try:
            self.writer = await asyncio.to_thread(HistoryWriter, self.path, keep_days=KEEP_DAYS, max_mb=MAX_MB,
                                                  source=f"console@{socket.gethostname()}", log=self.say)
        except Exception as exc:  # sqlite3.Error, OSError: the console works on without recording
            text = f"history {self.path}: not recorded by this console: {type(exc).__name__}: {exc}"
            await asyncio.to_thread(self.say, text)  # from a thread, as the writer's own failures are said
            return
        self.writer.prune()

    def record(self, pair: str, snap: ClusterSnapshot) -> None:
        if self.writer is not None:
            self.writer.snapshot(pair, snap)

    def actions_done(self, pair: str, config: Config) -> None:
        """An action ended: its runs (the audit log's records) into the history."""
        if self.writer is not None:
            self.writer.audit_from(audit_path(), {pair: config})

    async def close(self) -> None:
        """Finish the queued writes (bounded: a stuck disk does not keep the console from quitting)."""
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(writer.close), 3)
            except Exception:  # closing: nothing useful to tell the operator
                pass
