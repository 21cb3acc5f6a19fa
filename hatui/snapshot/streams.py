"""Live between polls: per node, DRBD's ``events2`` and the node kit's journal, merged into the model.

:class:`ClusterStreams` runs two :class:`~hatui.snapshot.stream_follow.Follower`
per node over the node's own SSH connection (its :class:`NodeTransport`):

* ``drbdsetup events2 --timestamps --statistics all`` (with the configured
  command prefix, like the poll's DRBD probe): the initial dump, then every
  change as DRBD makes it;
* ``tail -n 200 -F`` of the node kit's journal: its last lines (the window the
  poll reads), then every step as the kit appends it.

When a line changes what a node reports, that node's latest snapshot (the
poller's ``latest``) gets the stream's DRBD report or journal window at once
and the listeners are told (``listener(node, kinds)``, kinds among ``"drbd"``,
``"journal"`` and ``"poll"``), so the console redraws without waiting for the
next poll. A new journal line means the node kit saw keepalived move: the
state keepalived told the kit (``detect`` … MASTER first thing in a takeover,
``release`` … BACKUP/FAULT/STOP) is shown at once, and that node is polled at
once (a poll that starts after the line: one in flight is waited out), which
brings keepalived's own dump and the VIP (kind ``"poll"``).
Notifications of one burst of lines (the initial dump) are coalesced into one
per node, and a DRBD change that moves no state (statistics at rest) updates
the model quietly: a redraw for it would cost CPU and show nothing new. During
a resync its progress is told at most every :data:`PROGRESS_EVERY` seconds
(the last word always comes); a state change is told at once.

The poll stays, as a reconcile: when a poll's answer comes, whichever is newer
wins — the stream's DRBD state if it changed while the poll ran, the poll's
otherwise; when two polls in a row disagree with a stream that saw no change
meanwhile, the stream missed something and is restarted (it re-reads the
initial dump). One disagreement alone is a change still on its way.
While the journal stream delivers, the poll skips its journal probe.
``stream_status(node)`` says per stream ``on``, ``starting`` or ``off: why``;
off means the poll alone keeps that data, as before streams existed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shlex
from collections.abc import Callable, Mapping
from typing import Protocol

from hatui.config import Config
from hatui.model import NodeSnapshot
from hatui.probes import catalog
from hatui.probes.journal import JournalEntry, kit_vrrp_state
from hatui.probes.records import DrbdReport, VrrpInstance
from hatui.snapshot.stream_follow import Follower, LineSource
from hatui.snapshot.stream_sinks import DrbdEventsSink, JournalSink

DRBD = "drbd"
JOURNAL = "journal"
# While a node's DRBD stream is on, the poll is a reconcile: every 2 poll intervals (4 s by default).
RECONCILE_FACTOR = 2.0
# A running resync's progress (events2 statistics: done, eta, speed) is told at most this often per node:
# every line of it (several a second) redrew the whole screen, which held up the changes that matter.
# State changes (a resync starting or ending, a role, a connection) are told at once.
PROGRESS_EVERY = 0.5
PROGRESS = "progress"


def events2_command(config: Config) -> str:
    """The DRBD stream, run the way the poll runs drbdsetup (prefix first, every word quoted)."""
    return shlex.join([*config.cluster.prefix_words, "drbdsetup", "events2", "--timestamps", "--statistics", "all"])


def journal_command() -> str:
    """The node kit's journal, followed as it grows (and across a replaced file)."""
    return shlex.join(["tail", "-n", str(catalog.JOURNAL_LINES), "-F", catalog.NODE_JOURNAL_PATH])


def drbd_signature(report: DrbdReport | None) -> tuple | None:
    """The states both DRBD sources must agree on (statistics and progress aside)."""
    if report is None or report.source in ("error", "none"):
        return None
    out = []
    for res in sorted(report.resources, key=lambda r: r.name):
        conns = tuple(sorted(
            (str(c.connection), str(c.peer_role),
             tuple(sorted((str(p.replication), str(p.peer_disk)) for p in c.peer_devices)))
            for c in res.connections))
        out.append((res.name, str(res.role), tuple(sorted(str(d.disk) for d in res.devices)), conns))
    return tuple(out)


def _resyncing(report: DrbdReport | None) -> bool:
    if report is None:
        return False
    return any(str(p.replication).startswith(("Sync", "PausedSync", "Verify"))
               for res in report.resources for c in res.connections for p in c.peer_devices)


