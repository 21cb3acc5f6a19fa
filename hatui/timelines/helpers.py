"""DRBD's helper calls as incident-story rows: one row per handler run.

A handler's call is a running row ("fence-peer handler started on vm2 for r0");
its response replaces it under the same key, from the call's time to the
response's ("fence-peer handler ran on vm2 for r0, exit 7 (peer fenced
(STONITH))"), so the story shows one row per run with how it ended. Which calls
are new, their time and their severity come from :mod:`hatui.present.helper_calls`.

Where a row lands: a handler DRBD runs because something went wrong (fence-peer
when the peer is lost or before a promotion without it, the split-brain
handlers, a lost quorum or disk) and a handler that failed open an incident
(:class:`~hatui.timelines.incident.Cue` ``OPENS``); so a fence-peer during a
takeover or an action joins that incident, and a split-brain handler at a
reconnect opens (or joins) the split brain's. A routine handler
(before/after-resync-target) joins whatever incident is open, else it is a
context row.
"""

from __future__ import annotations

from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.model.drbd9 import helper_text
from hatui.present.helper_calls import (
    SPLIT_BRAIN_HELPERS,
    TROUBLE_HELPERS,
    helper_at,
    helper_key,
    helper_severity,
    new_calls,
    run_key,
    shown_calls,
)
from hatui.probes.records import HelperCall
from hatui.states import Severity
from hatui.timelines.incident import Cue, Entry, Kind, Outcome, Source

_OUTCOME = {Severity.OK: Outcome.OK, Severity.WARNING: Outcome.FAILED}


class HelperTracker:
    """Each node's helper calls, each once, as story rows (a response replaces its call's row)."""

    def __init__(self) -> None:
        self.windows: dict[str, tuple[HelperCall, ...]] = {}  # per node, the helper window last seen
        self.running: dict[tuple, tuple[float, str]] = {}  # a call without its response yet → (its time, key)

    def update(self, snap: ClusterSnapshot) -> list[Entry]:
        """The rows of the calls and responses this snapshot shows for the first time."""
        out: list[Entry] = []
        for node in snap.nodes:
            if not node.reachable:
                continue
            window = shown_calls(node)
            fresh = new_calls(self.windows.get(node.name, ()), window)
            if window:  # a reading without helper events (no stream) leaves the window as it was
                self.windows[node.name] = window
            out += [self._row(node, call, snap.taken_at) for call in fresh]
        return out

    def _row(self, node: NodeSnapshot, call: HelperCall, seen: float) -> Entry:
        at = helper_at(node, call, seen)
        severity = helper_severity(call)
        trouble = call.helper in TROUBLE_HELPERS or severity == Severity.WARNING
        kind = (Kind.SPLIT_BRAIN if call.helper in SPLIT_BRAIN_HELPERS else Kind.DEGRADED) if trouble else None
        common = dict(source=Source.OBSERVED, cue=Cue.OPENS if trouble else Cue.NONE, kind=kind)
        run = run_key(node.name, call)
        if not call.response:
            key = f"helper:{helper_key(node.name, call, at)}"
            self.running[run] = (at, key)
            return Entry(helper_text(node.name, call), node.name, at, pending=True, outcome=Outcome.RUNNING,
                         key=key, **common)  # type: ignore[arg-type]
        started = self.running.pop(run, None)
        start, key = started if started is not None else (at, f"helper:{helper_key(node.name, call, at)}")
        return Entry(helper_text(node.name, call), node.name, start, end=at if started is not None else None,
                     outcome=_OUTCOME.get(severity, Outcome.INFO), key=key, **common)  # type: ignore[arg-type]
