"""The audit log survives a crash: every line on disk is a whole record.

A writer process is SIGKILLed while it appends as fast as it can; the file it
leaves must be valid JSONL, and the next hatui must append cleanly after it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hatui.actions.audit import AuditLog, read_audit
from tests import REPO

WRITER = """
import sys
from hatui.actions.audit import AuditLog
log = AuditLog("failover", path=sys.argv[1])
big = "x" * 20000  # large records: a kill is likely to land during a write
i = 0
while True:
    log.record("command", seq=i, output=big)
    i += 1
"""


def lines_of(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the file ends in the middle of a line"
    return data.decode("utf-8").splitlines()


def test_kill_9_mid_write_loop_leaves_valid_jsonl(tmp_path: Path) -> None:
    """Every record before the kill is whole and in order. The one being written may be cut short: Linux
    stops a large write between pages when the process is killed (seen here with these 20 kB records);
    that torn line is closed by the next record and skipped by readers, never merged with a record."""
    path = tmp_path / "state" / "audit.jsonl"
    root = REPO
    for kill in range(3):  # a few kills at different moments
        before = len(read_audit(path))
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=root)
        deadline = time.monotonic() + 30
        while (not path.exists() or len(path.read_bytes().splitlines()) < before + 20) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        records = read_audit(path)
        assert len(records) >= before + 20
        seqs = [r["seq"] for r in records[before:]]
        assert seqs == list(range(len(seqs)))  # in order, none lost or duplicated before the kill
        *whole, tail = path.read_bytes().split(b"\n")
        assert len(whole) - len(records) <= kill + 1  # at most one torn line per kill so far
        assert tail == b"" or not tail.endswith(b"}")  # a tail is a record cut short, never a whole one

    AuditLog("failover", path=path).record("result", result="succeeded")
    assert read_audit(path)[-1]["result"] == "succeeded"
    assert lines_of(path)  # ends with a newline again: the torn line was closed before the record


def test_a_torn_last_line_does_not_swallow_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog("failover", path=path)
    assert log.record("start", plan={"steps": 1})
    with open(path, "ab") as fh:
        fh.write(b'{"event": "command", "node": "vm1", "comm')  # what a power cut can leave
    assert log.record("result", result="failed")
    events = [r["event"] for r in read_audit(path)]
    assert events == ["start", "result"]
    assert lines_of(path)[1].startswith('{"event": "command"')


def test_record_says_when_it_could_not_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert AuditLog("failover", path=blocker / "audit.jsonl").record("start") is False
