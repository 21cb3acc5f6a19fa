"""Timelines: every action's steps against the documented sequence.

Each step of an action becomes a :class:`TimelineRow`: start and end (wall
clock and T+ offset from the action's start), the budget of its phase (the
seed's failover sequence, from ``config.timing``: detect T+10, vip T+15,
promote T+20, mount T+25, services T+30, available T+35; resync flows use the
seed's recovery sequence), and whether it finished over or under that budget
(written as :func:`hatui.timelines.incident.budget_text`, "≤ T+10 s", like everywhere).
A step whose phase the seed does not time has no budget.

Timelines are saved as JSONL under ``paths.state_dir()/timelines/``: a header
line, one line per finished step (written as it finishes, so a crash keeps
what happened), and a result line. ``hatui timeline`` lists them; the console
shows rows live from the runner's events. Core module: no Textual.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from hatui import paths
from hatui.timelines.incident import Cue, Entry, Kind, Outcome, Source, budget_text

SCHEMA = "hatui.timelines.saved/v1"


def timelines_dir() -> Path:
    """Where action timelines are saved."""
    return paths.state_dir() / "timelines"


class StepStatus(str, Enum):
    """How a step ended (a str enum: saved timelines keep the plain words)."""

    RUNNING = "running"
    OK = "ok"
    SKIPPED = "skipped"  # its effect was already there
    FAILED = "failed"

    @property
    def outcome(self) -> Outcome:
        return {"running": Outcome.RUNNING, "ok": Outcome.OK, "skipped": Outcome.ALREADY,
                "failed": Outcome.FAILED}[self.value]

    def __str__(self) -> str:
        return self.value


@dataclass
class TimelineRow:
    """One step as it ran (a retried step gets a new row with ``attempt`` + 1)."""

    index: int  # position in the plan (0-based); rollback rows keep the undone step's index
    attempt: int
    node: str
    phase: str
    description: str
    command: str | None
    t_start: float  # seconds after T+0
    started_at: float  # epoch
    budget: float | None  # T+ seconds by which the documented sequence has this phase done
    t_end: float | None = None
    ended_at: float | None = None
    status: StepStatus = StepStatus.RUNNING
    exit_status: int | None = None
    detail: str = ""

    @property
    def duration(self) -> float | None:
        return None if self.t_end is None else self.t_end - self.t_start

    @property
    def over(self) -> bool | None:
        """True when the step ended after its phase's budget (None: no budget / not ended)."""
        if self.budget is None or self.t_end is None:
            return None
        return self.t_end > self.budget

    def __post_init__(self) -> None:
        self.status = StepStatus(self.status)

    def to_dict(self) -> dict[str, object]:
        """The saved form (status as its plain word)."""
        d = dataclasses.asdict(self)
        d["status"] = self.status.value
        d["duration"] = self.duration
        d["over"] = self.over
        return d

    def line(self) -> str:
        """One text line: T+ offset, phase budget, node, what, outcome."""
        budget = budget_text(self.budget) or "no budget"
        verdict = {True: "▲ over", False: "✔ under", None: ""}[self.over]
        end = f"T+{self.t_end:.2f} s" if self.t_end is not None else "…"
        dur = f"{self.duration:.2f} s" if self.duration is not None else "…"
        again = f" (attempt {self.attempt})" if self.attempt > 1 else ""
        tail = f": {self.detail}" if self.detail and self.status is not StepStatus.OK else ""
        return (f"T+{self.t_start:.2f} s → {end:>10s} {dur:>8s} [{self.phase:9s} {budget:>10s} {verdict:7s}] "
                f"{self.node}: {self.description}{again} … {self.status.value}{tail}")


