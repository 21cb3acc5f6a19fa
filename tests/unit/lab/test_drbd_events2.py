"""The lab DRBD emulator's ``drbdsetup events2`` stays open: the dump, then each change, until the reader goes away.

Two daemons on loopback (the fixtures of :mod:`tests.unit.lab.test_drbd`), the
front end run as the node's ``drbdsetup`` is.
"""

from __future__ import annotations

import re
import signal
import sys

import pytest

from tests.line_reader import LineReader
from tests.unit.lab.test_drbd import ROOT, Node, conn, pair, wait_for  # noqa: F401 - pair is a fixture

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 ")


def events2(node: Node, *args: str) -> LineReader:
    """``drbdsetup events2 ARGS`` on ``node``, as the node's ``drbdsetup`` runs it."""
    return LineReader([sys.executable, "-m", "hatui.lab.drbd.cli", "drbdsetup", "events2", *args], env=node.envvars,
                      cwd=ROOT)


@pytest.fixture
def follow():
    streams: list[LineReader] = []

    def start(node: Node, *args: str) -> LineReader:
        streams.append(events2(node, *args))
        return streams[-1]

    yield start
    for s in streams:
        s.stop()


def followers(node: Node) -> int:
    return node.api(op="state")["events2_followers"]


def test_events2_prints_the_dump_then_each_change_until_its_reader_goes_away(pair, follow) -> None:
    a, b = pair
    ev = follow(b, "--timestamps", "r0")  # the follower: its changes arrive as the coordinator's pushes
    ev.until("exists -$")
    dump = ev.lines
    assert all(STAMP.match(line) for line in dump), dump
    assert any(re.search(r" exists connection name:r0 peer-node-id:0 conn-name:alpha connection:Connected "
                         r"role:Secondary$", line) for line in dump), dump
    wait_for(lambda: followers(b) == 1, what="one follower")

    assert b.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert STAMP.match(ev.until(r" change resource name:r0 role:Primary$"))
    assert a.api(op="fault", kind="block") == {"rc": 0}
    ev.until(r" change connection name:r0 peer-node-id:0 conn-name:alpha connection:(?!Connected)")
    assert a.api(op="fault", kind="unblock") == {"rc": 0}
    ev.until(r" change connection name:r0 peer-node-id:0 conn-name:alpha connection:Connected", timeout=10)

    assert ev.proc.stdout is not None
    ev.proc.stdout.close()  # the reader goes away (ssh closed): the stream ends, unsubscribed
    assert ev.proc.wait(5) == 0
    assert b"Traceback" not in ev.proc.stderr.read()
    wait_for(lambda: followers(b) == 0, what="unsubscribed")


def test_full_prints_every_group_and_sigterm_ends_events2_cleanly(pair, follow) -> None:
    a, _ = pair
    ev = follow(a, "--full", "r0")
    ev.until("exists -$")
    assert not STAMP.match(ev.lines[0]) and ev.lines[0].endswith(" write-ordering:flush")  # --full: statistics
    wait_for(lambda: followers(a) == 1, what="one follower")
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    ev.until(r"^change resource name:r0 role:Primary suspended:no ")  # --full: the unchanged group too
    ev.proc.send_signal(signal.SIGTERM)
    assert ev.proc.wait(5) == 128 + signal.SIGTERM
    assert ev.proc.stderr.read() == b""
    wait_for(lambda: followers(a) == 0, what="unsubscribed")


def test_events2_refusals_and_now_end_at_once(pair) -> None:
    a, _ = pair
    bad = a.cli("drbdsetup", "events2", "r9")
    assert (bad.returncode, bad.stdout, bad.stderr) == (10, "", "r9: No such resource\n")
    now = a.cli("drbdsetup", "events2", "--now", "r0")
    assert now.returncode == 0 and now.stdout.splitlines()[-1] == "exists -"
    assert followers(a) == 0


def test_events2_says_so_when_the_emulator_stops_under_it(pair, follow) -> None:
    _, b = pair
    ev = follow(b, "r0")
    ev.until("exists -$")
    b.stop(signal.SIGTERM)
    assert ev.proc.wait(5) == 1
    assert ev.proc.stderr.read() == b"drbd_cli: DRBD emulator stopped\n"
    down = b.cli("drbdsetup", "events2", "r0")  # no daemon: as a node without the DRBD module
    assert down.returncode == 20 and "generic netlink family" in down.stderr
