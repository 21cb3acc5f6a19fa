"""``/metrics``: the latest snapshot of every pair as Prometheus metric families.

A custom collector (``prometheus_client``'s documented way to export state owned
elsewhere): at each scrape it builds fresh families from the latest snapshot of each
pair, so a pair removed by a reload disappears and a node that stopped answering loses
its DRBD and keepalived series instead of showing old values as current. What a
snapshot contributes is computed once per snapshot and reused by later scrapes.

Names follow the ecosystem so existing dashboards work: drbd-reactor's for DRBD
(state-labelled gauges whose state label is named like the metric, one series per known
state, 1 for the current one; labels ``name``, ``conn_name``, ``peer_node_id``,
``volume``, ``minor``), the keepalived exporters' ``keepalived_vrrp_state`` (0 INIT,
1 BACKUP, 2 MASTER, 3 FAULT; labels ``iname``, ``intf``, ``vrid``), and ``hatui_*`` for
what only hatui knows. Every series carries ``pair``; every per-node series ``node``.
Help texts are the README's table, word for word (a test checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, StateSetMetricFamily

from hatui.timelines.journal import journal_timeline, latest_takeover, master_down_interval
from hatui.model.facts import unit_running
from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.states import ConnectionState, DiskState, Role, Severity, VrrpState, severity_rank

G, C, S = "gauge", "counter", "stateset"
PAIR, NODE = ("pair",), ("pair", "node")
RES = ("pair", "node", "name")
CONN = (*RES, "conn_name", "peer_node_id")
DEV = (*RES, "volume", "minor")
VRRP = ("pair", "node", "iname", "intf", "vrid")

# name → (type, help, label names). The README's metric table is generated from the same words.
DEFS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "hatui_pairs": (G, "Pairs configured (pair files read, including broken ones)", ()),
    "hatui_pair_verdict": (S, "The pair's verdict as hatui status says it: one series per verdict, 1 for the current one", PAIR),
    "hatui_pair_status": (G, "The pair's verdict as hatui status's exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN", PAIR),
    "hatui_pair_config_error": (G, "1 when the pair's config file cannot be used (the pair is not polled; see hatui config check)", ("pair", "file")),
    "hatui_pair_last_poll_timestamp_seconds": (G, "When the pair's latest snapshot was assembled (Unix time)", PAIR),
    "hatui_node_reachable": (G, "1 when the node answered the latest poll, 0 when it could not be asked (unreachable, host key, authentication, name)", NODE),
    "hatui_node_last_seen_timestamp_seconds": (G, "When the node last answered a poll (Unix time)", NODE),
    "hatui_node_active": (G, "1 on the active node: the DRBD Primary (of the first resource) that answers", NODE),
    "hatui_vip_holder": (G, "1 when the node holds the virtual IP, 0 when it does not; absent when unknown", NODE),
    "hatui_takeover_safe": (G, "1 when this node could take over now without losing an acknowledged write, 0 when it could not; absent when unknown or Primary", NODE),
    "hatui_finding": (G, "1 for each health finding present now (code, severity, node, layer, root or caused_by its root)", ("pair", "node", "code", "severity", "layer", "root", "caused_by")),
    "hatui_sync_percent": (G, "Resync progress of DRBD resource name towards node (the SyncTarget) from source, 0..100", (*RES, "source")),
    "hatui_sync_eta_seconds": (G, "Estimated seconds until the resync towards node finishes", (*RES, "source")),
    "hatui_failover_started_timestamp_seconds": (G, "T+0 of the latest automatic takeover by node (node kit journal): the estimated loss of the master (Unix time)", NODE),
    "hatui_failover_step_seconds": (G, "T+ seconds of each step of the latest automatic takeover by node (node kit journal)", (*NODE, "step", "phase")),
    "hatui_failover_step_budget_seconds": (G, "The documented budget (config [timing]) of that step's phase, T+ seconds", (*NODE, "step", "phase")),
    "hatui_action_last_run_timestamp_seconds": (G, "When the latest run of the action on the pair ended (Unix time; audit log)", ("pair", "action")),
    "hatui_action_duration_seconds": (G, "How long the latest run of the action took, start to result, by its result", ("pair", "action", "result")),
    "hatui_action_step_seconds": (G, "T+ seconds at which each step of the latest run of the action ended (failover: the planned switchover)", ("pair", "node", "action", "step", "phase")),
    "hatui_action_step_budget_seconds": (G, "The documented budget (config [timing]) of that step's phase, T+ seconds", ("pair", "node", "action", "step", "phase")),
    "hatui_action_runs": (C, "Action runs by result, from the audit log (pair empty when the audit log does not say which pair)", ("pair", "action", "result")),
    "drbd_resource_role": (S, "DRBD role of the resource", RES),
    "drbd_resource_suspended": (G, "Boolean whether the resource is suspended", RES),
    "drbd_connection_state": (S, "DRBD connection state", CONN),
    "drbd_device_state": (S, "DRBD device state", DEV),
    "drbd_device_size_bytes": (G, "Device size in bytes", DEV),
    "drbd_device_quorum": (G, "Boolean if this device has DRBD quorum", DEV),
    "drbd_peerdevice_outofsync_bytes": (G, "Number of bytes currently out of sync with this peer, according to the bitmap that DRBD has for it", (*CONN, "volume")),
    "keepalived_up": (G, "1 when the keepalived unit runs on the node, 0 when it does not", NODE),
    "keepalived_vrrp_state": (G, "State of the VRRP instance: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT", VRRP),
    "keepalived_become_master": (C, "Times the VRRP instance became MASTER (keepalived's own counter)", VRRP),
}

ROLES = (Role.PRIMARY, Role.SECONDARY, Role.UNKNOWN)
CONNECTIONS = tuple(s for s in ConnectionState if s not in (ConnectionState.WF_CONNECTION,
                                                            ConnectionState.WF_REPORT_PARAMS))
VERDICTS = (Severity.OK, Severity.WARNING, Severity.CRITICAL, Severity.UNKNOWN)
VRRP_CODES = {VrrpState.INIT: 0, VrrpState.BACKUP: 1, VrrpState.MASTER: 2, VrrpState.FAULT: 3}

Sample = tuple[str, tuple[str, ...], Any]  # (metric, label values, value or {state: bool})


def _states(current: object, known: Iterable[object]) -> dict[str, bool]:
    """Every known state 0/1 — plus the word the node said, if hatui does not know it."""
    out = {str(s): s == current for s in known}
    if current is not None and str(current) not in out:
        out[str(current)] = True
    return out


def _bool(value: bool | None) -> float | None:
    return None if value is None else float(value)


def _drbd(pair: str, node: NodeSnapshot) -> list[Sample]:
    out: list[Sample] = []
    for res in node.drbd.resources if node.drbd is not None else ():
        base = (pair, node.name, res.name)
        out.append(("drbd_resource_role", base, _states(res.role, ROLES)))
        if res.suspended is not None:
            out.append(("drbd_resource_suspended", base, float(res.suspended)))
        for conn in res.connections:
            labels = (*base, conn.peer, "" if conn.peer_node_id is None else str(conn.peer_node_id))
            out.append(("drbd_connection_state", labels, _states(conn.connection, CONNECTIONS)))
            for dev in conn.peer_devices:
                if dev.out_of_sync_kib is not None:
                    out.append(("drbd_peerdevice_outofsync_bytes", (*labels, str(dev.volume)),
                                dev.out_of_sync_kib * 1024.0))
        for dev in res.devices:
            labels = (*base, str(dev.volume), "" if dev.minor is None else str(dev.minor))
            out.append(("drbd_device_state", labels, _states(dev.disk, DiskState)))
            if dev.quorum is not None:  # not reported (DRBD 8.4, older drbd-utils): no sample
                out.append(("drbd_device_quorum", labels, float(dev.quorum)))
            if dev.size_kib is not None:
                out.append(("drbd_device_size_bytes", labels, dev.size_kib * 1024.0))
    return out


def _keepalived(pair: str, node: NodeSnapshot, snap: ClusterSnapshot) -> list[Sample]:
    out: list[Sample] = []
    up = unit_running(node, snap.config.keepalived.unit)
    if up is not None:
        out.append(("keepalived_up", (pair, node.name), float(up)))
    vrrp = node.vrrp
    if vrrp is not None:
        labels = (pair, node.name, vrrp.name, vrrp.interface or snap.config.vip.interface, "")
        if vrrp.state in VRRP_CODES:
            out.append(("keepalived_vrrp_state", labels, float(VRRP_CODES[vrrp.state])))
        if vrrp.become_master is not None:
            out.append(("keepalived_become_master", labels, float(vrrp.become_master)))
    return out


def _takeover(pair: str, node: NodeSnapshot, snap: ClusterSnapshot) -> list[Sample]:
    """The latest automatic takeover in the node kit's journal: T+0, each step's T+ and its budget."""
    priority = node.vrrp.base_priority if node.vrrp else None
    rows = journal_timeline(node.journal, snap.config.timing, priority=priority)
    if not rows:
        return []
    steps = latest_takeover(node.journal)
    t0 = steps[0].ts - (master_down_interval(priority) if steps[0].step == "detect" else 0.0)
    out: list[Sample] = [("hatui_failover_started_timestamp_seconds", (pair, node.name), t0)]
    by_step = {(entry.step, row.phase): row for entry, row in zip(steps, rows)}  # a retried step: the last one
    for (step, phase), row in by_step.items():
        labels = (pair, node.name, step, phase)
        out.append(("hatui_failover_step_seconds", labels, row.t_start))
        if row.budget is not None:
            out.append(("hatui_failover_step_budget_seconds", labels, row.budget))
    return out


def snapshot_samples(pair: str, snap: ClusterSnapshot) -> list[Sample]:
    """Everything one pair's snapshot says, as samples (pure; cached per snapshot by the collector)."""
    facts = snap.facts
    out: list[Sample] = [
        ("hatui_pair_verdict", (pair,), {str(v): v == snap.verdict for v in VERDICTS}),
        ("hatui_pair_status", (pair,), float(severity_rank(snap.verdict))),
        ("hatui_pair_last_poll_timestamp_seconds", (pair,), snap.taken_at),
    ]
    for node in snap.nodes:
        labels = (pair, node.name)
        out.append(("hatui_node_reachable", labels, float(node.reachable)))
        if node.last_seen is not None:
            out.append(("hatui_node_last_seen_timestamp_seconds", labels, node.last_seen))
        out.append(("hatui_node_active", labels, float(node.name in facts.active)))
        vip = _bool(facts.vip.get(node.name))
        if vip is not None:
            out.append(("hatui_vip_holder", labels, vip))
        safe, _why = facts.takeover_safe(node.name)
        if safe is not None:
            out.append(("hatui_takeover_safe", labels, float(safe)))
        if node.reachable:
            out += _drbd(pair, node) + _keepalived(pair, node, snap) + _takeover(pair, node, snap)
    seen = set()
    for f in snap.findings:
        labels = (pair, f.node or "", f.code, f.severity.value, f.layer.name.lower(), str(f.root).lower(),
                  f.caused_by or "")
        if labels not in seen:  # the same finding on two resources is one series
            seen.add(labels)
            out.append(("hatui_finding", labels, 1.0))
    for res in facts.resources.values():
        if res.resync is not None:
            labels = (pair, res.resync.target, res.name, res.resync.source)
            if res.resync.percent is not None:
                out.append(("hatui_sync_percent", labels, res.resync.percent))
            if res.resync.eta_seconds is not None:
                out.append(("hatui_sync_eta_seconds", labels, res.resync.eta_seconds))
    return out


