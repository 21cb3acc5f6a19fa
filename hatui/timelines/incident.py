"""One story per incident: the node journal, the console's observations and hatui's steps, merged.

Why: three sources see the same failover. The node kit journals its takeover
steps on the survivor, the console sees the VIP and the DRBD Primary move from
poll to poll, and hatui's runner times its own steps. Shown as they arrived,
each source had its own T+0, rows were out of time order, a later incident was
appended to an old one, and a planned switchover looked like a second,
"automatic" failover. Here every source produces :class:`Entry` rows and
:func:`build_incidents` turns them into one chronological story per incident,
with one T+0, without duplicates. The console's Timing pane and
``hatui timeline --auto`` only render what this returns. Core module: no Textual.

The incident rule (README, "Timing log"):

* **Starts** with the first entry that opens one: hatui starting an action
  (T+0 = the operator's confirmation), the node kit taking over (T+0 = the
  estimated loss of the master, or the peer's clean release), the console
  seeing the active role move (VIP or DRBD Primary, the active node lost), or
  the verdict leaving OK. An action always starts its own incident (a planned
  change is its own story), and so does any opening entry once the pair is
  healthy again, however recently.
* **Ends** when the pair has been healthy (verdict OK) with no action running
  for :data:`QUIET` seconds, or, when nobody watched it end (a console opened
  later, the CLI), after :data:`IDLE` seconds without any entry.
* **Duplicates**: one row per (source, key), the latest version winning (a
  step that ended replaces its start). A row that only confirms what a more
  direct source shows for the same node and phase (precedence: hatui's step,
  then the node journal, then the console's observation) is folded into that
  row's note; a failure is never folded away.

Budgets are written one way everywhere: :func:`budget_text` ("≤ T+10 s").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

QUIET = 30.0  # healthy (and no action) this long after an incident: it is over
IDLE = 120.0  # nothing at all for this long: a later entry belongs to a new incident


def budget_text(budget: float | None) -> str:
    """The one notation for a budget: ``≤ T+10 s`` (empty when the seed gives the step none)."""
    return "" if budget is None else f"≤ T+{budget:g} s"


def t_plus_text(t_plus: float | None) -> str:
    """An offset from the incident's T+0: ``T+3.6 s``."""
    return "" if t_plus is None else f"T+{t_plus:.1f} s"


class Source(Enum):
    """Who reported an entry; the order is the precedence when two say the same."""

    ACTION = "hatui"
    JOURNAL = "node kit"
    OBSERVED = "console"


_PRECEDENCE = {Source.ACTION: 0, Source.JOURNAL: 1, Source.OBSERVED: 2}


class Outcome(Enum):
    """How a step ended (INFO: an observation or a marker, not a step)."""

    RUNNING = "running"
    OK = "ok"
    ALREADY = "already"  # nothing to do: the effect was already there (a success)
    FAILED = "failed"
    INFO = "info"

    @property
    def glyph(self) -> str:
        return {"running": "…", "ok": "✔", "already": "✔", "failed": "✖", "info": "·"}[self.value]


class Cue(Enum):
    """What an entry says about where incidents begin and end."""

    NONE = "none"
    OPENS = "opens"  # the active role moved / a takeover began
    UNHEALTHY = "unhealthy"  # the verdict is not OK (opens an incident when none is open)
    HEALTHY = "healthy"  # the verdict is OK again
    ACTION_START = "action-start"
    ACTION_END = "action-end"


