"""The stream manager over a fake line source: merge, reconnect, fallback, dedupe, reconcile."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
import pytest_asyncio

from hatui.errors import FailureKind, TransportError
from hatui.probes import catalog
from hatui.snapshot.stream_follow import GIVE_UP_AFTER, PERMANENT_RETRY
from hatui.snapshot import streams as streams_module
from hatui.snapshot.streams import DRBD, JOURNAL, ClusterStreams, events2_command, journal_command
from hatui.states import ConnectionState, Role, VrrpState
from hatui.transport import StreamEnded
from tests import builders

pytestmark = pytest.mark.asyncio

END = object()  # the stream's command exits 0


def dump(role: str, connection: str | None = "Connected", peer_role: str = "Secondary") -> list[str]:
    lines = [f"2026-11-29T17:00:00.000000+00:00 exists resource name:r0 role:{role} suspended:no",
             "2026-11-29T17:00:00.000000+00:00 exists device name:r0 volume:0 minor:0 disk:UpToDate client:no"]
    if connection is not None:
        lines += [f"2026-11-29T17:00:00.000000+00:00 exists connection name:r0 peer-node-id:1 conn-name:vm12 "
                  f"connection:{connection} role:{peer_role}",
                  "2026-11-29T17:00:00.000000+00:00 exists peer-device name:r0 peer-node-id:1 conn-name:vm12 "
                  "volume:0 replication:Established peer-disk:UpToDate"]
    return [*lines, "2026-11-29T17:00:00.000000+00:00 exists -"]


def journal_line(ts: float, step: str) -> str:
    return json.dumps({"ts": ts, "node": "vm2", "step": step, "detail": "", "ok": True})


class FakeSource:
    """Per command, a queue of runs; each run a queue of lines, exceptions (raised) or END."""

    def __init__(self) -> None:
        self.runs: dict[str, asyncio.Queue[asyncio.Queue]] = {}
        self.started: dict[str, int] = {}

    def run(self, command: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue()
        self.runs.setdefault(command, asyncio.Queue()).put_nowait(q)
        return q

    async def stream(self, command: str):
        runs = self.runs.setdefault(command, asyncio.Queue())
        lines = await runs.get()
        self.started[command] = self.started.get(command, 0) + 1
        while True:
            item = await lines.get()
            if item is END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class FakePoller:
    def __init__(self) -> None:
        self.config = builders.config()
        self.transports = {}
        self.latest = {n: builders.node(n, active=n == "vm2", peer="vm12" if n == "vm2" else "vm2")
                       for n in self.config.node_names}
        self.refreshed: list[str] = []

    async def refresh_node(self, name: str):
        self.refreshed.append(name)
        return self.latest[name]


class Harness:
    def __init__(self) -> None:
        self.poller = FakePoller()
        self.sources = {n: FakeSource() for n in self.poller.config.node_names}
        self.waits: list[float] = []
        self.streams = ClusterStreams(self.poller, self.sources, sleep=self._sleep)
        self.changed: list[str] = []
        self.streams.listeners.append(lambda node, kinds: self.changed.append(node))
        self.drbd_cmd = events2_command(self.poller.config)
        self.journal_cmd = journal_command()

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)

    def feed(self, node: str, command: str, *items: object) -> asyncio.Queue:
        q = self.sources[node].run(command)
        for item in items:
            q.put_nowait(item)
        return q

    def role(self, node: str = "vm2") -> object:
        return self.poller.latest[node].drbd_role("r0")


async def settle(predicate=lambda: False, rounds: int = 200) -> None:
    """Let the streams run until ``predicate`` holds, then a few more turns (notifications are coalesced)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
        if predicate():
            break
    for _ in range(5):
        await asyncio.sleep(0)


@pytest_asyncio.fixture
async def harness():
    h = Harness()
    yield h
    await h.streams.close()


