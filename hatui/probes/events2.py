"""``drbdsetup events2`` read as DRBD means it: a stream of changes to a set of objects.

drbd-utils (``user/v9/drbdsetup_events2.c``) prints one event per line, never
wrapped: ``[TIMESTAMP ]ACTION OBJECT key:value ...``. ACTION is ``exists``
(the initial dump, ended by ``exists -``), ``create``, ``change``, ``destroy``,
``rename`` (a resource's ``new_name:``), or ``call`` / ``response`` for a
``helper`` (a handler DRBD runs: fence-peer, split-brain …). OBJECT is
``resource``, ``device``, ``connection``, ``peer-device``, ``path`` or
``helper``. Objects are keyed as drbdsetup keys them: a resource by ``name``, a
device by ``volume``, a connection by ``conn-name`` (``peer-node-id`` when a
line has no name), a peer device by connection and ``volume``, a path by its two
addresses. ``--timestamps`` puts an ISO time first, ``--color`` wraps values in
ANSI codes, ``--diff`` prints ``key:old->new`` and ``--full`` every field.

The rules this parser keeps (issue 13):

* ``exists`` / ``create`` carry an object's whole state; ``change`` only what
  changed, so a change keeps the fields it does not mention, except fields that
  exist only during a state: a resync's ``done:``, ``eta:``, ``dbdt*``, ``rs-*``
  disappear when the replication state leaves the sync states or when a
  statistics block comes without them; ``blocked:`` (printed only while I/O is
  blocked) becomes unknown when a statistics block no longer says it;
  ``sync-state:`` (``SplitBrain`` / ``Unrelated``, printed on every line of a
  StandAlone connection that DRBD refused for that reason) goes when a
  connection line comes without it.
* A line naming an object whose parent was never seen creates the parent (a
  stream joined mid-way, a peer device before its connection line).
* A line that is malformed (no object, a word without ``:``, a key it needs
  missing or not a number) or unknown (an action or object drbd-utils does not
  print) changes nothing; it is counted and the last few are kept.

Pure: no I/O, never raises on any input.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Iterable

from hatui.probes.drbd_fields import error_report, to_int, tree_resource
from hatui.probes.records import DrbdReport, Events2Event, HelperCall
from hatui.states import ReplicationState, is_syncing

__all__ = ["Events2State", "HelperCall", "drbd_report_from_events2", "parse_events2_line"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?$")
_STATE_ACTIONS = frozenset({"exists", "create", "change", "destroy"})
_HELPER_ACTIONS = frozenset({"call", "response"})
_OBJECTS = frozenset({"resource", "device", "connection", "peer-device", "path"})
# Keys a line must carry to name its object (a peer's connection: conn-name or peer-node-id).
_NEEDS = {"resource": ("name",), "device": ("name", "volume"), "connection": ("name",),
          "peer-device": ("name", "volume"), "path": ("name",), "helper": ("name", "helper")}
_NUMBERS = ("volume", "peer-node-id", "minor", "status", "promotion_score")
# Fields that exist only while a resync or verify runs (print_peer_device_statistics).
_SYNC_ONLY = ("done", "eta", "dbdt", "dbdt0", "dbdt1", "want", "rs-total", "rs-dt-start-ms", "rs-paused-ms",
              "rs-dt0-ms", "rs-db0-sectors", "rs-dt1-ms", "rs-db1-sectors", "rs-failed", "rs-same-csum",
              "ov-start-sector", "ov-stop-sector", "ov-position", "ov-left", "ov-skipped")
_VERIFYING = (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T)
KEEP_IGNORED = 5  # malformed lines kept for the details
KEEP_HELPERS = 20  # helper calls kept on the report
KEEP_QUEUED = 1000  # helper calls waiting for take_helper_calls


def parse_events2_line(line: str) -> Events2Event | None:
    """One line as an event, or None for a blank line.

    Tolerant (kept for callers that only want the words): a leading timestamp
    is split off and words without a colon are kept with the value "". Whether
    the event is one DRBD prints is :class:`Events2State`'s question.
    """
    try:
        tokens = _ANSI.sub("", line if isinstance(line, str) else "").split()
        if not tokens:
            return None
        timestamp = tokens.pop(0) if len(tokens) > 1 and _TIMESTAMP.match(tokens[0]) else None
        kind = tokens[0]
        obj = tokens[1] if len(tokens) > 1 else ""
        fields: dict[str, str] = {}
        for token in tokens[2:]:
            key, _, value = token.partition(":")
            fields[key] = value
        end = kind == "exists" and obj == "-"
        return Events2Event(kind=kind, object=obj, fields=fields, timestamp=timestamp, end_of_initial_dump=end)
    except Exception:
        return None


def _strict(line: str) -> tuple[Events2Event | None, str | None]:
    """The event of a line DRBD could have printed, or (None, why it is not one); (None, None) for blank."""
    tokens = _ANSI.sub("", line).split()
    if not tokens:
        return None, None
    timestamp = tokens.pop(0) if _TIMESTAMP.match(tokens[0]) else None
    if len(tokens) < 2:
        return None, "no object"
    action, obj, words = tokens[0], tokens[1], tokens[2:]
    if action == "exists" and obj == "-":
        return (Events2Event("exists", "-", {}, timestamp, True), None) if not words else (None, "words after -")
    if action in _HELPER_ACTIONS:
        if obj != "helper":
            return None, f"unknown {action} object {obj!r}"
    elif action in _STATE_ACTIONS:
        if obj not in _OBJECTS:
            return None, f"unknown object {obj!r}"
    elif not (action == "rename" and obj == "resource"):
        return None, f"unknown action {action!r}"
    fields: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition(":")
        if not sep or not key:
            return None, f"not a key:value word {word[:40]!r}"
        _, arrow, new = value.rpartition("->")  # --diff: key:old->new
        fields[key] = new if arrow else value
    for key in _NEEDS.get(obj, ("name",)):
        if not fields.get(key):
            return None, f"{obj} without {key}:"
    if obj in ("connection", "peer-device", "path") and not (fields.get("conn-name") or fields.get("peer-node-id")):
        return None, f"{obj} without conn-name: or peer-node-id:"
    if action == "rename" and not fields.get("new_name"):
        return None, "rename without new_name:"
    for key in _NUMBERS:
        if key in fields and to_int(fields[key]) is None:
            return None, f"{key}:{fields[key][:20]} is not a number"
    return Events2Event(action, obj, fields, timestamp), None


def _resource() -> dict:
    return {"f": {}, "dev": {}, "conn": {}}


def _connection() -> dict:
    return {"f": {}, "pd": {}, "paths": {}}


class Events2State:
    """The objects an events2 stream describes, kept current line by line.

    ``feed`` each line as it arrives; ``report`` gives the same records the
    poll's parsers give (source "events2"); ``reset`` after a reconnect, before
    the new initial dump. Helper calls are events, not state: they are queued
    for :meth:`take_helper_calls` and the recent ones ride on the report.
    """

    def __init__(self) -> None:
        self._resources: dict[str, dict] = {}
        self._initial_done = False
        self._calls: list[HelperCall] = []
        self._recent: deque[HelperCall] = deque(maxlen=KEEP_HELPERS)
        self._ignored: deque[str] = deque(maxlen=KEEP_IGNORED)
        self.malformed = 0
        self.events = 0  # lines applied (valid events, "exists -" included)

    @property
    def initial_done(self) -> bool:
        """The ``exists -`` line was seen since the last reset: the state is complete."""
        return self._initial_done

    @property
    def ignored_lines(self) -> tuple[str, ...]:
        """The last few lines that were ignored, each with why."""
        return tuple(self._ignored)

    @property
    def recent_helper_calls(self) -> tuple[HelperCall, ...]:
        """The last :data:`KEEP_HELPERS` helper events, oldest first; a reset keeps them (they happened)."""
        return tuple(self._recent)

    def reset(self) -> None:
        """A reconnect: forget every object and wait for a new initial dump (queued helper calls stay)."""
        self._resources.clear()
        self._initial_done = False

    def take_helper_calls(self) -> list[HelperCall]:
        """The helper calls and responses that arrived since the last take, oldest first."""
        calls, self._calls = self._calls, []
        return calls

    def feed(self, line: str) -> bool:
        """Apply one line; True if the state changed, the initial dump ended or a helper event arrived."""
        try:
            event, why = _strict(line if isinstance(line, str) else "")
            if event is not None:
                return self._apply(event)
        except Exception as exc:  # never let one line kill a stream
            why = f"parser failed: {type(exc).__name__}"
        if why is not None:
            self.malformed += 1
            self._ignored.append(f"{why}: {str(line).strip()[:160]}")
        return False

    # --- applying events ---------------------------------------------------------------

    def _apply(self, event: Events2Event) -> bool:
        self.events += 1
        if event.end_of_initial_dump:
            changed = not self._initial_done
            self._initial_done = True
            return changed
        if event.object == "helper":
            self._helper(event)
            return True
        if event.kind == "rename":
            return self._rename(event.fields["name"], event.fields["new_name"])
        if event.kind == "destroy":
            return self._destroy(event)
        return self._upsert(event)

    def _helper(self, event: Events2Event) -> None:
        f = event.fields
        call = HelperCall(
            resource=f["name"], helper=f["helper"], response=event.kind == "response",
            status=to_int(f.get("status")), peer=f.get("conn-name") or None, peer_node_id=to_int(f.get("peer-node-id")),
            volume=to_int(f.get("volume")), minor=to_int(f.get("minor")), timestamp=event.timestamp,
        )
        self._calls.append(call)
        del self._calls[:-KEEP_QUEUED]  # nobody takes them (a one-shot fold): keep memory bounded
        self._recent.append(call)

    def _rename(self, old: str, new: str) -> bool:
        if old not in self._resources or old == new:
            return False
        self._resources[new] = self._resources.pop(old)
        self._resources[new]["f"]["name"] = new
        return True

    def _conn_key(self, res: dict, f: dict[str, str]) -> str:
        """drbdsetup's key of a connection: its conn-name; a line with only peer-node-id finds it by that."""
        name, node_id = f.get("conn-name"), f.get("peer-node-id")
        if name:
            unnamed = f"node-id:{node_id}"
            if name not in res["conn"] and unnamed in res["conn"]:  # first seen without its name
                res["conn"][name] = res["conn"].pop(unnamed)
                res["conn"][name]["f"]["conn-name"] = name
            return name
        for key, conn in res["conn"].items():
            if conn["f"].get("peer-node-id") == node_id:
                return key
        return f"node-id:{node_id}"

    def _destroy(self, event: Events2Event) -> bool:
        f, obj = event.fields, event.object
        res = self._resources.get(f["name"])
        if res is None:
            return False
        if obj == "resource":
            del self._resources[f["name"]]
            return True
        if obj == "device":
            return res["dev"].pop(str(to_int(f["volume"])), None) is not None
        conn = res["conn"].get(self._conn_key(res, f))
        if obj == "connection":
            return res["conn"].pop(self._conn_key(res, f), None) is not None
        if conn is None:
            return False
        if obj == "peer-device":
            return conn["pd"].pop(str(to_int(f["volume"])), None) is not None
        return conn["paths"].pop(_path_key(f), None) is not None

    def _upsert(self, event: Events2Event) -> bool:
        f, obj = dict(event.fields), event.object
        whole = event.kind != "change"  # exists/create: the object's whole state
        res = self._resources.get(f["name"])
        if res is None:
            res = self._resources[f["name"]] = _resource()
            res["f"]["name"] = f["name"]
        if obj == "resource":
            return _apply(res["f"], f, whole)
        if obj == "device":
            f["volume"] = str(to_int(f["volume"]))
            dev = res["dev"].setdefault(f["volume"], {})
            before = dict(dev)
            _apply(dev, f, whole)
            if not whole and ("read" in f or "written" in f) and "blocked" not in f and dev.get("blocked", "no") != "no":
                dev.pop("blocked")  # printed only while blocked: its absence may mean it cleared
            return dev != before
        key = self._conn_key(res, f)
        conn = res["conn"].get(key)
        if conn is None:
            conn = res["conn"][key] = _connection()
            conn["f"].update({k: f[k] for k in ("name", "conn-name", "peer-node-id") if k in f})
        if obj == "connection":
            before = dict(conn["f"])
            if "sync-state" not in f:  # printed on every line of a StandAlone connection while it holds
                conn["f"].pop("sync-state", None)
            _apply(conn["f"], f, whole)
            return conn["f"] != before
        if obj == "path":
            path = conn["paths"].setdefault(_path_key(f), {})
            return _apply(path, f, whole)
        f["volume"] = str(to_int(f["volume"]))
        pd = conn["pd"].setdefault(f["volume"], {})
        before = dict(pd)
        _apply(pd, f, whole)
        repl = ReplicationState.parse(pd.get("replication")) if "replication" in pd else None
        ended = repl is not None and not is_syncing(repl) and repl not in _VERIFYING
        stats_without_sync = "received" in f and "done" not in f
        if ended or stats_without_sync:
            for field in _SYNC_ONLY:
                pd.pop(field, None)
        return pd != before

    def report(self) -> DrbdReport:
        """The current state, as the poll's parsers report it (source "events2")."""
        try:
            resources = tuple(tree_resource(_tree(name, res), False) for name, res in self._resources.items())
        except Exception as exc:
            return error_report(f"events2 state unreadable: {type(exc).__name__}")
        return DrbdReport(source="events2", resources=resources, helper_calls=self.recent_helper_calls,
                          ignored=self.malformed, ignored_lines=self.ignored_lines)