class Kind(Enum):
    """What an incident was; the highest-ranked kind among its entries names it."""

    DEGRADED = (1, "pair degraded")
    ROLE_CHANGE = (2, "active role moved")
    TAKEOVER = (3, "crash and automatic takeover")
    SPLIT_BRAIN = (4, "split brain")
    ACTION = (5, "hatui action")

    @property
    def rank(self) -> int:
        return self.value[0]

    @property
    def label(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class Entry:
    """One row from one source: a step, an observation or a marker.

    ``start`` (and ``end`` for a step that took time) are epoch seconds on the
    console's clock; ``t_plus`` is filled in by :func:`build_incidents` from the
    incident's T+0 (from ``end`` when the step ended, else ``start``).
    """

    step: str
    node: str | None
    start: float
    t_plus: float | None = None
    budget: float | None = None  # documented seconds after T+0 (config [timing]); None: the seed gives none
    note: str = ""
    pending: bool = False  # still running: no over/under verdict yet
    source: Source = Source.ACTION
    outcome: Outcome = Outcome.INFO
    phase: str | None = None  # the documented sequence's phase, for folding duplicates
    cue: Cue = Cue.NONE
    kind: Kind | None = None  # the kind of incident this entry points to
    key: str = ""  # identity within its source (a later version replaces an earlier one)
    end: float | None = None

    @property
    def at(self) -> float:
        """When it ended, or when it started while running / for a point event."""
        return self.end if self.end is not None else self.start

    @property
    def over(self) -> bool | None:
        """True when it ended after its budget (None: no budget, no T+ or still running)."""
        if self.pending or self.t_plus is None or self.budget is None:
            return None
        return self.t_plus > self.budget


@dataclass
class Incident:
    """One story: its kind, T+0, ordered rows and how it ended (``end`` None: still open)."""

    kind: Kind
    t0: float
    rows: list[Entry] = field(default_factory=list)
    end: float | None = None
    ended_by: str = ""
    title_hint: str = ""

    @property
    def title(self) -> str:
        what = self.kind.label
        return f"{what}: {self.title_hint}" if self.title_hint else what

    @property
    def failed(self) -> list[Entry]:
        return [r for r in self.rows if r.outcome is Outcome.FAILED]

    def header(self) -> Entry:
        """The separator row that opens the story in a table."""
        started = datetime.fromtimestamp(self.t0).strftime("%H:%M:%S")
        tail = f"ended: {self.ended_by}" if self.end is not None else "ongoing"
        return Entry(f"── {self.title}", None, self.t0, 0.0, note=f"T+0 {started}; {tail}", key="header")

    def to_dict(self) -> dict[str, object]:
        rows = []
        for r in self.rows:
            d = dataclasses.asdict(r)
            d.update(source=r.source.value, outcome=r.outcome.value, cue=r.cue.value,
                     kind=r.kind.name if r.kind else None, over=r.over, budget_text=budget_text(r.budget))
            rows.append(d)
        return {"kind": self.kind.name, "title": self.title, "t0": self.t0, "end": self.end,
                "ended_by": self.ended_by, "rows": rows}


def row_line(row: Entry) -> str:
    """One text line of a story row (CLI): T+, budget and verdict, node, step, note."""
    verdict = {True: "▲ over", False: "✔ under", None: ""}[row.over]
    note = f"  ({row.note})" if row.note else ""
    return (f"{t_plus_text(row.t_plus):>10s}  {budget_text(row.budget):>10s} {verdict:8s} "
            f"{row.node or '':6s} {row.step}{note}")


def _unique(entries: list[Entry]) -> list[Entry]:
    latest: dict[tuple[Source, str], Entry] = {}
    out: list[Entry] = []
    for e in entries:
        if not e.key:
            out.append(e)
        else:
            latest[(e.source, e.key)] = e
    return out + list(latest.values())


def _folds_into(low: Entry, high: Entry) -> bool:
    """``low`` only confirms ``high`` (same node and phase, a more direct source, no failure)."""
    if low.phase is None or low.phase != high.phase or low.node != high.node:
        return False
    if _PRECEDENCE[high.source] >= _PRECEDENCE[low.source] or high.outcome is Outcome.FAILED:
        return False
    if low.source is Source.JOURNAL:
        return low.outcome is Outcome.ALREADY  # the kit found it done: hatui's step did it
    return low.outcome in (Outcome.INFO, Outcome.OK, Outcome.ALREADY)


def _fold(rows: list[Entry]) -> list[Entry]:
    kept: list[Entry] = []
    for row in sorted(rows, key=lambda r: _PRECEDENCE[r.source]):
        also = f"{row.source.value}: {row.outcome.value if row.outcome is not Outcome.INFO else 'seen'}"
        hosts = [i for i, k in enumerate(kept) if _folds_into(row, k)]
        if not hosts:
            kept.append(row)
            continue
        # two rows of one phase (NFS, then the DAG processor): one each, in order
        target = next((i for i in hosts if also not in kept[i].note), hosts[0])
        host = kept[target]
        kept[target] = dataclasses.replace(host, note=f"{host.note} · {also}" if host.note else also)
    return kept


class _Builder:
    """The incident rule as a small state machine over time-ordered entries."""

    def __init__(self, quiet: float, idle: float) -> None:
        self.quiet, self.idle = quiet, idle
        self.out: list[Incident] = []
        self.context: list[Entry] = []  # entries outside any incident (first poll, stray journal lines)
        self.cur: Incident | None = None
        self.last = 0.0
        self.verdict_ok = True
        self.healthy_since: float | None = None
        self.action_open = False

    def close(self, at: float, why: str) -> None:
        assert self.cur is not None
        self.cur.end, self.cur.ended_by = at, why
        self.cur = None

    def feed(self, e: Entry) -> None:
        if self.cur is not None and not self.action_open:
            if self.healthy_since is not None and e.start - self.healthy_since >= self.quiet:
                self.close(self.healthy_since, f"healthy again for {self.quiet:g} s")
            elif e.start - self.last > self.idle:
                self.close(self.last, f"nothing more seen for {self.idle:g} s")
        opens = e.cue in (Cue.OPENS, Cue.UNHEALTHY, Cue.ACTION_START)
        if e.cue is Cue.ACTION_START and self.cur is not None and self.action_open:
            opens = False  # a retry or rollback of the running action
        elif opens and self.cur is not None and (
                e.cue is Cue.ACTION_START or (self.healthy_since is not None and not self.action_open)):
            self.close(e.start, "a new incident began")
        if self.cur is None and opens:
            self.cur = Incident(e.kind or Kind.DEGRADED, e.start)
            self.out.append(self.cur)
            self.healthy_since = None
        if self.cur is None:
            self.context.append(e)
        else:
            self.cur.rows.append(e)
            if e.kind is not None and e.kind.rank > self.cur.kind.rank:
                self.cur.kind = e.kind
            if e.kind is Kind.ACTION and not self.cur.title_hint:
                self.cur.title_hint = e.step.lstrip("▶ ")
            self.last = e.start
        self._track(e)

    def _track(self, e: Entry) -> None:
        if e.cue is Cue.HEALTHY:
            self.verdict_ok = True
            if not self.action_open and self.healthy_since is None:
                self.healthy_since = e.start
        elif e.cue is Cue.UNHEALTHY:
            self.verdict_ok, self.healthy_since = False, None
        elif e.cue is Cue.ACTION_START:
            self.action_open, self.healthy_since = True, None
        elif e.cue is Cue.ACTION_END:
            self.action_open = False
            if self.verdict_ok and self.healthy_since is None:
                self.healthy_since = e.start


def build_incidents(entries: list[Entry], *, quiet: float = QUIET, idle: float = IDLE
                    ) -> tuple[list[Entry], list[Incident]]:
    """Merge entries from every source into ``(context rows, incidents)``, both oldest first.

    Context rows are entries outside any incident (e.g. the console's first
    look at the pair). Each incident's rows are in time order (ties: hatui's
    step, the journal, the console), duplicates folded, T+ from its own T+0.
    """
    ordered = sorted(_unique(entries), key=lambda e: (e.start, _PRECEDENCE[e.source]))
    builder = _Builder(quiet, idle)
    for e in ordered:
        builder.feed(e)
    for inc in builder.out:
        if inc.kind is Kind.TAKEOVER:
            survivor = next((r.node for r in inc.rows if r.source is Source.JOURNAL and r.phase), None)
            inc.title_hint = inc.title_hint or (f"by {survivor}" if survivor else "")
        rows = _fold(inc.rows)
        rows.sort(key=lambda r: (r.start, _PRECEDENCE[r.source]))
        inc.rows = [dataclasses.replace(r, t_plus=r.at - inc.t0) for r in rows]
    context = [dataclasses.replace(r, t_plus=None) for r in builder.context]
    return context, builder.out


def story_rows(context: list[Entry], incidents: list[Incident]) -> list[Entry]:
    """Everything as one flat list for a table: context rows, then each incident's header and rows."""
    rows: list[tuple[float, int, list[Entry]]] = [(r.start, 0, [r]) for r in context]
    rows += [(inc.t0, 1, [inc.header(), *inc.rows]) for inc in incidents]
    rows.sort(key=lambda item: (item[0], item[1]))
    return [r for _, _, group in rows for r in group]