async def test_a_change_reaches_the_model_and_the_listeners_at_once(harness):
    run = harness.feed("vm2", harness.drbd_cmd, *dump("Primary"))
    harness.streams.start()
    await settle(lambda: harness.streams.status("vm2")[DRBD] == "on")
    assert harness.streams.status("vm2")[DRBD] == "on"
    assert harness.poller.latest["vm2"].streams[DRBD] == "on"
    assert harness.poller.latest["vm2"].drbd.source in ("events2",)
    harness.changed.clear()
    run.put_nowait("2026-11-29T17:00:01.000000+00:00 change resource name:r0 role:Secondary")
    await settle(lambda: harness.changed)
    assert harness.changed == ["vm2"], "one notification for the node whose stream changed"
    assert harness.role() is Role.SECONDARY


async def test_an_initial_dump_is_one_notification_and_nothing_before_its_end_is_shown(harness):
    run = harness.feed("vm2", harness.drbd_cmd, *dump("Primary")[:-1])
    harness.streams.start()
    await settle()
    assert harness.poller.latest["vm2"].drbd.source == "json", "an unfinished dump is not shown"
    assert "vm2" not in harness.changed
    run.put_nowait(dump("Primary")[-1])
    await settle(lambda: harness.changed)
    assert harness.changed.count("vm2") == 1
    assert harness.poller.latest["vm2"].drbd.source == "events2"


async def test_a_dropped_stream_reconnects_and_no_state_from_before_the_gap_survives(harness):
    first = harness.feed("vm2", harness.drbd_cmd, *dump("Primary", "Connected"))
    harness.streams.start()
    await settle(lambda: harness.streams.status("vm2")[DRBD] == "on")
    assert harness.poller.latest["vm2"].drbd.resources[0].connections
    # The connection to the peer goes away while the stream is down: the next dump has none.
    first.put_nowait(TransportError("vm2", "connection lost", kind=FailureKind.DROPPED))
    harness.feed("vm2", harness.drbd_cmd, *dump("Primary", connection=None))
    await settle(lambda: harness.sources["vm2"].started.get(harness.drbd_cmd) == 2
                 and harness.streams.status("vm2")[DRBD] == "on")
    assert harness.sources["vm2"].started[harness.drbd_cmd] == 2
    res = harness.poller.latest["vm2"].drbd.resources[0]
    assert res.connections == (), "the ended connection does not survive the reconnect"
    assert harness.waits and harness.waits[0] <= 1.0, "a first drop is retried quickly"


async def test_a_stream_that_cannot_work_here_is_off_with_why_and_the_poll_keeps_the_data(harness):
    harness.feed("vm2", harness.drbd_cmd,
                 StreamEnded("vm2", harness.drbd_cmd, 127, "sh: 1: drbdsetup: not found\n"))
    harness.feed("vm12", harness.drbd_cmd,
                 StreamEnded("vm12", harness.drbd_cmd, 20, "drbdsetup: unknown command 'events2'\n"))
    polled = harness.poller.latest["vm2"].drbd
    harness.streams.start()
    await settle(lambda: "off" in harness.streams.status("vm12")[DRBD])
    assert harness.streams.status("vm2")[DRBD].startswith("off: command not found")
    assert "drbdsetup: not found" in harness.streams.status("vm2")[DRBD]
    assert harness.streams.status("vm12")[DRBD].startswith("off: not supported here")
    assert harness.poller.latest["vm2"].drbd is polled
    assert harness.poller.latest["vm2"].streams[DRBD].startswith("off: ")
    assert PERMANENT_RETRY in harness.waits


async def test_a_stream_that_keeps_ending_is_reported_off_after_a_few_tries(harness):
    for _ in range(GIVE_UP_AFTER + 1):
        harness.feed("vm2", harness.drbd_cmd, *dump("Primary")[:2], END)  # ends before its dump did
    harness.streams.start()
    await settle(lambda: harness.sources["vm2"].started.get(harness.drbd_cmd, 0) > GIVE_UP_AFTER)
    status = harness.streams.status("vm2")[DRBD]
    assert status.startswith("off: ") and "ended" in status
    assert harness.waits[:3] == sorted(harness.waits[:3]) and harness.waits[1] > harness.waits[0], "backoff grows"