class Timeline:
    """The rows of one action, persisted as they happen."""

    def __init__(self, action: str, title: str, *, directory: Path | None = None,
                 clock=time.monotonic, wall=time.time) -> None:
        self.action, self.title = action, title
        self._clock, self._wall = clock, wall
        self.t0 = clock()
        self.started_at = wall()
        stamp = datetime.fromtimestamp(self.started_at).strftime("%Y%m%d-%H%M%S")
        self.id = f"{stamp}-{action}-{secrets.token_hex(2)}"
        self.rows: list[TimelineRow] = []
        self.result: str | None = None
        self.directory = directory if directory is not None else timelines_dir()
        self.path = self.directory / f"{self.id}.jsonl"
        self._write({"type": "header", "schema": SCHEMA, "id": self.id, "action": action, "title": title,
                     "started_at": self.started_at})

    def offset(self) -> float:
        return self._clock() - self.t0

    def begin(self, index: int, attempt: int, node: str, phase: str, description: str,
              command: str | None, budget: float | None) -> TimelineRow:
        """Start a row now."""
        row = TimelineRow(index, attempt, node, phase, description, command, self.offset(), self._wall(), budget)
        self.rows.append(row)
        return row

    def end(self, row: TimelineRow, status: StepStatus | str, *, exit_status: int | None = None,
            detail: str = "") -> None:
        """Finish a row now and append it to the file."""
        row.t_end, row.ended_at = self.offset(), self._wall()
        row.status, row.exit_status, row.detail = StepStatus(status), exit_status, detail
        self._write({"type": "step", **row.to_dict()})

    def finish(self, result: str, detail: str = "") -> None:
        self.result = result
        over = sum(1 for r in self.rows if r.over)
        self._write({"type": "result", "result": result, "detail": detail, "total": self.offset(),
                     "steps": len(self.rows), "over_budget": over, "ended_at": self._wall()})

    def _write(self, record: dict[str, object]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        except OSError:
            pass  # a full disk must not stop a failover half-way; the audit log says what ran


def load_timeline(path: Path) -> dict[str, object]:
    """Read one timeline file into ``{"header":…, "steps":[…], "result":…|None}`` (tolerant)."""
    doc: dict[str, object] = {"header": {}, "steps": [], "result": None, "file": str(path)}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        kind = rec.pop("type", None) if isinstance(rec, dict) else None
        if kind == "header":
            doc["header"] = rec
        elif kind == "step":
            doc["steps"].append(rec)  # type: ignore[union-attr]
        elif kind == "result":
            doc["result"] = rec
    return doc


def list_timelines(directory: Path | None = None) -> list[dict[str, object]]:
    """Every saved timeline, oldest first."""
    folder = directory if directory is not None else timelines_dir()
    if not folder.is_dir():
        return []
    docs = [load_timeline(p) for p in sorted(folder.glob("*.jsonl"))]
    return sorted(docs, key=lambda d: d["header"].get("started_at", 0))  # type: ignore[union-attr]


def find_timeline(ident: str, directory: Path | None = None) -> dict[str, object] | None:
    """The timeline whose id is ``ident`` or starts with it (the newest such one)."""
    hits = [d for d in list_timelines(directory) if str(d["header"].get("id", "")).startswith(ident)]  # type: ignore[union-attr]
    return hits[-1] if hits else None


def row_from_dict(d: dict[str, object]) -> TimelineRow:
    """A saved step back as a row (unknown keys ignored)."""
    names = {f.name for f in dataclasses.fields(TimelineRow)}
    return TimelineRow(**{k: v for k, v in d.items() if k in names})  # type: ignore[arg-type]


def summary_line(doc: dict[str, object]) -> str:
    """``ID  action  started  result  total  over-budget`` for ``hatui timeline``."""
    h, r = doc["header"], doc["result"] or {}
    started = datetime.fromtimestamp(float(h.get("started_at", 0))).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]
    total = r.get("total")  # type: ignore[union-attr]
    total_s = f"{float(total):7.2f} s" if total is not None else "      ? s"
    over = r.get("over_budget", "?")  # type: ignore[union-attr]
    return (f"{h.get('id', '?')}  {h.get('action', '?'):20s} {started}  "  # type: ignore[union-attr]
            f"{r.get('result', 'unfinished')!s:14s} {total_s}  {len(doc['steps'])} steps, "  # type: ignore[union-attr,arg-type]
            f"{over} over budget")


def step_entry(row: TimelineRow, key: str = "") -> Entry:
    """An action's step as a row of the incident story (:mod:`hatui.timelines.incident`)."""
    again = f" (attempt {row.attempt})" if row.attempt > 1 else ""
    undo = "undo: " if row.phase == "rollback" else ""
    outcome = row.status.outcome
    note = {Outcome.RUNNING: "running", Outcome.OK: "done", Outcome.ALREADY: "already so",
            Outcome.FAILED: "FAILED"}.get(outcome, row.status.value)
    if row.duration is not None:
        note += f" in {row.duration:.1f} s"
    if row.detail and row.status is not StepStatus.OK:
        note += f": {row.detail}"
    return Entry(f"{outcome.glyph} {row.index + 1}. {undo}{row.description}{again}", row.node, row.started_at,
                 budget=row.budget, note=note, pending=row.ended_at is None, source=Source.ACTION,
                 outcome=outcome, phase=row.phase, key=key or f"{row.index}:{row.attempt}", end=row.ended_at)


def saved_entries(doc: dict[str, object]) -> list[Entry]:
    """A saved timeline (:func:`load_timeline`) as story rows: its start, its steps, its result."""
    h, result = doc["header"], doc["result"]
    ident = str(h.get("id", doc.get("file", "")))  # type: ignore[union-attr]
    started = float(h.get("started_at", 0.0))  # type: ignore[union-attr]
    out = [Entry(f"▶ {h.get('action', '?')} ({h.get('title', '')})", None, started, source=Source.ACTION,  # type: ignore[union-attr]
                 cue=Cue.ACTION_START, kind=Kind.ACTION, key=f"{ident}:start")]
    for rec in doc["steps"]:  # type: ignore[union-attr]
        row = row_from_dict(rec)
        out.append(step_entry(row, key=f"{ident}:{row.index}:{row.attempt}"))
    if result:
        ok = result.get("result") in ("succeeded", "rolled-back")  # type: ignore[union-attr]
        ended = float(result.get("ended_at") or started)  # type: ignore[union-attr]
        out.append(Entry(f"{'✔' if ok else '✖'} {h.get('action', '?')} {result.get('result')}", None, ended,  # type: ignore[union-attr]
                         note=str(result.get("detail") or ""), source=Source.ACTION, cue=Cue.ACTION_END,  # type: ignore[union-attr]
                         outcome=Outcome.OK if ok else Outcome.FAILED, key=f"{ident}:end"))
    return out
