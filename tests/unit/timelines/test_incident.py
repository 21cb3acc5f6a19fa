"""The incident story: rows from hatui's steps, the node journal and the console's observations,
with overlaps and duplicates, become one ordered story per incident with one T+0."""

from __future__ import annotations

from hatui.timelines.journal import journal_entries
from hatui.config import TimingConfig
from hatui.timelines.incident import Cue, Entry, Kind, Outcome, Source, budget_text, build_incidents, row_line
from hatui.probes.journal import JournalEntry
from hatui.timelines.saved import StepStatus, TimelineRow, step_entry

T0 = 1_700_000_000.0


def seen(step, at, cue=Cue.NONE, kind=None, phase=None, node=None, budget=None):
    return Entry(step, node, at, budget=budget, source=Source.OBSERVED, phase=phase, cue=cue, kind=kind,
                 key=f"{step}:{at}")


def step(index, node, phase, desc, start, end, status=StepStatus.OK, budget=None):
    row = TimelineRow(index, 1, node, phase, desc, "cmd", start - T0, start, budget, end - T0, end, status)
    return step_entry(row, key=f"run:{index}")


def journal(node, *steps, base, gap=1.0, detail=""):
    return tuple(JournalEntry(base + i * gap, node, s, detail or s, True) for i, s in enumerate(steps))


def test_budget_has_one_notation_and_no_budget_is_empty():
    assert budget_text(10) == "≤ T+10 s" and budget_text(2.5) == "≤ T+2.5 s" and budget_text(None) == ""


def test_crash_takeover_is_one_story_ordered_from_the_estimated_crash():
    timing = TimingConfig()
    rows = journal("vm12", "detect", "vip", "promote", "mount", "nfs", "dag", "available", base=T0 + 10)
    story = journal_entries(rows, timing, peer="vm2", priority=100)
    # the console saw the crash before the journal could be read, and saw the VIP move afterwards
    story += [seen("verdict OK → CRITICAL", T0 + 8, Cue.UNHEALTHY, Kind.DEGRADED),
              seen("active node unreachable", T0 + 8, Cue.OPENS, Kind.DEGRADED, node="vm2"),
              seen("VIP → vm12", T0 + 12, Cue.OPENS, Kind.ROLE_CHANGE, "vip", "vm12", 15.0)]
    # the same journal lines read again by the next poll
    story += journal_entries(rows, timing, peer="vm2", priority=100)
    context, incidents = build_incidents(story)
    assert context == [] and len(incidents) == 1
    (inc,) = incidents
    assert inc.kind is Kind.TAKEOVER and inc.title == "crash and automatic takeover: by vm12"
    assert abs(inc.t0 - (T0 + 10 - 3.609375)) < 1e-6  # detect − master-down interval
    starts = [r.start for r in inc.rows]
    assert starts == sorted(starts)
    assert [r.t_plus for r in inc.rows][0] == 0.0 and sum(1 for r in inc.rows if r.t_plus == 0.0) == 1
    steps = [r.step for r in inc.rows]
    assert steps.count("✔ promote") == 1 and steps.count("✔ vip") == 1  # no duplicates
    assert "VIP → vm12" not in steps  # the observation only confirms the journal's vip row
    vip = next(r for r in inc.rows if r.step == "✔ vip")
    assert "console: seen" in vip.note and vip.budget == 15 and vip.over is False
    assert not inc.failed


def test_planned_switchover_journal_rows_fold_into_the_actions_steps():
    timing = TimingConfig()
    begin = Entry("▶ failover → vm12", None, T0, source=Source.ACTION, cue=Cue.ACTION_START, kind=Kind.ACTION,
                  key="begin")
    steps = [step(0, "vm2", "detect", "stop the DAG processor", T0 + 0.1, T0 + 1, budget=10.0),
             step(4, "vm12", "promote", "promote DRBD r0", T0 + 2, T0 + 3, budget=20.0),
             step(5, "vm12", "mount", "mount /dev/drbd0", T0 + 3, T0 + 4, budget=25.0),
             step(8, "vm2", "vip", "stop keepalived on vm2", T0 + 5, T0 + 7, budget=15.0)]
    kit = (JournalEntry(T0 + 5.2, "vm2", "release", "STOP: nothing to release (already standby)", True),
           JournalEntry(T0 + 5.9, "vm12", "detect", "keepalived VI_1: MASTER", True),
           JournalEntry(T0 + 6.0, "vm12", "vip", "VIP on eth0", True),
           JournalEntry(T0 + 6.1, "vm12", "promote", "already Primary (r0)", True),
           JournalEntry(T0 + 6.2, "vm12", "mount", "already mounted: /srv/ha", True),
           JournalEntry(T0 + 6.3, "vm12", "available", "NFS answers", True))
    during = lambda t: "failover" if T0 <= t <= T0 + 9 else None  # noqa: E731
    story = [begin, *steps, *journal_entries(kit, timing, peer="vm2", during=during),
             seen("verdict OK → WARNING", T0 + 1.5, Cue.UNHEALTHY, Kind.DEGRADED),
             seen("verdict WARNING → OK", T0 + 8, Cue.HEALTHY),
             Entry("✔ failover succeeded", "vm12", T0 + 9, cue=Cue.ACTION_END, key="end")]
    # the running version of a step is replaced by its end
    story.insert(1, Entry("… 1. stop the DAG processor", "vm2", T0 + 0.1, pending=True, key="run:0"))
    context, incidents = build_incidents(story)
    (inc,) = incidents
    assert inc.kind is Kind.ACTION and inc.t0 == T0 and inc.title == "hatui action: failover → vm12"
    assert not inc.failed and all(r.outcome is not Outcome.FAILED for r in inc.rows)
    names = [r.step for r in inc.rows]
    assert "✔ promote" not in names and "✔ mount" not in names  # the kit's "already" folded into hatui's steps
    promote = next(r for r in inc.rows if r.step.startswith("✔ 5."))
    assert "node kit: already" in promote.note
    assert "✔ detect" in names and "lost (estimated)" not in " ".join(names)  # no crash invented
    assert sum(1 for r in inc.rows if r.step.startswith("✔ 1.")) == 1 and "… 1. stop the DAG processor" not in names
    assert [r.start for r in inc.rows] == sorted(r.start for r in inc.rows)