class NodeStreams:
    """The two streams of one node."""

    def __init__(self, name: str, config: Config, source: LineSource, on_change: Callable[[str, str], None],
                 **follower_options: object) -> None:
        self.name = name
        self.drbd_sink = DrbdEventsSink()
        self.journal_sink = JournalSink()
        self.drbd = Follower(name, DRBD, events2_command(config), source, self.drbd_sink, on_change,
                             **follower_options)  # type: ignore[arg-type]
        self.journal = Follower(name, JOURNAL, journal_command(), source, self.journal_sink, on_change,
                                **follower_options)  # type: ignore[arg-type]
        self.disagreed = 0  # polls in a row that saw another DRBD state than the stream, which said nothing since
        self.mismatches = 0  # times the stream was found to have missed a change (and was restarted)

    @property
    def followers(self) -> tuple[Follower, Follower]:
        return self.drbd, self.journal

    def status(self) -> dict[str, str]:
        return {DRBD: self.drbd.status, JOURNAL: self.journal.status}

    def overlay(self, node: NodeSnapshot) -> NodeSnapshot:
        """``node`` with what the live streams know (a node that did not answer keeps its own data)."""
        if not node.reachable:
            return dataclasses.replace(node, streams=self.status())
        changes: dict[str, object] = {"streams": self.status()}
        if self.drbd.live and (report := self.drbd_sink.report()) is not None:
            changes["drbd"] = report
            changes["unread"] = {k: v for k, v in node.unread.items() if k != catalog.DRBD}
        else:
            changes["drbd"] = self.with_helper_calls(node.drbd)
        if self.journal.live:
            changes["journal"] = window = self.journal_sink.window()
            if (vrrp := self.kit_vrrp(node, window)) is not None:
                changes["vrrp"] = vrrp
        return dataclasses.replace(node, **changes)

    @staticmethod
    def kit_vrrp(node: NodeSnapshot, window: tuple[JournalEntry, ...]) -> VrrpInstance | None:
        """The node's VRRP instance in the state keepalived told the node kit since the node's last poll
        (its own clock), or None (nothing told since, or nothing to compare with): the next poll, which
        the journal line starts at once, then shows what keepalived's own dump says."""
        if node.vrrp is None or node.clock is None:
            return None
        state = kit_vrrp_state(window, node.vrrp.name, node.clock)
        if state is None or state == node.vrrp.state:
            return None
        return dataclasses.replace(node.vrrp, state=state)

    def with_helper_calls(self, report: DrbdReport | None) -> DrbdReport | None:
        """``report`` (a poll's reading) with the stream's recent helper calls: they are the node's events
        whichever source's state is shown, so the window never empties and refills (hatui.present.helper_calls)."""
        calls = self.drbd_sink.state.recent_helper_calls
        return dataclasses.replace(report, helper_calls=calls) if report is not None and calls else report


class StreamedPoller(Protocol):
    """What the streams need of the poller (:class:`~hatui.snapshot.poller.ClusterPoller`)."""

    config: Config
    transports: Mapping[str, LineSource]
    latest: dict[str, NodeSnapshot]

    async def refresh_node(self, name: str) -> NodeSnapshot: ...


