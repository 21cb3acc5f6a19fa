"""One line per pair: what an on-call operator needs first about each pair of a fleet.

``hatui status --all`` prints these lines (and ``--json`` a list of the same facts plus
each pair's full ``hatui.status/v1`` document); ``hatui serve`` and a fleet view read the
same :class:`PairSummary`, so every view names a pair's state the same way.

Each pair is polled on its own (:func:`poll_fleet`): its own connections, bounded by its
own ``connect_timeout + command_timeout``. A pair whose config is broken, or whose nodes
are dead, is one row with its error or its UNKNOWN/CRITICAL verdict; it never delays the
others beyond its own bound and never stops them. Core module: no Textual.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hatui.errors import HatuiError
from hatui.fleet import Fleet, PairEntry
from hatui.present.layers import GLYPH, vip_text
from hatui.model import ClusterSnapshot, Finding
from hatui.states import ConnectionState, Severity, severity_rank
from hatui.present.text import duration_text


@dataclass(frozen=True)
class PairSummary:
    """The row of one pair (from a snapshot, or from the error that prevented one)."""

    pair: str
    verdict: Severity
    active: tuple[str, ...] = ()
    vip: str = "unknown"
    replication: str = "unknown"
    sync_source: str | None = None
    sync_target: str | None = None
    sync_percent: float | None = None
    sync_eta: float | None = None
    root: Finding | None = None
    error: str | None = None
    taken_at: float | None = None

    @property
    def syncing(self) -> bool:
        return self.sync_target is not None

    @property
    def sync_text(self) -> str:
        if not self.syncing:
            return "—"
        pct = "?" if self.sync_percent is None else f"{self.sync_percent:.1f}%"
        return f"{self.sync_source}→{self.sync_target} {pct} ETA {duration_text(self.sync_eta)}"

    @property
    def root_text(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        if self.root is None:
            return "—"
        where = f" {self.root.node}" if self.root.node else ""
        return f"{self.root.code}{where}: {self.root.message}"


def _replication(snap: ClusterSnapshot) -> str:
    """The main resource's link in one word: Connected, SyncSource…, StandAlone, Connecting, unknown."""
    main = snap.facts.main
    if main.resync is not None:
        return main.resync.state
    if main.connected:
        return str(ConnectionState.CONNECTED)
    words = []
    for node in snap.nodes:
        res = node.resource(main.name) if node.reachable else None
        for conn in res.connections if res is not None else ():
            if conn.connection is not None and str(conn.connection) not in words:
                words.append(str(conn.connection))
    if words:
        return "/".join(words)
    return "down" if main.connected is False else "unknown"


def summarize(snap: ClusterSnapshot, name: str | None = None) -> PairSummary:
    """The row of one pair from its snapshot."""
    facts = snap.facts
    resync = facts.main.resync
    root = next((f for f in snap.findings if f.root), None)
    return PairSummary(
        pair=name or snap.config.cluster.name, verdict=snap.verdict, active=facts.active, vip=vip_text(snap),
        replication=_replication(snap),
        sync_source=resync.source if resync else None, sync_target=resync.target if resync else None,
        sync_percent=resync.percent if resync else None, sync_eta=resync.eta_seconds if resync else None,
        root=root, taken_at=snap.taken_at,
    )


def failed(name: str, error: str) -> PairSummary:
    """The row of a pair that could not be polled at all (config error, poll gave up): UNKNOWN."""
    return PairSummary(pair=name, verdict=Severity.UNKNOWN, error=error)


@dataclass(frozen=True)
class PairResult:
    """One pair's poll: its entry, the snapshot (None when there is none) and its row."""

    entry: PairEntry
    snapshot: ClusterSnapshot | None
    summary: PairSummary


async def poll_pair(entry: PairEntry, timeout: float | None = None) -> PairResult:
    """Poll one pair once within its own bound; never raises for the pair's trouble."""
    from hatui.snapshot.poller import poll_once, status_timeout

    if entry.config is None:
        return PairResult(entry, None, failed(entry.name, entry.error or "no config"))
    limit = timeout if timeout is not None else status_timeout(entry.config)
    try:
        # poll_once bounds each node by ``limit``; the outer bound also covers connecting and closing.
        snap = await asyncio.wait_for(poll_once(entry.config, limit), limit + 2)
    except (asyncio.TimeoutError, TimeoutError):
        return PairResult(entry, None, failed(entry.name, f"no answer from the pair within {limit:g}s"))
    except (HatuiError, OSError) as exc:
        return PairResult(entry, None, failed(entry.name, str(exc)))
    return PairResult(entry, snap, summarize(snap, entry.name))


async def poll_fleet(fleet: Fleet, timeout: float | None = None) -> list[PairResult]:
    """Every pair concurrently, each on its own (see the module doc); in fleet order."""
    return list(await asyncio.gather(*(poll_pair(e, timeout) for e in fleet.pairs)))


# CRITICAL beats UNKNOWN beats WARNING beats OK, as for one pair's findings (hatui.health.diagnosis).
_ORDER = {Severity.OK: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.CRITICAL: 3}


def worst(verdicts: list[Severity]) -> Severity:
    """The worst verdict: CRITICAL beats UNKNOWN beats WARNING beats OK."""
    return max(verdicts, key=_ORDER.__getitem__, default=Severity.OK)


def exit_code(summaries: list[PairSummary]) -> int:
    """The monitoring-plugin exit code of the worst pair."""
    return severity_rank(worst([s.verdict for s in summaries]))


def table(summaries: list[PairSummary]) -> list[str]:
    """Aligned text lines, a header first (plain text: pipes and scripts read it as well as people)."""
    head = ("", "PAIR", "ACTIVE", "VIP", "REPLICATION", "SYNC", "ROOT")
    rows = [head] + [
        (f"{GLYPH[s.verdict]} {s.verdict}", s.pair, "+".join(s.active) or "none", s.vip, s.replication,
         s.sync_text, s.root_text)
        for s in summaries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]


def summary_json(result: PairResult) -> dict[str, Any]:
    """One element of ``hatui status --all --json`` (documented in README)."""
    from hatui.present.status_json import status_document

    s = result.summary
    root = s.root
    return {
        "pair": s.pair,
        "config": str(result.entry.path),
        "verdict": s.verdict.value,
        "active": list(s.active),
        "vip": s.vip,
        "replication": s.replication,
        "sync": None if not s.syncing else {"source": s.sync_source, "target": s.sync_target,
                                            "percent": s.sync_percent, "eta_seconds": s.sync_eta},
        "root": None if root is None else {"code": root.code, "severity": root.severity.value,
                                           "node": root.node, "message": root.message, "hint": root.hint},
        "error": s.error,
        "status": status_document(result.snapshot) if result.snapshot is not None else None,
    }
