"""DRBD helper calls (fence-peer, split-brain handlers) in the event log, the incident story and the history.

Each call or response is reported once: a window that did not move (a reconcile poll, a stream that
re-read its initial dump) adds nothing, a rolling window adds only its new tail, two identical calls
stay two.
"""

from __future__ import annotations

import dataclasses

import pytest

from hatui.config import TimingConfig
from hatui.errors import FailureKind, TransportError
from hatui.present.events import transitions
from hatui.present.helper_calls import helper_severity, new_calls, stamp_epoch
from hatui.probes.events2 import drbd_report_from_events2
from hatui.probes.journal import JournalEntry
from hatui.probes.records import HelperCall
from hatui.snapshot.streams import DRBD
from hatui.states import Severity
from hatui.timelines.helpers import HelperTracker
from hatui.timelines.incident import Kind, Outcome, build_incidents
from hatui.timelines.journal import journal_entries
from hatui.timelines.trackers import JournalTracker
from tests import builders as b
from tests.unit.snapshot.test_streams import Harness, dump, settle

TS = "2026-11-29T17:00:0{}.000000+00:00"


def call(helper: str = "fence-peer", status: int | None = None, second: int = 1, *, stamped: bool = True,
         response: bool | None = None) -> HelperCall:
    return HelperCall("r0", helper, status is not None if response is None else response, status, peer="vm12",
                      timestamp=TS.format(second) if stamped else None)


def with_calls(node, *calls: HelperCall):
    return dataclasses.replace(node, drbd=dataclasses.replace(node.drbd, helper_calls=tuple(calls)))


def pair(*calls: HelperCall, at: float = 1000.0, skew: float = 0.0):
    a = dataclasses.replace(b.node("vm2", active=True, peer="vm12", now=at), clock=at + skew)
    return b.cluster(with_calls(a, *calls), b.node("vm12", active=False, peer="vm2", now=at))


# --- which calls are new -------------------------------------------------------------------------


def test_new_calls_are_the_tail_that_does_not_continue_the_earlier_window():
    c1, c2, c3 = call(second=1), call(status=7 << 8, second=2), call("split-brain", 0, second=3)
    assert new_calls((), (c1, c2)) == (c1, c2)
    assert new_calls((c1, c2), (c1, c2)) == ()  # nothing moved (a reconcile poll, a re-read dump)
    assert new_calls((c1, c2), (c1, c2, c3)) == (c3,)
    assert new_calls((c1, c2, c3), (c2, c3)) == ()  # the oldest rolled out of the window
    assert new_calls((c1, c2), (c2, c3)) == (c3,)  # rolled and grew
    assert new_calls((c1, c2), ()) == ()  # a source without helper events shows none: nothing new


def test_identical_unstamped_calls_stay_two():
    same = call(status=4 << 8, stamped=False)
    assert new_calls((same,), (same, same)) == (same,)
    assert new_calls((same, same), (same, same)) == ()


@pytest.mark.parametrize(("helper", "status", "severity"), [
    ("fence-peer", None, Severity.OK),  # the call: the handler starts
    ("fence-peer", 4 << 8, Severity.OK),  # peer outdated
    ("fence-peer", 7 << 8, Severity.OK),  # peer fenced
    ("fence-peer", 5 << 8, Severity.WARNING),  # peer unreachable
    ("fence-peer", 6 << 8, Severity.WARNING),  # peer refused: it is Primary
    ("fence-peer", 0, Severity.WARNING),  # not a fence-peer answer: the peer is undecided
    ("split-brain", 0, Severity.OK),
    ("split-brain", 1 << 8, Severity.WARNING),
    ("before-resync-target", 0, Severity.OK),
    ("fence-peer", 4294967294, Severity.WARNING),  # -ENOENT: the handler did not run
])
def test_severity_of_a_call_and_its_response(helper, status, severity):
    assert helper_severity(call(helper, status)) == severity


def test_a_response_that_does_not_say_how_it_ended_is_unknown():
    assert helper_severity(call(response=True)) == Severity.UNKNOWN


# --- the event log -------------------------------------------------------------------------------


def handler_events(prev, cur):
    return [e for e in transitions(prev, cur) if "handler" in e.text]


def test_event_log_says_each_new_call_once_in_the_helper_words():
    start, done = call(second=1), call(status=7 << 8, second=2)
    before = pair(start)
    after = pair(start, done, at=1002.0)
    events = transitions(before, after)
    assert [e.text for e in events] == ["fence-peer handler ran on vm2 for r0, exit 7 (peer fenced (STONITH))"]
    assert events[0].node == "vm2" and events[0].health == Severity.OK
    assert transitions(after, pair(start, done, at=1004.0)) == [], "the same window again: nothing new"


