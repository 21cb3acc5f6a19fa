"""Each node's stack as rows: one state word, a detail line and a health mark per layer.

This is the single description of "what does layer X of node N look like"
used by ``hatui status`` (Rich and JSON) and by the console, so the three can
never disagree. Every state has a word and a glyph: colour is never the only
carrier of meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

from hatui.model import ClusterSnapshot, Layer, NodeSnapshot
from hatui.model.drbd9 import blocked, can_take_over, failed_disks, is_client, lost_quorum, peer_is_client, reasons
from hatui.probes import catalog
from hatui.states import (DiskState, ReplicationState, Role, Severity, UnitActiveState, VrrpState, is_known,
                          is_syncing)

GLYPH = {Severity.OK: "✔", Severity.WARNING: "▲", Severity.CRITICAL: "✖", Severity.UNKNOWN: "?"}


@dataclass(frozen=True)
class LayerState:
    """One cell of the stack: e.g. DRBD on vm2 = "Primary", "r0 UpToDate", OK."""

    layer: Layer
    state: str  # a short word, e.g. "held", "MASTER", "active", "Primary"
    detail: str  # the line under it, e.g. "prio 110", "exports 1/1"
    health: Severity
    sources: tuple[str, ...] = ()  # raw sections it was read from
    resource: str | None = None


def _word(value: object) -> str:
    if value is None:
        return "—"
    return str(value) if is_known(value) else f"{value}?"


def _unknown(layer: Layer, node: NodeSnapshot, section: str, what: str, resource: str | None = None) -> LayerState:
    """A layer whose data hatui does not have: "not reported" or "could not be read: …"."""
    why = node.unread.get(section, "not reported")
    return LayerState(layer, "unknown", f"{what}: {why}", Severity.UNKNOWN, (section,), resource)


def vip_text(snap: ClusterSnapshot) -> str:
    """Who holds the VIP, never guessing: "vm2", "BOTH vm2 + vm12", "nobody",
    or "vm12 does not hold it; vm2 unknown" when a node's addresses are unknown."""
    facts = snap.facts
    holders, unknown = facts.vip_holders, facts.vip_unknown
    if len(holders) == 2:
        return "BOTH " + " + ".join(holders)
    if holders:
        return holders[0] + (f" ({', '.join(unknown)} unknown)" if unknown else "")
    if not unknown:
        return "nobody"
    known = [n for n in facts.vip if n not in unknown]
    if not known:
        return "unknown"
    return f"{', '.join(known)} does not hold it; {', '.join(unknown)} unknown"


def _unit_layer(layer: Layer, node: NodeSnapshot, unit: str, should_run: bool) -> LayerState:
    status = node.unit(unit)
    if status is None:
        return _unknown(layer, node, catalog.UNITS, unit)
    if status.load_state == "not-found":
        return LayerState(layer, "not installed", unit, Severity.WARNING, (catalog.UNITS,))
    running = status.active in (UnitActiveState.ACTIVE, UnitActiveState.RELOADING)
    word = _word(status.active)
    detail = status.sub_state or ""
    if status.main_pid:
        detail += f" pid {status.main_pid}"
    if running == should_run:
        health = Severity.OK
    elif should_run:
        health = Severity.CRITICAL
    else:
        health = Severity.WARNING
    if not running and not should_run and health == Severity.OK:
        # As it should be on the standby: said so, with systemd's own words as the detail.
        return LayerState(layer, "stopped (standby)", f"{word} ({detail.strip() or '—'})", health, (catalog.UNITS,))
    return LayerState(layer, word, detail.strip(), health, (catalog.UNITS,))


def node_layers(snap: ClusterSnapshot, name: str) -> tuple[LayerState, ...]:
    """The stack of one node, top (VIP) to bottom (disk), one row per DRBD resource."""
    node = snap.node(name)
    cfg = snap.config
    if not node.reachable:
        return _not_answered(snap, node)
    active = snap.is_active(name)
    rows = [_vip(snap, node), _keepalived(snap, node, active)]
    nfs = _unit_layer(Layer.NFS, node, cfg.services.nfs.unit, active)
    if node.exports is not None and cfg.services.nfs.exports and nfs.state in ("active", "reloading"):
        have = {e.path for e in node.exports.exports}
        n = sum(1 for p in cfg.services.nfs.exports if p in have)
        nfs = LayerState(nfs.layer, nfs.state, f"{nfs.detail}, exports {n}/{len(cfg.services.nfs.exports)}",
                         nfs.health, (catalog.UNITS, catalog.EXPORTS))
    rows.append(nfs)
    dag = _unit_layer(Layer.DAG, node, cfg.services.dag_processor.unit, active)
    if node.dag_health is not None and dag.state == "active":
        verdict = "health ok" if node.dag_health.ok else f"health exit {node.dag_health.rc}"
        dag = LayerState(dag.layer, dag.state, f"{dag.detail}, {verdict}", dag.health,
                         (catalog.UNITS, catalog.DAG_HEALTH))
    rows.append(dag)
    for res in cfg.drbd:
        rows.extend(_storage(snap, node, res, active))
    return tuple(rows)


