"""The fleet overview's rows: one per pair, its texts, the last failover, sorting and filtering.

Pure (no Textual): :mod:`hatui.ui.fleet_poll` keeps one :class:`FleetRow` per pair up to
date from that pair's snapshots, the screen orders and filters them with :func:`ordered`
and :func:`matches`, and the table only draws :func:`row_texts`. A row's facts are the
ones ``hatui status --all`` prints (:class:`~hatui.fleet.status.PairSummary`), so both
name a pair's state the same way.

The age of the last failover comes from what hatui can see, never guessed:

* the node kit's journal: the latest takeover (:func:`~hatui.timelines.journal.latest_takeover`)
  on either node, its first step in our clock (corrected by the node's clock skew);
* the active role moving between two polls this console saw (the DRBD Primary that answers
  changed from one node to the other, also across a poll in which nobody was active).

The later of the two counts; with neither it is unknown ("—").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from hatui.fleet.status import PairSummary, summarize
from hatui.model import ClusterSnapshot
from hatui.present.layers import GLYPH
from hatui.present.text import age_text, duration_text
from hatui.states import Severity
from hatui.timelines.journal import latest_takeover

# Worst first, as `hatui status --all` ranks verdicts (CRITICAL beats UNKNOWN beats WARNING beats OK);
# a pair not polled yet comes last.
RANK = {Severity.CRITICAL: 0, Severity.UNKNOWN: 1, Severity.WARNING: 2, Severity.OK: 3, None: 4}
NONE = "—"
COLUMNS = ("verdict", "pair", "active", "vip", "replication", "sync", "failover", "root")


class SortMode(Enum):
    WORST = "worst first"
    NAME = "name"
    AGE = "last failover"

    def next(self) -> SortMode:
        modes = list(SortMode)
        return modes[(modes.index(self) + 1) % len(modes)]


@dataclass(frozen=True)
class FleetRow:
    """One pair as the overview shows it: its summary, or why there is none (yet)."""

    name: str
    summary: PairSummary | None = None  # None: no answer yet
    error: str | None = None  # the config cannot be used, or the last poll failed
    failover_at: float | None = None  # epoch of the last failover seen (journal or observed)
    hint: str = ""  # the root finding's next step

    @property
    def verdict(self) -> Severity | None:
        if self.error is not None:
            return Severity.UNKNOWN
        return self.summary.verdict if self.summary is not None else None

    @property
    def pending(self) -> bool:
        return self.summary is None and self.error is None


def verdict_text(verdict: Severity | None) -> str:
    return "… polling" if verdict is None else f"{GLYPH[verdict]} {verdict.value}"


def root_text(row: FleetRow) -> str:
    """The root finding (code, node: message), the pair's error, or "—"."""
    if row.error is not None:
        return f"error: {row.error}"
    if row.summary is None:
        return "first poll in progress"
    return row.summary.root_text


def sync_text(summary: PairSummary | None, *, short: bool = False) -> str:
    if summary is None or not summary.syncing:
        return NONE
    pct = "?" if summary.sync_percent is None else f"{summary.sync_percent:.1f}%"
    if short:
        return f"{pct} ETA {duration_text(summary.sync_eta)}"
    return summary.sync_text


def failover_text(at: float | None, now: float, *, short: bool = False) -> str:
    return NONE if at is None else age_text(now - at) + ("" if short else " ago")


def row_texts(row: FleetRow, now: float, *, narrow: bool = False) -> dict[str, str]:
    """Every column's text. Narrow: replication and sync share one column (a running sync says
    its % and ETA, otherwise the replication state), and the failover's age goes without "ago"."""
    s = row.summary
    known = s is not None and row.error is None
    texts = {
        "verdict": verdict_text(row.verdict),
        "pair": row.name,
        "active": ("+".join(s.active) or "none") if known and s else "",
        "vip": s.vip if known and s else "",
        "replication": s.replication if known and s else "",
        "sync": sync_text(s) if known else "",
        "failover": failover_text(row.failover_at, now, short=narrow),
        "root": root_text(row),
    }
    if narrow and known and s is not None and s.syncing:
        texts["replication"] = sync_text(s, short=True)
    return texts


def search_text(row: FleetRow, now: float) -> str:
    """What `/` matches against: every column's text (name, verdict word, nodes, states, root, error)."""
    return " ".join(row_texts(row, now).values()).lower()


def matches(row: FleetRow, needle: str, now: float) -> bool:
    needle = needle.strip().lower()
    return not needle or needle in search_text(row, now)


def ordered(rows: list[FleetRow], mode: SortMode) -> list[FleetRow]:
    """Worst verdict first (then name), by name, or most recent failover first (unknown last)."""
    if mode is SortMode.NAME:
        return sorted(rows, key=lambda r: r.name)
    if mode is SortMode.AGE:
        return sorted(rows, key=lambda r: (r.failover_at is None, -(r.failover_at or 0.0), r.name))
    return sorted(rows, key=lambda r: (RANK[r.verdict], r.name))


def counts(rows: list[FleetRow]) -> dict[Severity | None, int]:
    """How many pairs per verdict (None: not polled yet)."""
    out: dict[Severity | None, int] = {}
    for row in rows:
        out[row.verdict] = out.get(row.verdict, 0) + 1
    return out


def journal_takeover_at(snap: ClusterSnapshot) -> float | None:
    """The start of the latest takeover in either node's journal, in our clock."""
    latest = None
    for node in snap.nodes:
        if not node.reachable or not node.journal:
            continue
        steps = latest_takeover(node.journal)
        if not steps:
            continue
        skew = node.clock - node.polled_at if node.clock and node.polled_at else 0.0
        at = steps[0].ts - skew
        latest = at if latest is None else max(latest, at)
    return latest


class FailoverTracker:
    """The last failover of one pair: journal takeovers and the active role moving between polls."""

    def __init__(self) -> None:
        self.last_active: tuple[str, ...] = ()  # the last non-empty set of active nodes seen
        self.observed_at: float | None = None
        self.journal_at: float | None = None

    def update(self, snap: ClusterSnapshot) -> float | None:
        active = snap.facts.active
        if active:
            if self.last_active and set(active) != set(self.last_active):
                self.observed_at = snap.taken_at
            self.last_active = active
        journal = journal_takeover_at(snap)
        if journal is not None:
            self.journal_at = journal if self.journal_at is None else max(self.journal_at, journal)
        return self.at

    @property
    def at(self) -> float | None:
        known = [t for t in (self.observed_at, self.journal_at) if t is not None]
        return max(known) if known else None


def snapshot_row(name: str, snap: ClusterSnapshot, failover_at: float | None) -> FleetRow:
    summary = summarize(snap, name)
    hint = summary.root.hint if summary.root is not None else ""
    return FleetRow(name, summary, None, failover_at, hint)


def failed_row(row: FleetRow, error: str) -> FleetRow:
    """The pair's poll failed: say so, keep the last failover known."""
    return dataclasses.replace(row, error=error, hint="")
