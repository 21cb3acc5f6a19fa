"""History writes off the event loop: one thread, one connection, fire and forget.

Used by ``hatui serve`` (every pair) and by the console (the pair it shows), so the history
also covers the times someone watched a pair without a service running. Why a thread:
SQLite calls block, and a write may wait (``busy_timeout``) while another writer commits to
the same file. The poll loops must keep going meanwhile, so each write is handed to a single
worker thread (one connection, so writes stay in order) and the loop goes on. A write that
fails (disk full, a locked file past the timeout) is counted (``on_error``: serve's
``hatui_history_write_errors_total``), said once through ``log``, and polling continues. If
writes fall far behind, new ones are dropped and counted rather than queued without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from hatui.actions.audit import read_audit
from hatui.config import Config
from hatui.history import store
from hatui.history.recorder import Recorder
from hatui.model import ClusterSnapshot

MAX_PENDING = 1000


class HistoryWriter:
    def __init__(self, path: Path, *, keep_days: float, max_mb: float, source: str,
                 on_error: Callable[[], None] = lambda: None, log: Callable[[str], None] = print) -> None:
        self.path = Path(path)
        self.keep_seconds, self.max_bytes = keep_days * 86400, int(max_mb * 1024 * 1024)
        self._log = log
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hatui-history")
        self._lock = threading.Lock()
        self._pending = 0
        self._said: set[str] = set()
        self.on_error = on_error
        # Opened in the worker: a bad path fails here, at start, as one clear line.
        self.conn = self._pool.submit(store.connect, self.path).result()
        self.recorder = Recorder(self.conn, source)

    def _submit(self, fn: Callable[..., object], *args: object) -> None:
        with self._lock:
            if self._pending >= MAX_PENDING:
                self.on_error()
                return
            self._pending += 1
        self._pool.submit(fn, *args).add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending -= 1
        exc = future.exception()
        if exc is not None:
            self.on_error()
            text = f"{type(exc).__name__}: {exc}"
            if text not in self._said:  # each kind of failure once, not every poll
                self._said.add(text)
                self._log(f"history {self.path}: {text} (polling and metrics go on)")

    def snapshot(self, pair: str, snap: ClusterSnapshot) -> None:
        self._submit(self.recorder.snapshot, pair, snap)

    def audit(self, records: Iterable[Mapping[str, object]], pairs: Mapping[str, Config]) -> None:
        self._submit(self.recorder.audit, list(records), dict(pairs))

    def audit_from(self, path: Path, pairs: Mapping[str, Config]) -> None:
        """The action runs of the audit log at ``path``, read in the writer's thread."""
        self._submit(lambda: self.recorder.audit(read_audit(path), dict(pairs)))

    def prune(self) -> None:
        self._submit(lambda: store.prune(self.conn, keep_seconds=self.keep_seconds, max_bytes=self.max_bytes))

    def close(self) -> None:
        """Finish every queued write, then close the database."""
        self._pool.submit(self.conn.close)
        self._pool.shutdown(wait=True)