async def test_journal_lines_join_the_model_once_each_and_replace_the_poll_probe(harness):
    base = 1_700_000_000.0
    run = harness.feed("vm2", harness.journal_cmd, journal_line(base, "detect"), journal_line(base + 1, "vip"))
    harness.streams.start()
    await settle(lambda: len(harness.poller.latest["vm2"].journal) == 2)
    assert [e.step for e in harness.poller.latest["vm2"].journal] == ["detect", "vip"]
    await settle(lambda: harness.poller.refreshed)
    assert "vm2" in harness.poller.refreshed, "a journal line polls its node at once"
    assert catalog.JOURNAL in harness.streams.skip_probes("vm2")
    assert catalog.JOURNAL not in harness.streams.skip_probes("vm12")
    # tail -F re-reading a replaced file prints lines it printed before: each is kept once.
    run.put_nowait(journal_line(base, "detect"))
    run.put_nowait(journal_line(base + 2, "promote"))
    run.put_nowait("not json {")
    await settle(lambda: len(harness.poller.latest["vm2"].journal) == 3)
    assert [e.step for e in harness.poller.latest["vm2"].journal] == ["detect", "vip", "promote"]


async def test_a_reconnected_journal_replays_its_window_without_duplicates(harness):
    base = 1_700_000_000.0
    first = harness.feed("vm2", harness.journal_cmd, journal_line(base, "detect"))
    harness.streams.start()
    await settle(lambda: harness.poller.latest["vm2"].journal)
    first.put_nowait(TransportError("vm2", "lost", kind=FailureKind.DROPPED))
    harness.feed("vm2", harness.journal_cmd, journal_line(base, "detect"), journal_line(base + 1, "vip"))
    await settle(lambda: len(harness.poller.latest["vm2"].journal) == 2)
    assert [e.step for e in harness.poller.latest["vm2"].journal] == ["detect", "vip"]


async def test_the_poll_reconciles_newer_wins_and_a_missed_change_restarts_the_stream(harness):
    run = harness.feed("vm2", harness.drbd_cmd, *dump("Primary", "Connected"))
    harness.streams.start()
    await settle(lambda: harness.streams.status("vm2")[DRBD] == "on")
    follower = harness.streams.nodes["vm2"].drbd
    polled = builders.set_drbd(builders.node("vm2", active=True, peer="vm12"), connection=ConnectionState.CONNECTING)
    # A change the stream delivered while the poll ran: the stream's state is newer.
    merged = harness.streams.merge_poll("vm2", polled, started=follower.last_change - 1)
    assert merged.drbd.source == "events2"
    assert harness.streams.nodes["vm2"].mismatches == 0
    # No change since the poll began, and the poll sees another state: shown; once may be a change
    # still on its way in the stream, twice in a row means the stream missed it.
    merged = harness.streams.merge_poll("vm2", polled, started=follower.last_change + 1)
    assert merged.drbd is polled.drbd
    assert harness.streams.nodes["vm2"].mismatches == 0
    merged = harness.streams.merge_poll("vm2", polled, started=follower.last_change + 1)
    assert merged.drbd is polled.drbd
    assert harness.streams.nodes["vm2"].mismatches == 1
    harness.feed("vm2", harness.drbd_cmd, *dump("Primary", "Connecting"))
    run.put_nowait("2026-11-29T17:00:02.000000+00:00 change resource name:r0 role:Primary")
    await settle(lambda: harness.sources["vm2"].started.get(harness.drbd_cmd) == 2)
    assert harness.sources["vm2"].started[harness.drbd_cmd] == 2, "the stream re-reads its dump"
    await settle(lambda: harness.streams.status("vm2")[DRBD] == "on"
                 and harness.poller.latest["vm2"].drbd.resources[0].connections[0].connection
                 is ConnectionState.CONNECTING)
    assert harness.poller.latest["vm2"].drbd.resources[0].connections[0].connection is ConnectionState.CONNECTING


