from hatui.auto_timeline import journal_timeline, latest_takeover, master_down_interval
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