def test_a_new_incident_gets_its_own_t0_instead_of_being_appended():
    story = [Entry("▶ failover → vm12", None, T0, cue=Cue.ACTION_START, kind=Kind.ACTION, key="b"),
             step(0, "vm12", "promote", "promote", T0 + 1, T0 + 2, budget=20.0),
             seen("verdict WARNING → OK", T0 + 5, Cue.HEALTHY),
             Entry("✔ failover succeeded", None, T0 + 6, cue=Cue.ACTION_END, key="e"),
             # 90 s later, well within the old 120 s sequence gap: a split brain
             seen("verdict OK → CRITICAL", T0 + 96.8, Cue.UNHEALTHY, Kind.SPLIT_BRAIN),
             seen("DRBD Primary → vm2 + vm12", T0 + 96.8, Cue.OPENS, Kind.ROLE_CHANGE, "promote", "vm2 + vm12", 20.0)]
    _, incidents = build_incidents(story)
    assert [i.kind for i in incidents] == [Kind.ACTION, Kind.SPLIT_BRAIN]
    first, split = incidents
    assert first.end == T0 + 6 and first.ended_by == "healthy again for 30 s"
    assert split.t0 == T0 + 96.8 and all(r.t_plus == 0.0 for r in split.rows)
    assert all(r.over is not True for r in split.rows)  # not "96.8 s ▲ over"


def test_an_opening_entry_once_healthy_again_starts_a_new_incident_at_once():
    story = [seen("verdict OK → WARNING", T0, Cue.UNHEALTHY, Kind.DEGRADED),
             seen("verdict WARNING → OK", T0 + 10, Cue.HEALTHY),
             seen("verdict OK → CRITICAL", T0 + 12, Cue.UNHEALTHY, Kind.SPLIT_BRAIN)]
    _, incidents = build_incidents(story, quiet=30)
    assert [i.t0 for i in incidents] == [T0, T0 + 12]
    assert incidents[0].end == T0 + 12 and incidents[0].ended_by == "a new incident began"


def test_an_incident_ends_when_healthy_for_quiet_seconds_or_after_idle():
    story = [seen("verdict OK → WARNING", T0, Cue.UNHEALTHY, Kind.DEGRADED),
             seen("verdict WARNING → OK", T0 + 10, Cue.HEALTHY),
             seen("verdict OK → WARNING", T0 + 50, Cue.UNHEALTHY, Kind.DEGRADED),
             seen("VIP → vm12", T0 + 400, Cue.OPENS, Kind.ROLE_CHANGE, "vip", "vm12")]
    _, incidents = build_incidents(story, quiet=30, idle=120)
    assert [i.t0 for i in incidents] == [T0, T0 + 50, T0 + 400]
    assert incidents[0].end == T0 + 10 and incidents[1].end == T0 + 50
    assert incidents[2].end is None and incidents[2].header().note.endswith("ongoing")


def test_a_retry_stays_in_its_actions_incident_and_context_rows_stay_outside():
    story = [seen("active at start", T0 - 50, Cue.HEALTHY),
             Entry("▶ failover → vm12", None, T0, cue=Cue.ACTION_START, kind=Kind.ACTION, key="b1"),
             step(4, "vm12", "promote", "promote", T0 + 1, T0 + 2, StepStatus.FAILED, 20.0),
             Entry("▶ failover: retry", None, T0 + 40, cue=Cue.ACTION_START, kind=Kind.ACTION, key="b2"),
             Entry("✔ failover succeeded", None, T0 + 45, cue=Cue.ACTION_END, key="e")]
    context, incidents = build_incidents(story)
    assert [r.step for r in context] == ["active at start"] and context[0].t_plus is None
    (inc,) = incidents
    assert len(inc.rows) == 4 and inc.rows[-1].t_plus == 45.0
    assert [r.step for r in inc.failed] == ["✖ 5. promote"]  # a failure is never folded away
    assert "≤ T+20 s" in row_line(inc.rows[1])


def test_a_clean_handover_in_the_journal_is_not_a_crash():
    timing = TimingConfig()
    peer = (JournalEntry(T0, "vm2", "release", "STOP: stop nfs, umount, secondary", True),)
    kit = journal("vm12", "detect", "vip", "promote", base=T0 + 0.7, gap=0.5)
    story = journal_entries(peer, timing) + journal_entries(kit, timing, peer="vm2", peer_entries=peer)
    _, incidents = build_incidents(story)
    (inc,) = incidents
    assert inc.kind is Kind.ROLE_CHANGE and inc.t0 == T0
    assert not any("lost" in r.step for r in inc.rows)