class ClusterStreams:
    """Both nodes' streams, merged into a :class:`~hatui.snapshot.poller.ClusterPoller`'s latest answers."""

    def __init__(self, poller: StreamedPoller, sources: Mapping[str, LineSource] | None = None,
                 **follower_options: object) -> None:
        self.poller = poller
        sources = sources or poller.transports
        config = poller.config
        self.nodes = {name: NodeStreams(name, config, sources[name], self._changed, **follower_options)
                      for name in config.node_names}
        self.listeners: list[Callable[[str, frozenset[str]], None]] = []
        self._dirty: dict[str, set[str]] = {}
        self._flush_scheduled = False
        self._told: dict[str, tuple | None] = {}  # per node, the DRBD states the listeners last heard of
        self._tasks: set[asyncio.Task[None]] = set()
        self._progress_told: dict[str, float] = {}  # per node, loop time of the last change told
        self._progress_timers: dict[str, asyncio.TimerHandle] = {}

    def start(self) -> None:
        for node in self.nodes.values():
            for follower in node.followers:
                follower.start()

    async def close(self) -> None:
        for timer in self._progress_timers.values():
            timer.cancel()
        self._progress_timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(f.stop() for n in self.nodes.values() for f in n.followers))

    def status(self, name: str) -> dict[str, str]:
        return self.nodes[name].status()

    def reconcile_interval(self, name: str, poll_interval: float) -> float:
        """How often ``name`` is polled: :data:`RECONCILE_FACTOR` × the interval while its DRBD stream is on
        (under the console's staleness bound of 3 intervals), the interval itself otherwise."""
        return poll_interval * RECONCILE_FACTOR if self.nodes[name].drbd.live else poll_interval

    def skip_probes(self, name: str) -> frozenset[str]:
        """Poll sections a live stream already delivers (the journal's)."""
        return frozenset({catalog.JOURNAL}) if self.nodes[name].journal.live else frozenset()

    def merge_poll(self, name: str, node: NodeSnapshot, started: float) -> NodeSnapshot:
        """A poll's answer, reconciled with the streams (``started``: the stream clock when the poll began)."""
        streams = self.nodes[name]
        if not node.reachable:
            return streams.overlay(node)
        for follower in streams.followers:
            follower.retry_now()  # the node answers: a stream that lost it need not wait out its backoff
        polled = drbd_signature(node.drbd)
        if streams.drbd.live and streams.drbd.last_change <= started and polled is not None:
            # The poll is the newer reading: show it (its statistics are fresher too).
            if polled == drbd_signature(streams.drbd_sink.report()):
                streams.disagreed = 0
            else:  # a change may be on its way in the stream: only twice in a row means it was missed
                streams.disagreed += 1
                if streams.disagreed >= 2:
                    streams.disagreed = 0
                    streams.mismatches += 1
                    streams.drbd.restart()  # the stream missed a change: re-read its initial dump
            return dataclasses.replace(streams.overlay(node), drbd=streams.with_helper_calls(node.drbd),
                                       unread=node.unread)
        return streams.overlay(node)

    def _changed(self, name: str, kind: str) -> None:
        self._dirty.setdefault(name, set()).add(kind)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, {}
        latest = self.poller.latest
        for name, kinds in sorted(dirty.items()):
            if name in latest:
                latest[name] = self.nodes[name].overlay(latest[name])
            if JOURNAL in kinds and self.nodes[name].journal.live:
                self._refresh(name)
            moved = self._drbd_moved(name)
            if kinds == {DRBD} and moved is not True:
                if moved == PROGRESS:
                    self._tell_progress(name)
                continue  # statistics only: in the model, shown with the next redraw
            self._progress_told[name] = asyncio.get_running_loop().time()
            self._tell(name, frozenset(kinds))

    def _tell_progress(self, name: str) -> None:
        """A resync's progress: told at most every :data:`PROGRESS_EVERY` per node (the last one always)."""
        loop = asyncio.get_running_loop()
        due = self._progress_told.get(name, float("-inf")) + PROGRESS_EVERY
        if loop.time() >= due:
            self._progress_told[name] = loop.time()
            self._tell(name, frozenset({DRBD}))
        elif name not in self._progress_timers:
            self._progress_timers[name] = loop.call_at(due, self._progress_due, name)

    def _progress_due(self, name: str) -> None:
        self._progress_timers.pop(name, None)
        self._progress_told[name] = asyncio.get_running_loop().time()
        self._tell(name, frozenset({DRBD}))

    def add_listener(self, listener: Callable[[str, frozenset[str]], None]) -> None:
        """``listener(node, kinds)`` is told of every change shown (until :meth:`remove_listener`)."""
        self.listeners.append(listener)

    def remove_listener(self, listener: Callable[[str, frozenset[str]], None]) -> None:
        """No more changes for ``listener`` (one never added, or already removed: nothing happens)."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    def _tell(self, name: str, kinds: frozenset[str]) -> None:
        for listener in list(self.listeners):
            listener(name, kinds)

    def _drbd_moved(self, name: str) -> bool | str:
        """True: the stream's DRBD states or helper calls differ from what was last told; :data:`PROGRESS`:
        only a running resync moved on; False: nothing to show."""
        streams = self.nodes[name]
        report = streams.drbd_sink.report() if streams.drbd.live else None
        signature = (drbd_signature(report), report.helper_calls if report is not None else ())
        moved = signature != self._told.get(name)
        self._told[name] = signature
        return True if moved else PROGRESS if _resyncing(report) else False

    def _refresh(self, name: str) -> None:
        """Poll ``name`` now (the kit journaled a step: keepalived moved), then tell the listeners.
        Several lines in a row share the poll: each waits out the one in flight, then joins the next."""

        async def refresh() -> None:
            await self.poller.refresh_node(name)
            self._tell(name, frozenset({"poll"}))

        task = asyncio.ensure_future(refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