def _not_answered(snap: ClusterSnapshot, node: NodeSnapshot) -> tuple[LayerState, ...]:
    """Every layer unknown, saying why; the DRBD role where the peer's DRBD still sees it."""
    why = "unreachable" if node.unreachable else "not asked"
    rows = [LayerState(layer, "unknown", why, Severity.UNKNOWN) for layer in
            (Layer.VIP, Layer.KEEPALIVED, Layer.NFS, Layer.DAG)]
    peer = snap.peer_of(node.name).name
    for res in snap.config.drbd:
        role = snap.facts.resources[res.resource].roles.get(node.name)
        drbd = (LayerState(Layer.DRBD, f"{role}?", f"as {peer}'s DRBD sees it", Severity.UNKNOWN, (),
                           res.resource) if role is not None else
                LayerState(Layer.DRBD, "unknown", why, Severity.UNKNOWN, (), res.resource))
        rows += [LayerState(Layer.MOUNT, "unknown", why, Severity.UNKNOWN, (), res.resource), drbd,
                 LayerState(Layer.REPLICATION, "unknown", why, Severity.UNKNOWN, (), res.resource),
                 LayerState(Layer.DISK, "unknown", why, Severity.UNKNOWN, (), res.resource)]
    return tuple(rows)


def _vip(snap: ClusterSnapshot, node: NodeSnapshot) -> LayerState:
    if node.ip is None or catalog.IP in node.unread:
        return _unknown(Layer.VIP, node, catalog.IP, "ip addr")
    both = len(snap.vip_holders) == 2
    if node.holds_vip:
        return LayerState(Layer.VIP, "held", f"{snap.config.vip.ip} on {', '.join(node.vip_interfaces)}",
                          Severity.CRITICAL if both else Severity.OK, (catalog.IP,))
    holders = [n for n in snap.vip_holders if n != node.name]
    if holders:  # the peer serves: this node is the standby
        return LayerState(Layer.VIP, "standby", f"not held here; {holders[0]} holds it", Severity.OK, (catalog.IP,))
    return LayerState(Layer.VIP, "not held", "not on this node", Severity.OK, (catalog.IP,))


def _keepalived(snap: ClusterSnapshot, node: NodeSnapshot, active: bool) -> LayerState:
    sources = (catalog.KEEPALIVED, catalog.UNITS)
    vrrp = node.vrrp
    unit = node.unit(snap.config.keepalived.unit)
    if vrrp is None:
        if unit is not None and unit.active is not None and unit.active != UnitActiveState.ACTIVE:
            return LayerState(Layer.KEEPALIVED, "stopped", _word(unit.active), Severity.WARNING, sources)
        why = node.keepalived.error if node.keepalived and node.keepalived.error else "no state dump"
        return LayerState(Layer.KEEPALIVED, "running" if unit else "unknown", why[:60], Severity.UNKNOWN, sources)
    prio = vrrp.effective_priority if vrrp.effective_priority is not None else vrrp.base_priority
    detail = f"prio {prio}" if prio is not None else ""
    health = Severity.OK
    if vrrp.state == VrrpState.FAULT:
        health = Severity.WARNING
    elif vrrp.state == VrrpState.MASTER and len(snap.vip_holders) == 2:
        health = Severity.CRITICAL
    elif not is_known(vrrp.state):
        health = Severity.UNKNOWN
    return LayerState(Layer.KEEPALIVED, _word(vrrp.state), detail, health, sources)


