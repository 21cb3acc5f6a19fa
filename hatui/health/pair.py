"""Rules about the pair as a whole: VIP, keepalived, DRBD roles, replication and data safety."""

from __future__ import annotations

from collections.abc import Iterator

from hatui.model.facts import peer_disk_bad, unit_running
from hatui.health.registry import CRIT, OK, WARN, rule, up
from hatui.model import Act, ClusterSnapshot, Finding, Layer, NodeSnapshot
from hatui.model.drbd9 import failed_disks, peer_is_client, reasons
from hatui.states import DiskState, ReplicationState, Role, VrrpState
from hatui.present.text import duration_text as _duration


@rule
def vip_placement(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    vip = snap.config.vip.ip
    holders = facts.vip_holders
    if len(holders) == 2:
        yield Finding(CRIT, Layer.VIP, f"VIP {vip} is on BOTH nodes: clients reach either at random",
                      "See the VRRP split above.", "vip-on-both")
    elif not holders and not facts.vip_unknown:
        yield Finding(CRIT, Layer.VIP, f"VIP {vip} is on neither node: clients cannot connect",
                      f"Check keepalived on the DRBD Primary (state FAULT? track script failing?): "
                      f"systemctl status {snap.config.keepalived.unit}.", "vip-on-neither")
    for name in holders:
        role = facts.main.roles.get(name)
        if role is not None and role != Role.PRIMARY:
            yield Finding(CRIT, Layer.VIP, f"VIP {vip} is on {name}, whose DRBD {facts.first} is {role}: "
                          "clients reach a node that cannot serve the data",
                          "Find out why the VIP left the DRBD Primary: keepalived state and the node kit's "
                          "journal on both nodes.", "vip-on-secondary", name)


@rule
def keepalived_state(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    unit = snap.config.keepalived.unit
    for node in up(snap):
        running = unit_running(node, unit)
        if running is False:
            yield Finding(WARN, Layer.KEEPALIVED, f"keepalived is not running on {node.name}: it cannot take over",
                          f"systemctl start {unit} on {node.name} (if it was stopped to end a VRRP split, fix the "
                          "VRRP path between the nodes first).", "keepalived-down", node.name,
                          acts=Act.START_KEEPALIVED)
            continue
        if node.vrrp is None:
            if node.keepalived is not None and node.keepalived.source == "unavailable" and running:
                yield Finding(OK, Layer.KEEPALIVED, f"keepalived state dump unavailable on {node.name} "
                              f"({node.keepalived.error}); relying on who holds the VIP",
                              "Build keepalived with JSON support or let hatui read the pid file.",
                              "keepalived-json-unavailable", node.name)
            continue
        if node.vrrp.state == VrrpState.FAULT:
            yield Finding(WARN, Layer.KEEPALIVED, f"keepalived on {node.name} is in FAULT: it will not take over",
                          "A track script or the tracked interface is failing; see the keepalived journal.",
                          "keepalived-fault", node.name)
    if all(facts.vrrp_master.values()):
        yield Finding(CRIT, Layer.KEEPALIVED, "keepalived is MASTER on both nodes",
                      "See the VRRP split above.", "keepalived-master-both")
    if facts.vrrp_split:
        yield _vrrp_split(snap)


def _vrrp_split(snap: ClusterSnapshot) -> Finding:
    facts = snap.facts
    both_vip = len(facts.vip_holders) == 2
    what = "both nodes hold the VIP" if both_vip else "keepalived is MASTER on both nodes"
    primaries = facts.main.primaries
    if len(primaries) == 1 and not facts.main.unknown:
        primary = primaries[0]
        other = next(n.name for n in snap.nodes if n.name != primary)
        serves = f"{primary} is the DRBD Primary and serves; clients that reach {other} get no data"
        hint = (f"Stop keepalived on {other} (systemctl stop {snap.config.keepalived.unit} on {other}) so the VIP "
                f"stays with the DRBD Primary {primary}; then fix the VRRP path between the nodes (protocol 112, "
                "multicast/unicast peers, firewall) and start it again once adverts flow.")
    elif len(primaries) == 2:
        serves = "both nodes are DRBD Primary as well (see DRBD)"
        hint = ("Resolve the DRBD split first (hatui resync split-brain, after checking what each side has); "
                "then stop keepalived on the node whose data was discarded and fix the VRRP path.")
    else:
        serves = "which node is the only DRBD Primary is not established"
        hint = ("Establish which node is DRBD Primary (drbdadm status on both) before touching keepalived; "
                "then stop keepalived on the other node and fix the VRRP path.")
    return Finding(CRIT, Layer.KEEPALIVED, f"VRRP split: {what}; the nodes do not hear each other's adverts. "
                   f"{serves}", hint, "vrrp-split")


@rule
def drbd_roles(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    answered = up(snap)
    for res in snap.config.drbd:
        name = res.resource
        rf = facts.resources[name]
        for node in answered:
            if node.drbd is not None and node.drbd.source != "error" and node.resource(name) is None:
                yield Finding(CRIT, Layer.DRBD, f"DRBD resource {name} is not up on {node.name}",
                              f"`drbdadm up {name}` on {node.name} (check the backing disk first).",
                              "drbd-resource-down", node.name)
        frozen = [n for n in rf.primaries if n in rf.suspended]
        if rf.both_primary and len(frozen) == 1:
            writer = next(n for n in rf.primaries if n not in frozen)
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on BOTH nodes, but {frozen[0]}'s I/O is frozen "
                          f"by fencing: only {writer} acknowledges writes, nothing has diverged yet",
                          f"Keep {frozen[0]} frozen (no resume-io): {writer} holds the newer data. When the nodes "
                          f"see each other again, {frozen[0]} must give up the role; DRBD then resyncs it from "
                          f"{writer}.", "drbd-both-primary")
        elif rf.both_primary and rf.connected:
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on BOTH nodes while connected "
                          "(allow-two-primaries): a non-cluster filesystem mounted on both is corrupted",
                          "This pair's design has one Primary: unmount and demote the node that does not hold "
                          "the VIP, then remove allow-two-primaries from the resource.", "drbd-both-primary")
        elif rf.both_primary:
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on BOTH nodes: data is diverging",
                          "Decide which node's data survives before anything else: stop the services on the "
                          "other node and demote it; its changes are lost when the split brain is resolved "
                          "(hatui resync split-brain).", "drbd-both-primary")
        elif not rf.primaries and not rf.unknown and len(answered) == 2:
            target = _promotion_candidate(snap, name)
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on neither node: nothing can serve data",
                          f"Promote the node with UpToDate data ({target or 'none is UpToDate'}): "
                          "hatui failover / failback runs the guarded sequence.", "drbd-no-primary", target,
                          acts=Act.PROMOTE)
        for node in answered:
            r = node.resource(name)
            if r is None or r.role != Role.PRIMARY:
                continue
            for dev in failed_disks(r):  # an intentional diskless client is no bad disk
                if dev.disk is not None:
                    yield Finding(CRIT, Layer.DRBD, f"DRBD {name} on Primary {node.name} has disk {dev.disk}",
                                  "The active node is not serving from a good local disk; check the "
                                  "backing device and dmesg.", "primary-disk-bad", node.name)


