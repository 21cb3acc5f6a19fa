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


def _entry(ts: float, step: str, detail: str) -> JournalEntry:
    return JournalEntry(ts=ts, node="vm12", step=step, detail=detail)


def test_kit_vrrp_state_is_the_newest_transition_the_kit_journaled_since_a_time() -> None:
    from hatui.probes.journal import kit_vrrp_state
    from hatui.states import VrrpState

    takeover = (_entry(10.0, "detect", "keepalived VI_1: MASTER (priority 100)"),
                _entry(10.1, "vip", "VIP 10.0.0.9/24 on eth0"), _entry(10.2, "promote", "drbdadm primary r0"))
    assert kit_vrrp_state(takeover, "VI_1", after=9.0) is VrrpState.MASTER
    assert kit_vrrp_state(takeover, "VI_1", after=10.0) is None  # the poll at 10.0 already saw it
    assert kit_vrrp_state(takeover, "VI_2", after=9.0) is None  # another instance's line
    released = takeover + (_entry(11.0, "release", "BACKUP: stopped airflow-dag-processor.service"),)
    assert kit_vrrp_state(released, "VI_1", after=9.0) is VrrpState.BACKUP  # newest first
    for word, state in (("FAULT", VrrpState.FAULT), ("STOP", VrrpState.STOP)):
        assert kit_vrrp_state((_entry(5.0, "release", f"{word}: nothing to release (already standby)"),),
                              "VI_1", after=0.0) is state
    # Not a transition: a skipped notify, a failed config read, other steps.
    noise = (_entry(5.0, "notify", "BACKUP skipped: keepalived has since reported MASTER"),
             _entry(5.1, "release", "could not read kit.conf"), _entry(5.2, "detect", "something else"))
    assert kit_vrrp_state(noise, "VI_1", after=0.0) is None
    assert kit_vrrp_state((), "VI_1", after=0.0) is None
