"""The history database: one SQLite file, safe for several writers at once, bounded.

Why SQLite in WAL mode: a console and ``hatui serve`` (or two services) may write the same
file at the same moment. WAL lets readers run while one writer commits; every write is a
short ``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so two writers
queue instead of deadlocking on a lock upgrade) and ``busy_timeout`` makes the second one
wait instead of failing. Deduplication lives in the database, not in one process' memory:

* ``current`` holds each (pair, node, layer)'s last recorded state, and ``open_findings``
  the findings raised and not yet cleared. A writer compares its snapshot with these rows
  inside its transaction, so a change seen by two writers is recorded once, and a restart
  records only what changed while nobody watched;
* events re-read from a source that repeats itself (the node journal, the audit log) carry
  a unique ``key`` (journal: pair + node + ts + step) and are inserted with ``OR IGNORE``.

Bounds: rows older than the age limit are deleted, then the oldest rows until the file's
used pages fit the size limit; ``auto_vacuum=INCREMENTAL`` gives the freed pages back.
The file is private (0600): it names hosts, users and commands.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from hatui import paths

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 10_000
DEFAULT_KEEP_DAYS = 30.0
DEFAULT_MAX_MB = 200.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    pair TEXT NOT NULL,
    node TEXT NOT NULL DEFAULT '',
    layer TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    before TEXT NOT NULL DEFAULT '',
    after TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    key TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_pair_ts ON events (pair, ts);
CREATE TABLE IF NOT EXISTS current (
    pair TEXT NOT NULL, node TEXT NOT NULL, layer TEXT NOT NULL,
    state TEXT NOT NULL, health TEXT NOT NULL, since REAL NOT NULL,
    PRIMARY KEY (pair, node, layer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS open_findings (
    pair TEXT NOT NULL, code TEXT NOT NULL, node TEXT NOT NULL,
    severity TEXT NOT NULL, layer TEXT NOT NULL, since REAL NOT NULL,
    PRIMARY KEY (pair, code, node)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

EVENT_COLUMNS = ("ts", "pair", "node", "layer", "kind", "subject", "before", "after", "severity", "detail",
                 "source", "key")


def default_path() -> Path:
    """``$HATUI_HISTORY``, else ``history.sqlite`` in the XDG state folder."""
    env = os.environ.get("HATUI_HISTORY")
    return Path(env).expanduser() if env else paths.state_dir() / "history.sqlite"


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """Open (and if needed create) the database: WAL, busy timeout, autocommit with explicit transactions.

    With ``create=False`` a missing file is :class:`FileNotFoundError` (readers never create one).
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise FileNotFoundError(2, "no history yet (hatui serve and the console record it)", str(path))
        fd, _ = paths.open_private(path, os.O_RDWR)  # 0600 in a 0700 folder; SQLite copies the mode to -wal/-shm
        os.close(fd)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Only effective on a file without tables: the first writer sets it for good.
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
    with transaction(conn):  # not executescript(): it would commit on its own
        for statement in filter(str.strip, _SCHEMA.split(";")):
            conn.execute(statement)
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
    return conn


class transaction:
    """``with transaction(conn):`` — BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): one short write."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def insert_events(conn: sqlite3.Connection, rows: list[dict[str, object]]) -> int:
    """Insert events inside the caller's transaction; rows with a ``key`` already there are skipped."""
    if not rows:
        return 0
    before = conn.total_changes
    conn.executemany(
        f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)})",
        [{c: row.get(c, "" if c not in ("ts", "key") else None) for c in EVENT_COLUMNS} for row in rows],
    )
    return conn.total_changes - before


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes the database uses (pages in use, not the free ones the file may still hold)."""
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    count = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (count - free) * page


def prune(conn: sqlite3.Connection, *, keep_seconds: float, max_bytes: int, now: float | None = None) -> int:
    """Apply both bounds; returns how many events were deleted. Each delete is its own short transaction."""
    now = time.time() if now is None else now
    deleted = 0
    with transaction(conn):
        deleted += conn.execute("DELETE FROM events WHERE ts < ?", (now - keep_seconds,)).rowcount
    for _ in range(64):  # oldest tenth at a time until it fits (bounded: never loops forever)
        if used_bytes(conn) <= max_bytes:
            break
        total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        if total == 0:
            break
        with transaction(conn):
            deleted += conn.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY ts, id LIMIT ?)",
                (max(1, total // 10),)).rowcount
    conn.execute("PRAGMA incremental_vacuum")
    return deleted


def query(conn: sqlite3.Connection, *, pair: str | None = None, since: float | None = None,
          until: float | None = None, node: str | None = None, layer: str | None = None,
          limit: int | None = None) -> list[dict[str, object]]:
    """Events oldest first, filtered; ``layer`` matches ``drbd`` and ``drbd:r0`` alike. ``limit``: the newest N."""
    where, args = [], []
    for column, value in (("pair", pair), ("node", node)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts <= ?")
        args.append(until)
    if layer is not None:
        where.append("(layer = ? OR layer LIKE ? ESCAPE '\\')")
        args += [layer, layer.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"]
    sql = "SELECT ts, pair, node, layer, kind, subject, before, after, severity, detail, source FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts DESC, id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    names = ("ts", "pair", "node", "layer", "kind", "subject", "before", "after", "severity", "detail", "source")
    rows = [dict(zip(names, r)) for r in conn.execute(sql, args)]
    rows.reverse()
    return rows
