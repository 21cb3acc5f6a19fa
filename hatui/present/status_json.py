"""The versioned JSON document of `hatui status --json` (schema documented in README).

Bump :data:`SCHEMA` on any incompatible change; adding keys is compatible.
"""

from __future__ import annotations

from typing import Any

from hatui.present.layers import node_layers, vip_text
from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.model.drbd9 import can_take_over
from hatui.probes.records import DrbdResource
from hatui.states import is_known

SCHEMA = "hatui.status/v1"


def _state(value: object) -> str | None:
    return None if value is None else str(value)


def _drbd(res: DrbdResource) -> dict[str, Any]:
    return {
        "resource": res.name,
        "role": _state(res.role),
        "disk": _state(res.devices[0].disk) if res.devices else None,
        "may_promote": res.may_promote,
        "promotion_score": res.promotion_score,
        "suspended_reason": res.suspended_reason,
        "volumes": [{"volume": d.volume, "minor": d.minor, "disk": _state(d.disk), "quorum": d.quorum,
                     "client": d.client, "blocked": d.blocked} for d in res.devices],
        "peers": [
            {
                "name": conn.peer,
                "connection": _state(conn.connection),
                "peer_role": _state(conn.peer_role),
                "congested": conn.congested,
                "replication": _state(dev.replication) if (dev := _first(conn.peer_devices)) else None,
                "peer_client": dev.peer_client if dev else None,
                "resync_suspended": dev.resync_suspended if dev else None,
                "peer_disk": _state(dev.peer_disk) if dev else None,
                "sync_percent": dev.sync_percent if dev else None,
                "out_of_sync_kib": dev.out_of_sync_kib if dev else None,
                "eta_seconds": dev.eta_seconds if dev else None,
                "unknown_states": [
                    str(v) for v in (conn.connection, dev.replication if dev else None) if v and not is_known(v)
                ],
            }
            for conn in res.connections
        ],
    }


def _first(items):
    return items[0] if items else None


def _node(snap: ClusterSnapshot, node: NodeSnapshot) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": node.name,
        "reachable": node.reachable,
        "state": node_state(node),
        "failure": node.failure.value if node.failure is not None else None,
        "active": snap.is_active(node.name),
        "holds_vip": snap.facts.vip.get(node.name),
        "error": node.error,
        "polled_at": node.polled_at,
        "age_s": round(max(0.0, snap.taken_at - node.polled_at), 3),
        "unread": dict(node.unread),
        "latency_ms": round(node.latency * 1000, 1) if node.latency is not None else None,
        "stream": dict(node.streams),
        "unreachable_since": node.unreachable_since,
        "last_seen": node.last_seen,
        "layers": {},
        "drbd": [],
    }
    for layer in node_layers(snap, node.name):
        key = layer.layer.name.lower() if layer.resource is None else f"{layer.layer.name.lower()}:{layer.resource}"
        doc["layers"][key] = {"state": layer.state, "detail": layer.detail, "health": layer.health.value}
    if node.reachable and node.drbd is not None:
        doc["drbd_source"] = node.drbd.source
        doc["drbd"] = [_drbd(r) for r in node.drbd.resources]
        for entry in doc["drbd"]:
            rf = snap.facts.resources.get(entry["resource"])
            entry["fencing"] = rf.fencing.get(node.name) if rf else None
            entry["suspended"] = rf.suspended.get(node.name) if rf else None
    safe, why = snap.facts.takeover_safe(node.name)
    doc["takeover"] = {"safe": safe, "why": why}
    take = can_take_over(snap, node.name)
    doc["can_take_over"] = {"value": take.can, "why": take.why}
    if node.reachable and node.drbd is not None:
        doc["drbd_ignored_lines"] = node.drbd.ignored
        doc["drbd_helper_calls"] = [
            {"resource": c.resource, "helper": c.helper, "response": c.response, "exit_code": c.exit_code,
             "peer": c.peer, "timestamp": c.timestamp} for c in node.drbd.helper_calls]
    if node.vrrp is not None:
        doc["keepalived"] = {
            "instance": node.vrrp.name,
            "state": _state(node.vrrp.state),
            "effective_priority": node.vrrp.effective_priority,
            "last_transition": node.vrrp.last_transition,
        }
    return doc


def node_state(node: NodeSnapshot) -> str:
    """"answered", "unreachable" (not answering) or "not asked" (hatui cannot ask: key, auth, name)."""
    if node.reachable:
        return "answered"
    return "unreachable" if node.unreachable else "not asked"


def status_document(snap: ClusterSnapshot) -> dict[str, Any]:
    """The whole `--json` document for one snapshot."""
    facts = snap.facts
    return {
        "schema": SCHEMA,
        "cluster": snap.config.cluster.name,
        "taken_at": snap.taken_at,
        "verdict": snap.verdict.value,
        "vip": {"address": snap.config.vip.ip, "holders": list(snap.vip_holders),
                "unknown": list(facts.vip_unknown), "text": vip_text(snap)},
        "active": list(facts.active),
        "nodes": [_node(snap, n) for n in snap.nodes],
        "findings": [
            {
                "severity": f.severity.value,
                "layer": f.layer.value,
                "node": f.node,
                "code": f.code,
                "message": f.message,
                "hint": f.hint,
                "root": f.root,
                "caused_by": f.caused_by,
            }
            for f in snap.findings
        ],
    }