def test_event_time_is_the_stamp_on_this_machines_clock_else_the_snapshot_time():
    stamped, bare = call("split-brain", 1 << 8, second=3), call("split-brain", 1 << 8, stamped=False)
    skew = 5.0  # vm2's clock runs 5 s ahead
    (event,) = handler_events(pair(), pair(stamped, skew=skew))
    assert event.at == stamp_epoch(stamped.timestamp) - skew
    assert event.health == Severity.WARNING and "exit 1" in event.text
    later = pair(bare, at=1010.0)
    (event,) = handler_events(pair(), later)
    assert event.at == later.taken_at


def test_a_node_that_comes_back_is_compared_with_its_last_answer():
    old, new = call(second=1), call(status=4 << 8, second=2)
    before = pair(old)
    a = before.node("vm2")
    gone = b.cluster(type(a)(name="vm2", reachable=False, polled_at=1001.0, error="refused", last_known=a),
                     before.node("vm12"))
    assert [e.text for e in transitions(gone, pair(old, new, at=1002.0)) if "handler" in e.text] == [
        "fence-peer handler ran on vm2 for r0, exit 4 (peer outdated)"]


def test_helper_calls_from_a_real_events2_fold_reach_the_event_log():
    report = drbd_report_from_events2([
        f"{TS.format(1)} exists resource name:r0 role:Primary suspended:no", f"{TS.format(1)} exists -",
        f"{TS.format(2)} call helper name:r0 peer-node-id:1 conn-name:vm12 volume:0 minor:0 helper:split-brain",
        f"{TS.format(3)} response helper name:r0 peer-node-id:1 conn-name:vm12 volume:0 minor:0 "
        "helper:split-brain status:0"])
    base = pair()
    cur = b.cluster(dataclasses.replace(base.node("vm2"), drbd=report), base.node("vm12"))
    texts = [e.text for e in transitions(base, cur) if "handler" in e.text]
    assert texts == ["split-brain handler started on vm2 for r0", "split-brain handler ran on vm2 for r0, exit 0"]


@pytest.mark.asyncio
async def test_through_the_stream_a_call_is_told_at_once_kept_across_polls_and_reconnects_and_said_once():
    h = Harness()

    def snap():
        return b.cluster(h.poller.latest["vm2"], h.poller.latest["vm12"])

    def calls():
        return h.poller.latest["vm2"].drbd.helper_calls

    helper = "name:r0 peer-node-id:1 conn-name:vm12 volume:0 minor:0 helper:fence-peer"
    try:
        run = h.feed("vm2", h.drbd_cmd, *dump("Primary"))
        h.streams.start()
        await settle(lambda: h.streams.status("vm2")[DRBD] == "on")
        snaps = [snap()]
        h.changed.clear()
        run.put_nowait(f"{TS.format(5)} call helper {helper}")
        await settle(lambda: h.changed)
        assert h.changed == ["vm2"], "a helper call changes no state but is told at once"
        snaps.append(snap())
        run.put_nowait(f"{TS.format(6)} response helper {helper} status:1792")
        await settle(lambda: len(calls()) == 2)
        snaps.append(snap())
        # A reconcile poll wins: its reading (status --json) has no helper calls; the window stays.
        follower = h.streams.nodes["vm2"].drbd
        polled = b.node("vm2", active=True, peer="vm12")
        h.poller.latest["vm2"] = h.streams.merge_poll("vm2", polled, started=follower.last_change + 1)
        assert h.poller.latest["vm2"].drbd.source == "json" and len(calls()) == 2
        snaps.append(snap())
        # The stream drops and re-reads its initial dump (which repeats no helper event).
        run.put_nowait(TransportError("vm2", "connection lost", kind=FailureKind.DROPPED))
        h.feed("vm2", h.drbd_cmd, *dump("Primary"))
        await settle(lambda: h.sources["vm2"].started.get(h.drbd_cmd) == 2 and h.streams.status("vm2")[DRBD] == "on")
        assert h.poller.latest["vm2"].drbd.source == "events2" and len(calls()) == 2
        snaps.append(snap())
        texts = [e.text for prev, cur in zip(snaps, snaps[1:]) for e in handler_events(prev, cur)]
        assert texts == ["fence-peer handler started on vm2 for r0",
                         "fence-peer handler ran on vm2 for r0, exit 7 (peer fenced (STONITH))"]
    finally:
        await h.streams.close()


# --- the incident story --------------------------------------------------------------------------

E0 = stamp_epoch(TS.format(0))


def story(*snaps):
    tracker = HelperTracker()
    rows = [row for s in snaps for row in tracker.update(s)]
    return rows, build_incidents(rows)


