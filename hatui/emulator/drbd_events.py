"""``drbdsetup events2`` from the shared DRBD machine: the initial dump and the change lines that follow it.

One node's view of resource ``r0`` is four objects, each a key (what names it
on every line) and field groups::

    resource     name:r0                                         role | suspended
    connection   name:r0 peer-node-id:1 conn-name:vm12           connection | role
    device       name:r0 volume:0 minor:0                        disk client quorum
    peer-device  name:r0 peer-node-id:1 conn-name:vm12 volume:0  replication | peer-disk peer-client | resync-suspended

The dump (:func:`dump_lines`) prints every object as ``exists`` with all its
fields, then ``exists -``. After that, as drbd-utils' ``drbdsetup events2``
does, a state change prints ``change OBJECT KEY`` followed only by the groups
that changed (``change resource name:r0 role:Primary``), objects in the order
resource, connection, device, peer-device; a node that goes down prints
``destroy`` lines (peer-device, connection, device, resource) and one that
comes back ``create`` lines with all fields. Handlers print ``call helper`` when
they start and ``response helper ... status:N`` when they return::

    call helper name:r0 peer-node-id:1 conn-name:vm12 helper:fence-peer
    response helper name:r0 peer-node-id:1 conn-name:vm12 helper:fence-peer status:4

(``split-brain`` is a per-device handler: ``volume:0 minor:0`` before ``helper:``.)

``--statistics`` appends the statistics to each object's ``exists`` line and to
every ``change`` line it prints (``write-ordering`` only when it changes, as
drbd-utils does); while a resync or verify runs the peer-device also carries
``done:NN.NN eta:N``. A change of statistics alone (a write, resync progress)
is printed at most once per second of machine time per subscriber.
``--full`` is ``--statistics`` with every field group on each change line.
``--timestamps`` puts an ISO time (``2024-05-06T07:08:09.123456+00:00``) first.

The API, used through :class:`~hatui.emulator.drbd_machine.DrbdMachine`:
``m.events.subscribe(callback, node=..., timestamps=..., statistics=...,
full=..., wall=...)`` returns an unsubscribe function; ``callback`` gets one
line per call (no newline) after each state change, starting with the first
change after the subscription (take ``m.events.dump(node, ...)`` in the same
step: dump + lines is the whole stream). A callback that raises is dropped.
This module reads the machine through :class:`EventSource` only, so it
imports nothing of the machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from hatui.emulator.drbd_base import DrbdNode

STATS_INTERVAL = 1.0  # seconds of machine time between two statistics-only change lines
_DESTROY_ORDER = ("peer-device", "connection", "device", "resource")  # drbd-utils' print_changes
Fields = dict[str, str]
Groups = tuple[Fields, ...]


class EventSource(Protocol):
    """What the events read of the DRBD machine."""

    resource: str
    minor: int
    device_kib: int
    now: float

    def node(self, name: str) -> DrbdNode: ...
    def peer(self, name: str) -> DrbdNode: ...
    def replication(self, name: str) -> str: ...
    def peer_role(self, name: str) -> str: ...
    def peer_disk(self, name: str) -> str: ...
    def out_of_sync_kib(self, name: str) -> int: ...
    def sync_progress(self, name: str) -> dict[str, float] | None: ...


@dataclass(frozen=True)
class EventObject:
    """One events2 object as a node sees it: its key words, field groups and statistics."""

    kind: str  # resource, connection, device, peer-device
    key: str  # "name:r0 peer-node-id:1 conn-name:vm12" ...
    groups: Groups
    stats: Fields


def _words(fields: Fields) -> str:
    return " ".join(f"{k}:{v}" for k, v in fields.items())


def node_objects(m: EventSource, name: str) -> list[EventObject]:
    """``name``'s objects in events2 order (none while the node is down)."""
    d = m.node(name)
    if not d.up:
        return []
    p, r = m.peer(name), m.resource
    conn_key = f"name:{r} peer-node-id:{p.node_id} conn-name:{p.name}"
    pd_stats = {"received": str(d.received_kib), "sent": str(d.sent_kib),
                "out-of-sync": str(m.out_of_sync_kib(name)), "pending": "0", "unacked": "0"}
    progress = m.sync_progress(name)
    if progress is not None:
        pd_stats.update({"done": f"{progress['done']:.2f}", "eta": str(int(progress["eta_s"]))})
    return [
        EventObject("resource", f"name:{r}", ({"role": d.role}, {"suspended": d.suspended or "no"}),
                    {"write-ordering": "flush"}),
        EventObject("connection", conn_key, ({"connection": d.conn}, {"role": m.peer_role(name)}),
                    {"congested": "no", "ap-in-flight": "0", "rs-in-flight": "0"}),
        EventObject("device", f"name:{r} volume:0 minor:{m.minor}",
                    ({"disk": d.disk, "client": "no", "quorum": "yes"},),
                    {"size": str(m.device_kib), "read": "0", "written": str(d.written_kib), "al-writes": "0",
                     "bm-writes": "0", "upper-pending": "0", "lower-pending": "0", "al-suspended": "no",
                     "blocked": "no"}),
        EventObject("peer-device", f"{conn_key} volume:0",
                    ({"replication": m.replication(name)}, {"peer-disk": m.peer_disk(name), "peer-client": "no"},
                     {"resync-suspended": "no"}),
                    pd_stats),
    ]


