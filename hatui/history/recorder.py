"""What a snapshot, the node journal and the audit log add to the history.

Every layer is described by :func:`hatui.present.layers.node_layers` — the same words the console
and ``hatui status`` show — so the history says "vm2 DRBD r0: Secondary → Primary" exactly
as the screen did. A node that does not answer is one "node: answered → unreachable"
event, not one "unknown" per layer; its layers keep their last recorded state, so when
it answers again the history shows what changed meanwhile. Comparison happens against the
database inside one short transaction (see :mod:`hatui.history.store`): two writers and
restarts record each change once.

The node kit's journal is re-read by every poll (its last 200 lines); each line is keyed
on pair + node + ts + step, and this recorder remembers the newest line it wrote per node
so a poll only offers the new ones. The audit log is read when it grows.

DRBD's helper calls (fence-peer, split-brain … handlers: kind ``helper``, in the words of the
event log) are found new by comparing each node's helper window with the one this recorder
saw last (:mod:`hatui.present.helper_calls`) and keyed on pair + node + handler + the call's
time stamp (``--timestamps``; without one, the time it was first seen), so a re-read window,
a second writer or a restart records each call once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from hatui.timelines.journal import journal_outcome, journal_timeline
from hatui.config import Config
from hatui.history.store import insert_events, transaction
from hatui.timelines.incident import budget_text
from hatui.model.drbd9 import helper_text
from hatui.present.helper_calls import helper_at, helper_key, helper_severity, new_calls, shown_calls
from hatui.present.layers import node_layers
from hatui.model import ClusterSnapshot, Finding
from hatui.states import Severity
from hatui.present.status_json import node_state

# Audit events worth a history row, and the severity they get.
_AUDIT_EVENTS = {"start": "OK", "result": None, "refused": "WARNING", "cancelled": "OK", "lock-break": "WARNING",
                 "rollback": "WARNING"}


def _layer_key(row) -> str:
    name = row.layer.name.lower()
    return name if row.resource is None else f"{name}:{row.resource}"


def _finding_layer(finding: Finding) -> str:
    return finding.layer.name.lower()


def observed_states(snap: ClusterSnapshot) -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """(node, layer) → (state, health, detail, subject) for everything this snapshot knows."""
    root = next((f for f in snap.findings if f.root), None)
    out = {("", "cluster"): (snap.verdict.value, snap.verdict.value, root.message if root else "", "verdict")}
    for node in snap.nodes:
        health = Severity.OK if node.reachable else (Severity.CRITICAL if node.unreachable else Severity.UNKNOWN)
        out[(node.name, "node")] = (node_state(node), health.value, node.error or "", "node")
        if not node.reachable:
            continue  # its layers keep their last recorded state (module doc)
        for row in node_layers(snap, node.name):
            subject = row.layer.value if row.resource is None else f"{row.layer.value} {row.resource}"
            out[(node.name, _layer_key(row))] = (row.state, row.health.value, row.detail, subject)
    return out


class Recorder:
    """Writes to one open history database (one connection, used from one thread at a time)."""

    def __init__(self, conn: sqlite3.Connection, source: str = "") -> None:
        self.conn = conn
        self.source = source
        self._journal_seen: dict[tuple[str, str], float] = {}
        self._helper_windows: dict[tuple[str, str], tuple] = {}  # (pair, node) → the helper window last offered

    def snapshot(self, pair: str, snap: ClusterSnapshot) -> int:
        """Record the state changes and findings raised/cleared that ``snap`` shows; returns events written."""
        at = snap.taken_at
        states = observed_states(snap)
        present = {(f.code, f.node or ""): f for f in snap.findings}
        journal, seen = self._journal_rows(pair, snap)
        helpers, windows = self._helper_rows(pair, snap)
        events: list[dict[str, object]] = []
        with transaction(self.conn) as conn:
            known = {(n, layer): (s, h) for n, layer, s, h in conn.execute(
                "SELECT node, layer, state, health FROM current WHERE pair = ?", (pair,))}
            for (node, layer), (state, health, detail, subject) in states.items():
                old = known.get((node, layer))
                if old == (state, health):
                    continue
                events.append(dict(ts=at, pair=pair, node=node, layer=layer, kind="state", subject=subject,
                                   before=old[0] if old else "", after=state, severity=health, detail=detail))
                conn.execute("INSERT OR REPLACE INTO current (pair, node, layer, state, health, since) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (pair, node, layer, state, health, at))
            open_now = {(c, n): (sev, layer) for c, n, sev, layer in conn.execute(
                "SELECT code, node, severity, layer FROM open_findings WHERE pair = ?", (pair,))}
            for (code, node), finding in present.items():
                if (code, node) in open_now:
                    continue
                events.append(dict(ts=at, pair=pair, node=node, layer=_finding_layer(finding), kind="finding",
                                   subject=code, after="raised", severity=finding.severity.value,
                                   detail=finding.message))
                conn.execute("INSERT OR REPLACE INTO open_findings (pair, code, node, severity, layer, since) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (pair, code, node, finding.severity.value,
                                                           _finding_layer(finding), at))
            for (code, node), (severity, layer) in open_now.items():
                if (code, node) in present:
                    continue
                events.append(dict(ts=at, pair=pair, node=node, layer=layer, kind="finding", subject=code,
                                   before="raised", after="cleared", severity=severity))
                conn.execute("DELETE FROM open_findings WHERE pair = ? AND code = ? AND node = ?", (pair, code, node))
            for row in events:
                row["source"] = self.source
            written = insert_events(conn, events + journal + helpers)
        self._journal_seen.update(seen)  # only once committed: a failed write is offered again
        self._helper_windows.update(windows)
        return written

    def _helper_rows(self, pair: str, snap: ClusterSnapshot) -> tuple[list[dict[str, object]], dict]:
        """The helper calls and responses each node shows that this recorder has not offered yet
        (and each node's window, remembered once they are written)."""
        rows: list[dict[str, object]] = []
        windows: dict[tuple[str, str], tuple] = {}
        for node in snap.nodes:
            window = shown_calls(node) if node.reachable else ()
            if not window:  # no stream, or not answering: the last window stays the one to compare with
                continue
            windows[(pair, node.name)] = window
            for call in new_calls(self._helper_windows.get((pair, node.name), ()), window):
                at = helper_at(node, call, snap.taken_at)
                rows.append(dict(ts=at, pair=pair, node=node.name, layer="drbd", kind="helper",
                                 subject=helper_text(node.name, call), after="response" if call.response else "call",
                                 severity=helper_severity(call).value,
                                 detail=f"connection {call.peer}" if call.peer else "", source=self.source,
                                 key=f"helper|{pair}|{helper_key(node.name, call, at)}"))
        return rows, windows

    def _journal_rows(self, pair: str, snap: ClusterSnapshot) -> tuple[list[dict[str, object]], dict]:
        """The node kit's journal lines not offered before, as failover events with T+ and budget
        (and the newest line per node, remembered once they are written)."""
        rows: list[dict[str, object]] = []
        seen_now: dict[tuple[str, str], float] = {}
        timing = snap.config.timing
        for node in snap.nodes:
            if not node.reachable or not node.journal:
                continue
            seen = self._journal_seen.get((pair, node.name), float("-inf"))
            fresh = [e for e in node.journal if e.ts > seen]
            if not fresh:
                continue
            seen_now[(pair, node.name)] = max(e.ts for e in node.journal)
            priority = node.vrrp.base_priority if node.vrrp else None
            timed = {r.started_at: r for r in journal_timeline(node.journal, timing, priority=priority)}
            for entry in fresh:
                outcome = journal_outcome(entry)
                detail, severity = entry.detail, ("CRITICAL" if outcome.value == "failed" else "OK")
                row = timed.get(entry.ts)
                if row is not None:
                    over = row.budget is not None and row.t_start > row.budget
                    detail += f" · T+{row.t_start:.1f} s {budget_text(row.budget)} {'▲ over' if over else '✔ under'}"
                    severity = "WARNING" if over and severity == "OK" else severity
                rows.append(dict(ts=entry.ts, pair=pair, node=node.name, layer="failover", kind="failover",
                                 subject=entry.step, after=outcome.value, severity=severity, detail=detail.strip(),
                                 source=self.source, key=f"journal|{pair}|{node.name}|{entry.ts!r}|{entry.step}"))
        return rows, seen_now

    def audit(self, records: Iterable[Mapping[str, object]], pairs: Mapping[str, Config]) -> int:
        """Action runs from the audit log (``hatui.actions.audit.read_audit``); re-reading adds nothing."""
        records = list(records)
        owner = audit_pairs(records, pairs)
        rows = []
        for rec in records:
            event = str(rec.get("event", ""))
            if event not in _AUDIT_EVENTS:
                continue
            action_id = str(rec.get("action_id", ""))
            result = str(rec.get("result", event))
            severity = _AUDIT_EVENTS[event] or ("OK" if result in ("succeeded", "done", "ok") else "WARNING")
            plan = rec.get("plan") if isinstance(rec.get("plan"), dict) else {}
            detail = str(plan.get("title") or rec.get("error") or "")  # type: ignore[union-attr]
            who = f"{rec.get('user', '?')}@{rec.get('host', '?')}"
            rows.append(dict(ts=float(rec.get("ts", 0) or 0), pair=owner.get(action_id, ""), node=str(rec.get("node", "")),
                             layer="action", kind="action", subject=str(rec.get("action", "")), after=result,
                             severity=severity, detail=f"{detail} ({who}, {action_id})".strip(), source=self.source,
                             key=f"audit|{action_id}|{event}|{rec.get('ts')!r}"))
        with transaction(self.conn) as conn:
            return insert_events(conn, rows)


def audit_pairs(records: list[Mapping[str, object]], pairs: Mapping[str, Config]) -> dict[str, str]:
    """action_id → the pair it acted on, when the audit log lets one say so.

    An audit record names nodes, not pairs: the pair is the only configured one whose node
    names (and DRBD resources) cover the plan's. Node names shared by several pairs (every
    demo pair has vm2 and vm12) leave it unattributed (``""``) rather than guessed.
    """
    out: dict[str, str] = {}
    for rec in records:
        action_id = str(rec.get("action_id", ""))
        if isinstance(rec.get("cluster"), str):
            out[action_id] = str(rec["cluster"])
            continue
        plan = rec.get("plan")
        if action_id in out or not isinstance(plan, dict):
            continue
        nodes = {str(s.get("node")) for s in plan.get("steps", []) if isinstance(s, dict)}
        resources = set(plan.get("resources", []) or [])
        if rec.get("node"):
            nodes.add(str(rec["node"]))
        hits = [name for name, cfg in pairs.items()
                if nodes and nodes <= set(cfg.node_names) and resources <= {d.resource for d in cfg.drbd}]
        if len(hits) == 1:
            out[action_id] = hits[0]
    return out