def _promotion_candidate(snap: ClusterSnapshot, resource: str) -> str | None:
    for node in up(snap):
        r = node.resource(resource)
        if r is not None and r.devices and all(d.disk == DiskState.UPTODATE for d in r.devices):
            return node.name
    return None


@rule
def replication(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    for res in snap.config.drbd:
        name = res.resource
        rf = facts.resources[name]
        # DRBD's own word (events2 sync-state:SplitBrain) when it says it; else StandAlone after diverging
        said = any(c.split_brain for n in up(snap) if (r := n.resource(name)) is not None for c in r.connections)
        if said or (facts.split_brain and (len(rf.standalone) == 2 or (rf.standalone and rf.both_primary))):
            yield Finding(CRIT, Layer.REPLICATION, f"SPLIT BRAIN on DRBD {name}: the sides diverged and DRBD "
                          "dropped the connection; neither is replicating", "Choose the node whose changes are "
                          "discarded (hatui resync split-brain), after checking what each side has.", "split-brain")
        elif rf.standalone:
            where = rf.standalone[0]
            yield Finding(CRIT, Layer.REPLICATION, f"DRBD {name} is StandAlone on {', '.join(rf.standalone)}: "
                          "it will not reconnect by itself", f"`drbdadm connect {name}` on {where} (hatui resync "
                          "reconnect); if it drops again, it is a split brain.", "standalone", where)
        elif rf.connected is False:
            yield _replication_down(snap, name)
        if rf.resync is not None:
            sync = rf.resync
            pct = f"{sync.percent:.1f}%" if sync.percent is not None else "?%"
            eta = f", ETA {_duration(sync.eta_seconds)}" if sync.eta_seconds is not None else ""
            yield Finding(WARN, Layer.REPLICATION, f"DRBD {name} resync {sync.source} → {sync.target} "
                          f"({sync.state}): {pct} in sync{eta}", f"Wait for the sync to finish before any "
                          f"failover: {sync.target} is Inconsistent until then.", "sync-in-progress", sync.target)
            continue
        for node in up(snap):
            yield from _peer_device_findings(snap, node, name)


def _replication_down(snap: ClusterSnapshot, name: str) -> Finding:
    sides = []
    for node in up(snap):
        r = node.resource(name)
        if r is not None and r.connections and r.connections[0].connection is not None:
            sides.append(f"{node.name} {r.connections[0].connection}")
    primaries = snap.facts.resources[name].primaries
    writes = f"writes on {primaries[0]} are not replicated" if len(primaries) == 1 else "nothing is replicated"
    return Finding(WARN, Layer.REPLICATION, f"replication of DRBD {name} is down ({', '.join(sides)}): {writes}",
                   "Check the replication link (cable, interface, routes); DRBD reconnects by itself once it "
                   "is back.", "replication-down", primaries[0] if len(primaries) == 1 else None)


def _peer_device_findings(snap: ClusterSnapshot, node: NodeSnapshot, name: str) -> Iterator[Finding]:
    r = node.resource(name)
    if r is None or r.role != Role.PRIMARY:
        if r is not None and any(d.replication in (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T)
                                 for c in r.connections for d in c.peer_devices):
            yield Finding(OK, Layer.REPLICATION, f"DRBD {name} online verify running", "No action needed.",
                          "verify-running", node.name)
        return
    peer = snap.peer_of(node.name).name
    for conn in r.connections:
        for dev in conn.peer_devices:
            if dev.replication in (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T):
                yield Finding(OK, Layer.REPLICATION, f"DRBD {name} online verify running", "No action needed.",
                              "verify-running", node.name)
            if peer_disk_bad(dev.peer_disk) and not peer_is_client(dev):
                yield Finding(WARN, Layer.REPLICATION, f"peer {peer} of {node.name} has DRBD {name} disk "
                              f"{dev.peer_disk}: it cannot take over without losing data",
                              "Resync the peer (hatui resync reconnect / full) before relying on it.",
                              "peer-disk-not-uptodate", node.name)


@rule
def data_safety(snap: ClusterSnapshot) -> Iterator[Finding]:
    """Frozen I/O, and the window in which a crash of the Primary loses acknowledged writes."""
    for res in snap.config.drbd:
        rf = snap.facts.resources[res.resource]
        for name, why in rf.suspended.items():
            peer = snap.peer_of(name).name
            hint = (f"Establish {peer}'s state first (its console, IPMI): only if it is down or its disk is "
                    f"Outdated, `drbdadm resume-io {res.resource}` on {name} lets writes through again — never "
                    f"while {peer} may be Primary.")
            hint = _suspended_hint(reasons(why), peer, name, res.resource, hint)
            yield Finding(CRIT, Layer.DRBD, f"I/O on {name} is suspended ({why}): DRBD {res.resource} acknowledges "
                          "no write, clients block — no acknowledged write can be lost meanwhile", hint,
                          "io-suspended", name)
        for name, kib in rf.exposed.items():
            peer = snap.peer_of(name).name
            if snap.peer_of(name).reachable:
                hint = (f"Restore the replication link (DRBD resyncs by itself). Until then `drbdadm outdate "
                        f"{res.resource}` on {peer} makes any takeover refuse; the node kit's fencing "
                        "(resource-and-stonith) does that by itself.")
            else:
                hint = (f"Bring {peer} back so it resyncs from {name}. Should {name} fail first, {peer} must not "
                        f"take over: on its console, `drbdadm outdate {res.resource}` before keepalived starts; "
                        "the node kit's fencing (resource-and-stonith) does that by itself.")
            amount = f"{kib} KiB out of sync" if kib is not None else "out-of-sync amount not reported"
            yield Finding(CRIT, Layer.REPLICATION, f"DATA-LOSS WINDOW on DRBD {res.resource}: {name} acknowledges "
                          f"writes {peer} does not get, and nothing outdated {peer} (fencing "
                          f"{rf.policy or 'unknown'}); {amount}: if {name} crashed now, {peer} could be promoted "
                          "without those writes", hint, "data-loss-window", name)


def _suspended_hint(why: tuple[str, ...], peer: str, name: str, resource: str, careful: str) -> str:
    """What lets suspended I/O through again, by DRBD's reason (``careful``: resume only when safe)."""
    if "fencing" in why:
        return (f"The fence-peer handler could not outdate {peer} (peer unreachable over the other network?). "
                f"{careful}")
    if "quorum" in why:
        return (f"It resumes by itself once quorum returns: restore the connection to {peer}. Do not turn quorum "
                f"off or resume-io while {peer} may be Primary.")
    if "no-data" in why:
        return (f"DRBD on {name} reaches no UpToDate data: reattach its disk (check the backing device, dmesg) or "
                f"reconnect {peer} if it has UpToDate data; I/O resumes then.")
    if why == ("user",):
        return (f"It was suspended by hand (drbdadm suspend-io): `drbdadm resume-io {resource}` on {name} once "
                "that maintenance is over.")
    return careful
