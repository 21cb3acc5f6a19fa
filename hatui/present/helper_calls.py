"""DRBD's helper calls (fence-peer, split-brain … handlers) as events: which are new, when, and how bad.

A node's ``DrbdReport.helper_calls`` is a rolling window, the last 20 ``call`` /
``response helper`` lines its events2 stream saw, oldest first
(:mod:`hatui.probes.events2`). The window survives a stream's reconnect (DRBD
repeats no helper event in a new initial dump) and stays on the node while a
poll's reading of the DRBD state is shown (:mod:`hatui.snapshot.streams`).

So what is new between two readings of one node is found by comparing windows,
not single calls: the longest tail of the earlier window that the later one
starts with was seen already, and whatever follows it is new
(:func:`new_calls`). That keeps apart two identical calls (a handler run twice,
without time stamps), adds nothing when the window did not move (a re-read
initial dump, a reconcile poll), and reports every call of a window that moved
more than its length between two readings.

When a call happened is its ``--timestamps`` prefix (the stream always asks for
it), moved onto this machine's clock by the node's clock skew as its last poll
measured it; without a time stamp, the time of the snapshot that first showed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hatui.model import NodeSnapshot
from hatui.probes.records import HelperCall
from hatui.states import Severity

# fence-peer exit codes that mean the peer was dealt with (3 already Inconsistent, 4 outdated,
# 7 fenced); 5 (unreachable), 6 (refused: it is Primary) and any other code leave it undecided.
FENCE_DONE = frozenset({3, 4, 7})
# Handlers DRBD runs because something went wrong: their call opens an incident in the story.
TROUBLE_HELPERS = frozenset({"fence-peer", "split-brain", "initial-split-brain", "pri-lost-after-sb",
                             "pri-on-incon-degr", "pri-lost", "local-io-error", "quorum-lost"})
SPLIT_BRAIN_HELPERS = frozenset({"split-brain", "initial-split-brain", "pri-lost-after-sb"})


def new_calls(before: Sequence[HelperCall], after: Sequence[HelperCall]) -> tuple[HelperCall, ...]:
    """The calls of window ``after`` that window ``before`` had not shown yet, oldest first."""
    before, after = tuple(before), tuple(after)
    for overlap in range(min(len(before), len(after)), 0, -1):
        if before[len(before) - overlap:] == after[:overlap]:
            return after[overlap:]
    return after


def shown_calls(node: NodeSnapshot | None) -> tuple[HelperCall, ...]:
    """The helper window a node showed (one that did not answer: its last answer's)."""
    if node is not None and not node.reachable:
        node = node.last_known
    if node is None or node.drbd is None:
        return ()
    return node.drbd.helper_calls


def helper_severity(call: HelperCall) -> Severity:
    """OK for a call and a response that did its job; WARNING for a handler that failed or could not
    run (fence-peer: the peer neither outdated nor fenced); UNKNOWN when DRBD did not say how it ended."""
    if not call.response:
        return Severity.OK
    if call.status is None:
        return Severity.UNKNOWN
    code = call.exit_code
    if code is None:  # a negative errno: the handler did not run at all
        return Severity.WARNING
    if call.helper == "fence-peer":
        return Severity.OK if code in FENCE_DONE else Severity.WARNING
    return Severity.OK if code == 0 else Severity.WARNING


def stamp_epoch(timestamp: str | None) -> float | None:
    """drbdsetup's ``--timestamps`` prefix (``2026-05-01T03:12:04.123456+02:00``) as epoch seconds."""
    if not timestamp:
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        return None


def helper_at(node: NodeSnapshot, call: HelperCall, first_seen: float) -> float:
    """When ``call`` happened on this machine's clock (``first_seen``: no time stamp to go by)."""
    at = stamp_epoch(call.timestamp)
    if at is None:
        return first_seen
    skew = node.clock - node.polled_at if node.clock and node.polled_at else 0.0
    return at - skew


def helper_key(node: str, call: HelperCall, at: float) -> str:
    """A call's identity: the node, the handler and what it was about, and its time stamp (else ``at``)."""
    when = call.timestamp or repr(at)
    return "|".join((node, call.resource, call.helper, "response" if call.response else "call", call.peer or "",
                     "" if call.volume is None else str(call.volume), when))


def run_key(node: str, call: HelperCall) -> tuple[str, str, str, str, int | None]:
    """What pairs a response with its call: the node, resource, handler, connection and volume."""
    return node, call.resource, call.helper, call.peer or "", call.volume