def _storage(snap: ClusterSnapshot, node: NodeSnapshot, res, active: bool) -> list[LayerState]:
    r = node.resource(res.resource)
    mount = node.mounts.get(res.resource)
    role = r.role if r is not None else None
    msrc = (catalog.mount_section(res.resource),)
    if mount is None and msrc[0] in node.unread:
        mrow = _unknown(Layer.MOUNT, node, msrc[0], res.mount_point, res.resource)
    elif mount is not None:
        mhealth = Severity.OK if role == Role.PRIMARY else Severity.CRITICAL
        mrow = LayerState(Layer.MOUNT, "mounted", f"{res.mount_point} {mount.fstype or ''}".strip(), mhealth,
                          msrc, res.resource)
    else:
        mhealth = Severity.CRITICAL if role == Role.PRIMARY else Severity.OK
        mrow = LayerState(Layer.MOUNT, "not mounted", res.mount_point, mhealth, msrc, res.resource)
    dsrc = (catalog.DRBD,)
    if node.drbd is None or catalog.DRBD in node.unread:
        drow = _unknown(Layer.DRBD, node, catalog.DRBD, res.resource, res.resource)
        lrow = LayerState(Layer.REPLICATION, "unknown", "", Severity.UNKNOWN, dsrc, res.resource)
    elif r is None:
        why = "none configured" if node.drbd.source == "none" else "not up"
        drow = LayerState(Layer.DRBD, "down", f"{res.resource}: {why}", Severity.CRITICAL, dsrc, res.resource)
        lrow = LayerState(Layer.REPLICATION, "—", "", Severity.UNKNOWN, dsrc, res.resource)
    else:
        disks = ", ".join(f"{_word(d.disk)} (client)" if is_client(d) else _word(d.disk) for d in r.devices) or "—"
        bad_disk = bool(failed_disks(r)) or any(d.disk is None for d in r.devices)
        dhealth = Severity.CRITICAL if role == Role.PRIMARY and bad_disk else (
            Severity.WARNING if bad_disk else Severity.OK)
        if role == Role.PRIMARY and snap.facts.resources[res.resource].both_primary:
            dhealth = Severity.CRITICAL  # two Primaries: diverging data, whatever each disk says
        rf = snap.facts.resources[res.resource]
        detail = f"{res.resource} {disks}"
        if lost_quorum(r):
            detail += ", NO QUORUM"
            dhealth = Severity.CRITICAL if role == Role.PRIMARY else _worse(dhealth, Severity.WARNING)
        if node.name in rf.suspended:
            detail += f", I/O SUSPENDED ({rf.suspended[node.name]})"
            dhealth = Severity.CRITICAL
        for dev in blocked(r):
            detail += f", I/O blocked ({dev.blocked})"
            dhealth = _worse(dhealth, Severity.WARNING)
        if node.name in rf.fencing:
            detail += f", fencing {rf.fencing[node.name]}"
        if role != Role.PRIMARY and rf.primaries:
            detail += _takeover_text(snap, node.name)
        drow = LayerState(Layer.DRBD, _word(role), detail, dhealth, dsrc + (catalog.DRBD_CONFIG,), res.resource)
        lrow = _link(r, res.resource)
    disk = node.disks.get(res.resource)
    ksrc = (catalog.disk_section(res.resource),)
    if not res.backing_disk:
        krow = LayerState(Layer.DISK, "—", "not configured", Severity.OK, (), res.resource)
    elif disk is None and (ksrc[0] not in node.sections or ksrc[0] in node.unread):
        krow = _unknown(Layer.DISK, node, ksrc[0], res.backing_disk, res.resource)
    elif disk is None:
        krow = LayerState(Layer.DISK, "missing", res.backing_disk, Severity.CRITICAL, ksrc, res.resource)
    else:
        size = f"{disk.size_bytes / 2**30:.1f} GiB" if disk.size_bytes else ""
        word = "read-only" if disk.read_only else (disk.state or "present")
        krow = LayerState(Layer.DISK, word, f"{disk.path or res.backing_disk} {size}".strip(),
                          Severity.CRITICAL if disk.read_only else Severity.OK, ksrc, res.resource)
    return [mrow, drow, lrow, krow]


def _worse(a: Severity, b: Severity) -> Severity:
    order = (Severity.OK, Severity.WARNING, Severity.UNKNOWN, Severity.CRITICAL)
    return max(a, b, key=order.index)


def _takeover_text(snap: ClusterSnapshot, node: str) -> str:
    """The standby's ", takeover safe / UNSAFE / unknown", with DRBD 9's own reason when it decides."""
    take = can_take_over(snap, node)
    word = {True: ", takeover safe", False: ", takeover UNSAFE", None: ", takeover unknown"}[take.can]
    return word if take.why == snap.facts.takeover_safe(node)[1] else f"{word} ({take.why})"


def _link(r, resource: str) -> LayerState:
    src = (catalog.DRBD,)
    if not r.connections:
        return LayerState(Layer.REPLICATION, "no peer", "", Severity.WARNING, src, resource)
    conn = r.connections[0]
    dev = conn.peer_devices[0] if conn.peer_devices else None
    conn_word = _word(conn.connection)
    repl = dev.replication if dev is not None else None
    if conn_word != "Connected":
        health = Severity.CRITICAL if conn_word == "StandAlone" else Severity.WARNING
        return LayerState(Layer.REPLICATION, conn_word, f"to {conn.peer}", health, src, resource)
    client = dev is not None and peer_is_client(dev)
    detail = f"{_word(repl)} peer {_word(dev.peer_disk) if dev else '—'}" + (" (client)" if client else "")
    congestion = ", congested" if conn.congested else ""
    if is_syncing(repl) and dev is not None:
        pct = f" {dev.sync_percent:.1f}%" if dev.sync_percent is not None else ""
        paused = reasons(dev.resync_suspended)
        why = f" paused ({','.join(paused)})" if paused else ""
        return LayerState(Layer.REPLICATION, "syncing", f"{_word(repl)}{pct}{why}{congestion}", Severity.WARNING,
                          src, resource)
    health = Severity.OK if repl in (ReplicationState.ESTABLISHED, None) else Severity.WARNING
    if dev is not None and dev.peer_disk not in (DiskState.UPTODATE, None) and not client:
        health = Severity.WARNING
    if congestion:
        health = _worse(health, Severity.WARNING)
    return LayerState(Layer.REPLICATION, conn_word, detail + congestion, health, src, resource)
