from hatui.timelines.journal import journal_timeline, latest_takeover, master_down_interval
from hatui.config import TimingConfig
from hatui.probes.journal import JournalEntry


def entries(base: float):
    steps = ["detect", "vip", "promote", "mount", "nfs", "dag", "available"]
    return tuple(JournalEntry(base + i * 0.5, "vm12", s, s, True) for i, s in enumerate(steps))


def test_master_down_interval_matches_keepalived() -> None:
    assert abs(master_down_interval(100) - 3.609375) < 1e-9


def test_latest_takeover_is_picked_and_rows_compare_with_the_seed() -> None:
    old = entries(1000.0)
    release = (JournalEntry(1100.0, "vm12", "release", "backup", True),)
    new = entries(2000.0)
    assert latest_takeover(old + release + new)[0].ts == 2000.0
    rows = journal_timeline(old + release + new, TimingConfig(), priority=100)
    assert [r.phase for r in rows] == ["detect", "vip", "promote", "mount", "services", "services", "available"]
    assert abs(rows[0].t_end - 3.609375) < 1e-6
    assert rows[-1].budget == 35 and rows[-1].over is False
    slow = journal_timeline(entries(0.0)[:1] + (JournalEntry(40.0, "vm12", "available", "", True),),
                            TimingConfig(), priority=100)
    assert slow[-1].over is True


def test_no_takeover_no_rows() -> None:
    assert journal_timeline((JournalEntry(1.0, "vm2", "release", "", True),), TimingConfig()) == []


def test_journal_entries_mark_already_done_steps_as_success_and_open_a_takeover() -> None:
    from hatui.timelines.journal import journal_entries
    from hatui.timelines.incident import Cue, Kind, Outcome

    kit = entries(1000.0)[:2] + (JournalEntry(1001.0, "vm12", "mount", "already mounted: /srv/ha", True),
                                 JournalEntry(1001.5, "vm12", "nfs", "systemctl start nfs failed", False))
    rows = journal_entries(kit, TimingConfig(), peer="vm2", priority=100)
    lost, detect, vip, mount, nfs = rows
    assert lost.cue is Cue.OPENS and lost.kind is Kind.TAKEOVER and lost.node == "vm2"
    assert abs(detect.start - lost.start - 3.609375) < 1e-6
    assert mount.outcome is Outcome.ALREADY and mount.step == "✔ mount" and mount.budget == 25
    assert nfs.outcome is Outcome.FAILED and nfs.step == "✖ nfs" and nfs.note.startswith("FAILED")
    during = journal_entries(kit, TimingConfig(), peer="vm2", during=lambda t: "failover")
    assert during[0].step == "✔ detect" and all(r.cue is Cue.NONE for r in during)
    assert "during the failover" in during[0].note