def _path_key(f: dict[str, str]) -> tuple[str, str]:
    """A path is its two addresses (drbdsetup compares them byte for byte)."""
    return f.get("local", ""), f.get("peer", "")


def _apply(target: dict[str, str], fields: dict[str, str], whole: bool) -> bool:
    """Merge ``fields`` into ``target`` (replace it for a whole-state line); True if anything changed."""
    before = dict(target)
    if whole:
        target.clear()
    target.update(fields)
    return target != before


def _tree(name: str, res: dict) -> dict:
    """The folded state in the shape :func:`~hatui.probes.drbd_fields.tree_resource` reads."""
    return {
        "name": name,
        "f": res["f"],
        "dev": [{"f": d} for _, d in sorted(res["dev"].items(), key=lambda kv: int(kv[0]))],
        "conn": [
            {
                "name": c["f"].get("conn-name", ""),
                "f": c["f"],
                "pd": [{"f": p} for _, p in sorted(c["pd"].items(), key=lambda kv: int(kv[0]))],
                "paths": [{"f": p} for p in c["paths"].values()],
            }
            for c in res["conn"].values()
        ],
    }


def drbd_report_from_events2(lines: Iterable[str] | str) -> DrbdReport:
    """Fold a whole events2 text (``drbdsetup events2 --now``, used by the poll) into one report.

    An "error" report when not one line was an event DRBD prints.
    """
    try:
        state = Events2State()
        for line in lines.splitlines() if isinstance(lines, str) else lines:
            state.feed(line if isinstance(line, str) else "")
        if not state.events:
            why = f": {state.ignored_lines[-1]}" if state.ignored_lines else ""
            return error_report(f"no drbdsetup events2 lines{why}"[:200])
        return state.report()
    except Exception as exc:
        return error_report(f"events2 parser failed: {type(exc).__name__}")
