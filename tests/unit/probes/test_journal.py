from hypothesis import given, settings, strategies as st

from hatui.probes.journal import JournalEntry, parse_journal


def test_journal_lines_parse_and_bad_lines_are_skipped() -> None:
    text = (
        '{"ts": 100.5, "node": "vm12", "step": "vip", "detail": "added VIP", "ok": true}\n'
        "garbage line\n"
        '{"ts": "x", "step": "mount"}\n'
        '{"ts": 101, "node": "vm12", "step": "promote", "ok": false}\n'
        '{"ts": 102, "node": "vm12", "st'  # half-written last line
    )
    entries = parse_journal(text)
    assert entries == (
        JournalEntry(100.5, "vm12", "vip", "added VIP", True),
        JournalEntry(101.0, "vm12", "promote", "", False),
    )


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_journal_parser_never_raises(text: str) -> None:
    assert isinstance(parse_journal(text), tuple)