def run_samples(pair: str, action: str, result: Mapping[str, Any]) -> list[Sample]:
    """The latest run of an action, from its ``result`` audit record: duration, and each step's T+ at its
    end against its phase's budget (a retried step: its last attempt)."""
    out: list[Sample] = [("hatui_action_last_run_timestamp_seconds", (pair, action), float(result.get("ts") or 0))]
    if isinstance(result.get("total"), (int, float)):
        out.append(("hatui_action_duration_seconds", (pair, action, str(result.get("result", ""))), float(result["total"])))
    rows = {}
    for row in result.get("steps") or ():
        if isinstance(row, Mapping) and isinstance(row.get("t_end"), (int, float)):
            rows[(str(row.get("node", "")), str(row.get("description", "")), str(row.get("phase", "")))] = row
    for (node, step, phase), row in rows.items():
        labels = (pair, node, action, step, phase)
        out.append(("hatui_action_step_seconds", labels, float(row["t_end"])))
        if isinstance(row.get("budget"), (int, float)):
            out.append(("hatui_action_step_budget_seconds", labels, float(row["budget"])))
    return out


def latest_results(records: Iterable[Mapping[str, Any]], owner: Mapping[str, str]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(pair, action) → the ``result`` record of its latest run (audit order is time order)."""
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for rec in records:
        if rec.get("event") == "result":
            out[(owner.get(str(rec.get("action_id")), ""), str(rec.get("action", "")))] = rec
    return out


@dataclass
class _Cached:
    snapshot: ClusterSnapshot
    samples: list[Sample]


class FleetCollector:
    """The ``prometheus_client`` collector: fresh families from the latest snapshots at each scrape.

    ``pairs()`` returns ``(name, config file, error, latest snapshot)`` per configured pair;
    ``actions()`` the audit log's run counts by ``(pair, action, result)``; ``runs()`` the ``result``
    record of each action's latest run by ``(pair, action)`` (:func:`latest_results`).
    """

    def __init__(self, pairs: Callable[[], list[tuple[str, str, str | None, ClusterSnapshot | None]]],
                 actions: Callable[[], Mapping[tuple[str, str, str], int]] = dict,
                 runs: Callable[[], Mapping[tuple[str, str], Mapping[str, Any]]] = dict) -> None:
        self._pairs, self._actions, self._runs = pairs, actions, runs
        self._cache: dict[str, _Cached] = {}

    def describe(self) -> list:
        return []  # families vary with the fleet: nothing to check at registration

    def _samples(self, name: str, snap: ClusterSnapshot) -> list[Sample]:
        cached = self._cache.get(name)
        if cached is None or cached.snapshot is not snap:
            cached = self._cache[name] = _Cached(snap, snapshot_samples(name, snap))
        return cached.samples

    def collect(self):
        families: dict[str, Any] = {}

        def add(metric: str, labels: tuple[str, ...], value: Any) -> None:
            family = families.get(metric)
            if family is None:
                kind, text, names = DEFS[metric]
                cls = {G: GaugeMetricFamily, C: CounterMetricFamily, S: StateSetMetricFamily}[kind]
                family = families[metric] = cls(metric, text, labels=names)
            family.add_metric(list(labels), value)

        pairs = self._pairs()
        add("hatui_pairs", (), float(len(pairs)))
        live = set()
        for name, path, error, snap in pairs:
            live.add(name)
            if error is not None:
                add("hatui_pair_config_error", (name, path), 1.0)
                add("hatui_pair_verdict", (name,), {str(v): v == Severity.UNKNOWN for v in VERDICTS})
                add("hatui_pair_status", (name,), float(severity_rank(Severity.UNKNOWN)))
                continue
            add("hatui_pair_config_error", (name, path), 0.0)
            for metric, labels, value in self._samples(name, snap) if snap is not None else ():
                add(metric, labels, value)
        for (pair, action, result), count in sorted(self._actions().items()):
            add("hatui_action_runs", (pair, action, result), float(count))
        for (pair, action), result in sorted(self._runs().items()):
            for metric, labels, value in run_samples(pair, action, result):
                add(metric, labels, value)
        for gone in set(self._cache) - live:
            self._cache.pop(gone, None)
        yield from families.values()