async def test_a_node_that_does_not_answer_keeps_its_own_data_and_shows_the_stream_status(harness):
    harness.streams.start()
    down = builders.node("vm12", active=False, peer="vm2")
    down = type(down)(name="vm12", reachable=False, polled_at=down.polled_at, error="connection refused")
    merged = harness.streams.merge_poll("vm12", down, started=0.0)
    assert merged.drbd is None and merged.reachable is False
    assert set(merged.streams) == {DRBD, JOURNAL}


async def test_statistics_at_rest_update_the_model_quietly_but_a_resync_is_told(harness, monkeypatch):
    run = harness.feed("vm2", harness.drbd_cmd, *dump("Primary"))
    harness.streams.start()
    await settle(lambda: harness.streams.status("vm2")[DRBD] == "on")
    harness.changed.clear()
    run.put_nowait("2026-11-29T17:00:01.000000+00:00 change device name:r0 volume:0 minor:0 written:4096")
    await settle()
    assert harness.changed == [], "no redraw for numbers nobody sees at rest"
    assert harness.poller.latest["vm2"].drbd.source == "events2"
    run.put_nowait("2026-11-29T17:00:02.000000+00:00 change peer-device name:r0 peer-node-id:1 conn-name:vm12 "
                   "volume:0 replication:SyncSource peer-disk:Inconsistent done:10.00")
    await settle(lambda: harness.changed)
    assert harness.changed == ["vm2"]
    harness.changed.clear()
    # Its progress: in the model at once; told at most every PROGRESS_EVERY (several lines, one redraw).
    monkeypatch.setattr(streams_module, "PROGRESS_EVERY", 0.2)
    for done in ("20.00", "30.00", "40.00"):
        run.put_nowait("2026-11-29T17:00:03.000000+00:00 change peer-device name:r0 peer-node-id:1 conn-name:vm12 "
                       f"volume:0 done:{done}")
    await settle(lambda: harness.poller.latest["vm2"].drbd.resources[0].connections[0].peer_devices[0].sync_percent == 40)
    assert harness.changed == [], "progress right after a change waits for its turn"
    await asyncio.sleep(0.25)
    await settle()
    assert harness.changed == ["vm2"], "then one redraw shows the newest progress"
    # The resync's end is a state change: told at once, whatever the progress timer says.
    harness.changed.clear()
    run.put_nowait("2026-11-29T17:00:04.000000+00:00 change peer-device name:r0 peer-node-id:1 conn-name:vm12 "
                   "volume:0 replication:Established peer-disk:UpToDate")
    await settle(lambda: harness.changed)
    assert harness.changed == ["vm2"]


@pytest.mark.parametrize("status, stderr, reason", [
    (127, "sh: 1: drbdsetup: not found", "command not found"),
    (1, "sudo: a password is required", "permission denied"),
    (126, "sh: 1: /usr/sbin/drbdsetup: Permission denied", "permission denied"),
    (20, "drbdsetup: unknown command 'events2'", "not supported here"),
    (1, "tail: cannot open '/var/lib/hatui/journal.jsonl' for reading: No such file or directory", None),
    (None, "", None),  # the connection went: try again
    (0, "", None),
])
async def test_a_stream_that_can_never_work_is_told_from_one_that_may(status, stderr, reason):
    from hatui.snapshot.stream_follow import permanent_reason

    found = permanent_reason(StreamEnded("vm2", "drbdsetup events2", status, stderr + "\n"))
    assert (found.split(" (")[0] if found else None) == reason