def _full_line(action: str, obj: EventObject, statistics: bool) -> str:
    words = [action, obj.kind, obj.key] + [_words(g) for g in obj.groups]
    if statistics:
        words.append(_words(obj.stats))
    return " ".join(words)


def dump_lines(m: EventSource, name: str, *, statistics: bool = False, timestamps: bool = False,
               wall: float | None = None) -> list[str]:
    """The initial dump: ``exists`` lines, ``exists -`` last (with ``timestamps``: ``wall``, or now, first)."""
    lines = [_full_line("exists", o, statistics) for o in node_objects(m, name)] + ["exists -"]
    if timestamps:
        stamp = iso_timestamp(time.time() if wall is None else wall)
        lines = [f"{stamp} {line}" for line in lines]
    return lines


def helper_line(m: EventSource, name: str, helper: str, status: int | None = None) -> str:
    """``call helper ...`` (status None) or ``response helper ... status:N`` on node ``name``."""
    p = m.peer(name)
    device = f" volume:0 minor:{m.minor}" if helper == "split-brain" else ""
    line = (f"{'call' if status is None else 'response'} helper name:{m.resource} peer-node-id:{p.node_id} "
            f"conn-name:{p.name}{device} helper:{helper}")
    return line if status is None else f"{line} status:{status}"


def iso_timestamp(wall: float) -> str:
    """drbdsetup's ``--timestamps`` prefix: ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (UTC here)."""
    micro = int(round((wall % 1) * 1_000_000)) % 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{micro:06d}+00:00"


def _change_line(old: EventObject, new: EventObject, sub: _Subscriber, stats_due: bool) -> str | None:
    """The ``change`` line from ``old`` to ``new`` (None when nothing is to be printed yet)."""
    groups = [g for g, before in zip(new.groups, old.groups) if g != before]
    stats_changed = sub.statistics and new.stats != old.stats
    if not groups and not (stats_changed and stats_due):
        return None
    words = ["change", new.kind, new.key] + [_words(g) for g in (new.groups if sub.full else groups)]
    if sub.statistics:
        stats = dict(new.stats)
        if new.kind == "resource" and not sub.full and stats.get("write-ordering") == old.stats.get("write-ordering"):
            stats.pop("write-ordering")
        if stats:
            words.append(_words(stats))
    return " ".join(words)


