"""``pgrep -l`` parser."""

from __future__ import annotations

from hatui.probes.processes import parse_pgrep


def test_processes():
    report = parse_pgrep("1234 pacemakerd\n 987 corosync\n")
    assert [(p.pid, p.name) for p in report.processes] == [(1234, "pacemakerd"), (987, "corosync")]
    assert report.error is None


def test_empty_means_none_running():
    assert parse_pgrep("").processes == () and parse_pgrep("").error is None


def test_error_line():
    report = parse_pgrep("pgrep: invalid option -- 'z'\n")
    assert report.processes == () and report.error == "pgrep: invalid option -- 'z'"