def test_a_handler_run_is_one_story_row_from_its_call_to_its_response():
    start, done = call(second=1), call(status=5 << 8, second=3)
    rows, (context, incidents) = story(pair(start), pair(start), pair(start, done), pair(start, done))
    assert [r.pending for r in rows] == [True, False], "each call and response once, however often shown"
    assert rows[0].key == rows[1].key, "the response replaces its call's row"
    (inc,) = incidents
    (row,) = inc.rows
    assert row.step == "fence-peer handler ran on vm2 for r0, exit 5 (peer unreachable)"
    assert row.outcome is Outcome.FAILED and row.node == "vm2"
    assert (row.start, row.end) == (E0 + 1, E0 + 3) and row.t_plus == 2.0


def test_a_window_that_empties_and_refills_adds_no_row():
    c = call("split-brain", 0, second=2)
    bare = pair()
    rows, _ = story(pair(c), bare, pair(c))
    assert len(rows) == 1


def test_fence_peer_during_a_takeover_joins_the_takeovers_story():
    steps = ("detect", "vip", "promote", "mount", "nfs", "dag", "available")
    journal = tuple(JournalEntry(E0 + i, "vm12", s, s, True) for i, s in enumerate(steps))
    kit = journal_entries(journal, TimingConfig(), peer="vm2", priority=100)
    fence = [call(second=2), call(status=7 << 8, second=3)]  # during "promote", on the survivor
    tracker = HelperTracker()
    vm12 = b.node("vm12", active=True, peer="vm2", now=E0 + 9)
    rows = tracker.update(b.cluster(b.node("vm2", active=False, peer="vm12", now=E0 + 9),
                                    with_calls(vm12, *(dataclasses.replace(c, peer="vm2") for c in fence))))
    context, incidents = build_incidents(kit + rows)
    assert context == [] and len(incidents) == 1
    (inc,) = incidents
    assert inc.kind is Kind.TAKEOVER
    assert "fence-peer handler ran on vm12 for r0, exit 7 (peer fenced (STONITH))" in [r.step for r in inc.rows]


def test_a_split_brain_handler_at_a_reconnect_opens_a_split_brain_story():
    quiet = call("before-resync-target", 0, second=1)
    rows, (context, incidents) = story(pair(quiet), pair(quiet, call("split-brain", response=False, second=8),
                                                         call("split-brain", 0, second=9)))
    assert [r.step for r in context] == ["before-resync-target handler ran on vm2 for r0, exit 0"]
    (inc,) = incidents
    assert inc.kind is Kind.SPLIT_BRAIN and inc.t0 == E0 + 8
    assert [r.step for r in inc.rows] == ["split-brain handler ran on vm2 for r0, exit 0"]


def test_the_consoles_journal_tracker_brings_the_helper_rows():
    tracker = JournalTracker(saved=list)
    c = call("split-brain", 0, second=4)
    assert [r.step for r in tracker.update(pair(c))] == ["split-brain handler ran on vm2 for r0, exit 0"]
    assert tracker.update(pair(c)) == []


# --- the history ---------------------------------------------------------------------------------


def test_history_records_each_call_once_across_rereads_gaps_and_restarts(tmp_path):
    from hatui.history import store
    from hatui.history.query import line
    from hatui.history.recorder import Recorder

    db = tmp_path / "h.sqlite"
    conn = store.connect(db)

    def helpers():
        return [r for r in store.query(conn, since=0) if r["kind"] == "helper"]

    start, done = call(second=1), call(status=4 << 8, second=2)
    rec = Recorder(conn, "test")
    rec.snapshot("p1", pair(start))
    rec.snapshot("p1", pair(start, at=1002.0))  # the same window again
    rec.snapshot("p1", pair(at=1004.0))  # a reading without helper calls (a poll, no stream)
    rec.snapshot("p1", pair(start, done, at=1006.0))
    rows = helpers()
    assert [(r["node"], r["after"], r["severity"]) for r in rows] == [("vm2", "call", "OK"), ("vm2", "response", "OK")]
    assert rows[1]["ts"] == stamp_epoch(done.timestamp)
    assert line(rows[1]).endswith("fence-peer handler ran on vm2 for r0, exit 4 (peer outdated)  (connection vm12)")
    # A restart (new recorder, new connection) sees the same window: its calls are keyed, nothing doubles.
    Recorder(store.connect(db), "restarted").snapshot("p1", pair(start, done, at=1008.0))
    assert len(helpers()) == 2
    # An unstamped call is recorded once while its window is re-read.
    bare = call("split-brain", 1 << 8, stamped=False)
    rec.snapshot("p1", pair(start, done, bare, at=1010.0))
    rec.snapshot("p1", pair(start, done, bare, at=1012.0))
    assert sorted(r["severity"] for r in helpers()) == ["OK", "OK", "WARNING"]