@dataclass
class _Subscriber:
    node: str
    callback: Callable[[str], None]
    timestamps: bool
    statistics: bool
    full: bool
    wall: Callable[[], float]
    seen: dict[tuple[str, str], EventObject] = field(default_factory=dict)
    stats_at: float = float("-inf")  # machine time of the last statistics-only line


class Events2Stream:
    """The machine's events2 subscribers: diffs each node's objects after a change and prints the lines."""

    def __init__(self, source: EventSource) -> None:
        self._m = source
        self._subs: list[_Subscriber] = []

    def subscribe(self, callback: Callable[[str], None], *, node: str, timestamps: bool = False,
                  statistics: bool = False, full: bool = False,
                  wall: Callable[[], float] = time.time) -> Callable[[], None]:
        """Call ``callback`` with each events2 line of ``node`` from now on; returns the unsubscribe function.

        ``full`` (``--full``): statistics, and every field group on each change line."""
        sub = _Subscriber(node, callback, timestamps, statistics or full, full, wall)
        self._m.node(node)  # KeyError for an unknown node, now rather than at the first change
        sub.seen = {(o.kind, o.key): o for o in node_objects(self._m, node)}
        self._subs.append(sub)
        return lambda: self._drop(sub)

    def dump(self, node: str, *, statistics: bool = False, timestamps: bool = False,
             wall: float | None = None) -> list[str]:
        """``drbdsetup events2 --now`` on ``node``: see :func:`dump_lines`."""
        return dump_lines(self._m, node, statistics=statistics, timestamps=timestamps, wall=wall)

    def _drop(self, sub: _Subscriber) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def flush(self) -> None:
        """Print what changed since each subscriber's last line (call after every state change)."""
        views: dict[str, list[EventObject]] = {}
        for sub in list(self._subs):
            objects = views.get(sub.node)
            if objects is None:
                objects = views[sub.node] = node_objects(self._m, sub.node)
            self._send(sub, self._diff(sub, objects))

    def helper(self, node: str, helper: str, status: int | None = None) -> None:
        """A handler starts (``status`` None) or returns on ``node``: pending changes first, then the line."""
        self.flush()
        line = helper_line(self._m, node, helper, status)
        for sub in list(self._subs):
            if sub.node == node:
                self._send(sub, [line])

    def _diff(self, sub: _Subscriber, objects: list[EventObject]) -> list[str]:
        stats_due = self._m.now - sub.stats_at >= STATS_INTERVAL
        lines: list[str] = []
        current: dict[tuple[str, str], EventObject] = {}
        for obj in objects:
            key = (obj.kind, obj.key)
            current[key] = obj
            old = sub.seen.get(key)
            if old is None:
                lines.append(_full_line("create", obj, sub.statistics))
                continue
            line = _change_line(old, obj, sub, stats_due)
            if line is None:
                current[key] = old  # not printed yet: compare the next change against what was printed
                continue
            lines.append(line)
        gone = [(k, o) for k, o in sub.seen.items() if k not in current]
        for key, old in sorted(gone, key=lambda item: _DESTROY_ORDER.index(item[1].kind)):
            lines.append(f"destroy {old.kind} {old.key}")
        sub.seen = current
        if lines and sub.statistics:
            sub.stats_at = self._m.now
        return lines

    def _send(self, sub: _Subscriber, lines: list[str]) -> None:
        for line in lines:
            try:
                sub.callback(f"{iso_timestamp(sub.wall())} {line}" if sub.timestamps else line)
            except Exception:
                self._drop(sub)  # a subscriber that cannot take lines (its channel closed) is gone
                return


class _HasEvents(Protocol):
    events: Events2Stream


def emits(method: Callable) -> Callable:
    """Decorate a machine verb: once it returns, subscribers get the events2 lines for what it changed."""

    def verb(self: _HasEvents, *args, **kwargs):
        result = method(self, *args, **kwargs)
        self.events.flush()
        return result

    verb.__name__, verb.__qualname__, verb.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return verb
