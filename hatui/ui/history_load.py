"""What the console shows of the history when it opens: the pair's recent past, as pane rows.

``hatui serve`` keeps every state change, finding raised and cleared, automatic failover
step (from the node kit's journal) and action run in SQLite (:mod:`hatui.history.store`).
A console that opens later shows the last :data:`MAX_EVENTS` of them from the last
:data:`WINDOW` seconds, up to the moment it opened (later ones are the live poll's): state
changes, findings, DRBD helper calls and action runs in the event log, failover steps and
action runs in the timing log.

Never in the way: the past is read over its own read-only connection (never waiting long on
a writer's lock; what the console records goes through :mod:`hatui.ui.console_history`), and
a missing, locked or corrupt file is one line of text for the pane, never an exception. A failover step carries the
identity the live journal tracker gives the same journal line
(``node:ts:step``, :mod:`hatui.timelines.journal`), so when the live poll replays that
line too, the story keeps one row (:func:`hatui.timelines.incident.build_incidents`
keeps the newest entry per source and key). No Textual here: the app calls :func:`load`
in a worker thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from hatui.history import store
from hatui.present.events import StateEvent
from hatui.states import Severity
from hatui.timelines.incident import Entry, Outcome, Source

WINDOW = 24 * 3600.0
MAX_EVENTS = 200
BUSY_SECONDS = 2.0  # a writer holding the file longer than this: say so instead of waiting


@dataclass
class Past:
    """The history rows for the panes, and one line about where they came from (or why there are none)."""

    events: list[StateEvent] = field(default_factory=list)
    timing: list[Entry] = field(default_factory=list)
    note: str = ""


def _severity(text: object) -> Severity:
    found = Severity.parse(text)
    return found if isinstance(found, Severity) else Severity.UNKNOWN


def _glyph(severity: Severity) -> str:
    return {Severity.OK: "✔", Severity.WARNING: "▲", Severity.CRITICAL: "✖"}.get(severity, "?")


def rows_for_panes(rows: list[dict[str, object]]) -> tuple[list[StateEvent], list[Entry]]:
    """History rows (:func:`hatui.history.store.query`) → (event-log events, timing rows), oldest first."""
    events: list[StateEvent] = []
    timing: list[Entry] = []
    for row in rows:
        ts, kind = float(row["ts"]), row["kind"]  # type: ignore[arg-type]
        node = str(row["node"]) or None
        subject, before, after, detail = (str(row[k]) for k in ("subject", "before", "after", "detail"))
        severity = _severity(row["severity"])
        if kind == "state":
            if before == after:  # same word, another verdict (as the live log says it)
                events.append(StateEvent(ts, node, subject, "", f"{after}, now {severity}", severity, detail))
            else:
                events.append(StateEvent(ts, node, subject, before, after, severity, detail))
        elif kind == "finding":
            cleared = after == "cleared"
            events.append(StateEvent(ts, node, f"finding {subject}", "", after,
                                     Severity.OK if cleared else severity, detail))
        elif kind == "failover":
            outcome = Outcome(after) if after in {o.value for o in Outcome} else Outcome.INFO
            timing.append(Entry(f"{outcome.glyph} {subject}", node, ts, note=detail, source=Source.JOURNAL,
                                outcome=outcome, key=f"{node}:{ts}:{subject}"))
        elif kind == "action":
            what = "started" if after == "start" else after
            events.append(StateEvent(ts, node, f"action {subject}", "", what, severity, detail))
            timing.append(Entry(f"{_glyph(severity)} {subject} {what}", node, ts, note=detail,
                                source=Source.ACTION, key=f"history:{ts}:{subject}:{after}"))
        elif kind == "helper":  # the subject is the event log's own sentence
            events.append(StateEvent(ts, node, "helper", "", after, severity, detail, message=subject))
        else:  # a kind this console does not know yet: shown as recorded, not dropped
            events.append(StateEvent(ts, node, f"{kind} {subject}", before, after, severity, detail))
    return events, timing


def load(path: Path, pair: str, *, until: float, window: float = WINDOW, limit: int = MAX_EVENTS) -> Past:
    """The pair's last ``limit`` history events of ``window`` seconds before ``until`` (never raises)."""
    if not path.exists():
        return Past(note=f"history: none yet in {path} (hatui serve and the console record it)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS)
        try:
            rows = store.query(conn, pair=pair, since=until - window, until=until, limit=limit)
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as exc:
        return Past(note=f"history: cannot read {path}: {exc}")
    events, timing = rows_for_panes(rows)
    if not rows:
        return Past(note=f"history: nothing recorded for {pair} in the last {window / 3600:g} h")
    return Past(events, timing, f"history: {len(rows)} events from before this console opened (dimmed)")
