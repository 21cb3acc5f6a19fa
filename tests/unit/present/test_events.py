"""What changes between two snapshots (hatui.present.events), the story rows the trackers make of them
(hatui.timelines.trackers), and the history's rows as the console's panes show them."""

from __future__ import annotations

from hatui.present.events import SpeedHistory, sync_view, transitions
from hatui.states import Severity
from hatui.timelines.incident import Cue, Kind, Outcome, Source
from hatui.timelines.trackers import RoleTracker
from hatui.ui.history_load import rows_for_panes
from tests.functional import scenarios as sc


def test_no_events_for_the_first_snapshot_and_none_while_nothing_changes() -> None:
    assert transitions(None, sc.healthy()) == []
    assert transitions(sc.healthy(), sc.healthy(sc.T0 + 2)) == []


def test_a_node_that_stops_answering_is_one_event_not_one_per_layer() -> None:
    events = transitions(sc.healthy(), sc.node_down())
    down = [e for e in events if e.node == "vm2"]
    assert [(e.subject, e.before, e.after, e.health) for e in down] == [
        ("node", "reachable", "UNREACHABLE", Severity.CRITICAL)]
    assert down[0].text == "vm2 node: reachable → UNREACHABLE  (connection refused)"
    back = transitions(sc.node_down(), sc.vip_moved(sc.T0 + 20))
    assert [e.after for e in back if e.node == "vm2"] == ["reachable"]


def test_a_switchover_reads_as_the_layers_that_changed_on_each_node() -> None:
    events = transitions(sc.healthy(), sc.vip_moved())
    texts = [e.text for e in events]
    assert any(t.startswith("vm2 DRBD: Primary → Secondary") for t in texts), texts
    assert any(t.startswith("vm12 DRBD: Secondary → Primary") for t in texts), texts
    assert all(e.at == sc.T0 + 8 for e in events)


def test_the_sync_view_and_its_speeds_exist_only_while_a_sync_runs() -> None:
    view = sync_view(sc.syncing(), "r0")
    assert view is not None and view.percent == 42.5 and view.speed_kib_s == 40960.0
    assert sync_view(sc.healthy(), "r0") is None
    speeds = SpeedHistory(size=3)
    for _ in range(5):
        series = speeds.update("r0", view)
    assert series == [40960.0] * 3
    assert speeds.update("r0", None) == [] and speeds.update("r0", view) == [40960.0]


def test_the_role_tracker_says_who_was_active_then_each_move_with_its_budget() -> None:
    tracker = RoleTracker()
    first = tracker.update(sc.healthy())
    assert [(e.step, e.node) for e in first] == [("active at start", "vm2")]
    moves = tracker.update(sc.vip_moved())
    vip = next(e for e in moves if e.step == "VIP → vm12")
    assert (vip.phase, vip.budget, vip.cue, vip.source) == ("vip", sc.healthy().config.timing.vip, Cue.OPENS,
                                                          Source.OBSERVED)
    assert tracker.update(sc.vip_moved(sc.T0 + 10)) == []


def test_the_role_tracker_calls_two_primaries_a_split_brain_not_a_move() -> None:
    tracker = RoleTracker()
    tracker.update(sc.healthy())
    rows = tracker.update(sc.split_brain())
    both = next(e for e in rows if e.step.startswith("DRBD Primary on BOTH"))
    assert both.kind is Kind.SPLIT_BRAIN and both.budget is None


def _row(kind: str, subject: str, before: str, after: str, severity: str, node: str = "vm2", detail: str = "",
         ts: float = 100.0) -> dict[str, object]:
    return dict(ts=ts, pair="p", node=node, layer="x", kind=kind, subject=subject, before=before, after=after,
                severity=severity, detail=detail, source="serve")


def test_history_rows_read_as_the_live_panes_say_them() -> None:
    events, timing = rows_for_panes([
        _row("state", "DRBD r0", "Secondary", "Primary", "OK", detail="r0 UpToDate"),
        _row("state", "NFS server", "active", "active", "WARNING"),
        _row("state", "verdict", "OK", "CRITICAL", "CRITICAL", node=""),
        _row("finding", "drbd-disconnected", "raised", "cleared", "CRITICAL"),
        _row("failover", "promote", "", "failed", "CRITICAL", node="vm12", detail="exit 1", ts=101.5),
        _row("action", "failover", "", "start", "OK", node=""),
        _row("state", "Mystery", "a", "b", "BOGUS"),
        _row("helper", "fence-peer handler ran on vm2 for r0, exit 7 (peer fenced (STONITH))", "", "response",
             "OK"),
        _row("someday", "new thing", "", "seen", "WARNING"),
    ])
    assert [e.text for e in events] == [
        "vm2 DRBD r0: Secondary → Primary  (r0 UpToDate)",
        "vm2 NFS server: active, now WARNING",
        "verdict: OK → CRITICAL",
        "vm2 finding drbd-disconnected: cleared",
        "action failover: started",
        "vm2 Mystery: a → b",
        "fence-peer handler ran on vm2 for r0, exit 7 (peer fenced (STONITH))",
        "vm2 someday new thing: seen",
    ]
    assert events[3].health is Severity.OK  # a cleared finding is good news, whatever it was
    assert events[5].health is Severity.UNKNOWN  # a severity hatui does not know is unknown, not OK
    step, action = timing
    assert (step.step, step.node, step.outcome, step.source, step.key) == (
        "✖ promote", "vm12", Outcome.FAILED, Source.JOURNAL, "vm12:101.5:promote")  # the journal tracker's key
    assert action.step == "✔ failover started" and action.source is Source.ACTION