async def test_status_json_says_per_node_which_streams_run():
    import dataclasses

    from hatui.present.status_json import status_document

    snap = builders.healthy()
    vm2, vm12 = snap.nodes
    vm2 = dataclasses.replace(vm2, streams={DRBD: "on", JOURNAL: "off: command not found (exit status 127)"})
    doc = status_document(builders.cluster(vm2, vm12))
    streams = {n["name"]: n["stream"] for n in doc["nodes"]}
    assert streams == {"vm2": {DRBD: "on", JOURNAL: "off: command not found (exit status 127)"}, "vm12": {}}


async def test_a_stream_that_lost_its_node_starts_again_as_soon_as_a_poll_reaches_it():
    h = Harness()
    h.waits.clear()

    async def long_sleep(seconds: float) -> None:  # a backoff that would outlast the test
        h.waits.append(seconds)
        await asyncio.sleep(3600)

    h.streams = ClusterStreams(h.poller, h.sources, sleep=long_sleep)
    try:
        h.feed("vm2", h.drbd_cmd, TransportError("vm2", "connection refused", kind=FailureKind.REFUSED))
        h.streams.start()
        await settle(lambda: h.waits)
        assert h.streams.status("vm2")[DRBD].startswith("off: node not answering")
        h.feed("vm2", h.drbd_cmd, *dump("Primary"))
        h.streams.merge_poll("vm2", h.poller.latest["vm2"], started=0.0)  # the poll reached the node
        await settle(lambda: h.streams.status("vm2")[DRBD] == "on")
        assert h.streams.status("vm2")[DRBD] == "on"
    finally:
        await h.streams.close()


def kit_line(node: str, ts: float, step: str, detail: str) -> str:
    return json.dumps({"ts": ts, "node": node, "step": step, "detail": detail, "ok": True})


async def test_keepalived_state_from_the_kit_journal_shows_before_the_poll_and_the_poll_has_the_last_word(harness):
    standby = harness.poller.latest["vm12"]
    assert standby.vrrp.state is VrrpState.BACKUP and standby.clock is not None
    old = standby.clock - 5  # a takeover the last poll already saw: changes nothing
    run = harness.feed("vm12", harness.journal_cmd,
                       kit_line("vm12", old, "detect", "keepalived VI_1: MASTER (priority 100)"))
    harness.streams.start()
    await settle(lambda: harness.poller.latest["vm12"].journal)
    assert harness.poller.latest["vm12"].vrrp.state is VrrpState.BACKUP
    run.put_nowait(kit_line("vm12", standby.clock + 1, "detect", "keepalived VI_1: MASTER (priority 100)"))
    await settle(lambda: len(harness.poller.latest["vm12"].journal) == 2)
    shown = harness.poller.latest["vm12"]
    assert shown.vrrp.state is VrrpState.MASTER  # at once, from keepalived's word to the kit
    assert shown.vrrp.base_priority == standby.vrrp.base_priority  # the rest is the last dump's
    assert "vm12" in harness.changed and "vm12" in harness.poller.refreshed  # told, and polled at once
    # The poll after the line (the node's clock past it) says what keepalived's own dump says.
    polled = dataclasses.replace(standby, clock=standby.clock + 2)
    assert harness.streams.merge_poll("vm12", polled, started=0.0).vrrp.state is VrrpState.BACKUP
    # A release the kit journaled later: BACKUP again, over a poll that said MASTER before it.
    master = dataclasses.replace(standby, vrrp=dataclasses.replace(standby.vrrp, state=VrrpState.MASTER),
                                 clock=standby.clock + 2)
    harness.poller.latest["vm12"] = master
    run.put_nowait(kit_line("vm12", standby.clock + 3, "release", "BACKUP: stopped nfs-server.service"))
    await settle(lambda: len(harness.poller.latest["vm12"].journal) == 3)
    assert harness.poller.latest["vm12"].vrrp.state is VrrpState.BACKUP
