"""Health rules: a cluster snapshot → findings (severity, layer, message, next step).

Each rule is a small function over the snapshot that yields what it sees; the
facts it reads (who is Primary, who holds the VIP, which node is unknown) come
from :mod:`hatui.facts`, derived once. Rules do not decide what caused what,
nor whether their hint is safe to follow now: :mod:`hatui.diagnosis` builds
the root-cause tree and lets no hint through that mounts, starts services or
promotes while another node is or may be Primary.

Data hatui could not read is UNKNOWN: a rule that needs it stays silent, and
the ``not-reported`` / ``unreadable`` findings say what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hatui.errors import FailureKind
from hatui.facts import peer_disk_bad, unit_running
from hatui.model import Act, ClusterSnapshot, Finding, Layer, NodeSnapshot
from hatui.probes import catalog
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, Severity, VrrpState
from hatui.textfmt import age_text
from hatui.textfmt import duration_text as _duration

Rule = Callable[[ClusterSnapshot], Iterator[Finding]]
RULES: list[Rule] = []

CRIT, WARN, OK, UNKNOWN = Severity.CRITICAL, Severity.WARNING, Severity.OK, Severity.UNKNOWN
CLOCK_SKEW_LIMIT = 2.0
UNCLASSIFIED = "node-unreachable"  # a failure the transport did not classify


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _up(snap: ClusterSnapshot) -> list[NodeSnapshot]:
    return [n for n in snap.nodes if n.reachable]


def failure_code(node: NodeSnapshot) -> str:
    """The finding code of a node that could not be asked."""
    return node.failure.value if node.failure is not None else UNCLASSIFIED


@rule
def node_failures(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    for node in snap.nodes:
        if node.reachable:
            continue
        peer = snap.peer_of(node.name)
        role = facts.main.roles.get(node.name)
        hint = node.error_hint or ""
        if node.failure in (FailureKind.HOST_KEY_UNKNOWN, FailureKind.AUTH_REJECTED, FailureKind.NAME_UNRESOLVED):
            message = f"hatui cannot ask {node.name}: {node.error}; its state is unknown"
            yield Finding(UNKNOWN, Layer.NODE, message, hint or "Fix hatui's access to the node.",
                          failure_code(node), node.name)
            continue
        if node.failure == FailureKind.HOST_KEY_CHANGED:
            message = (f"{node.name}'s SSH host key CHANGED: {node.error}; hatui stopped talking to it "
                       "(its state is unknown)")
            yield Finding(CRIT, Layer.NODE, message, hint or "Verify the new key out of band before trusting it.",
                          failure_code(node), node.name)
            continue
        message = f"{node.name} is unreachable: {node.error}"
        if node.unreachable_since is not None and snap.taken_at - node.unreachable_since >= 1:
            message += f" (for {age_text(snap.taken_at - node.unreachable_since)})"
        if role is not None:
            # Its peer's DRBD still sees it Connected: alive, just not answering hatui.
            message += f"; DRBD on {peer.name} still sees it Connected and {role}, so the node is up"
            if role == Role.PRIMARY:
                message += " and keeps its role"
                hint = _then(hint, f"No failover happens while {node.name} keeps the Primary role.")
        elif peer.reachable:
            message += "; " + _takeover_text(snap, node, peer)
            if facts.serving.get(peer.name) and peer.name in facts.active:
                hint = _then(hint, (
                    f"{peer.name} serves. Bring {node.name} back (power, console): it rejoins as Secondary and "
                    f"resyncs from {peer.name}; it does not take the role back by itself."))
            elif facts.takeover_safe(peer.name)[0] is False:
                hint = _then(hint, (
                    f"Bring {node.name} back (power, console): its disk has the writes {peer.name} lacks, and "
                    f"{peer.name} resyncs from it. Do not force {peer.name} Primary: that loses those writes."))
            else:
                hint = _then(hint, (
                    f"Before any manual takeover establish that {node.name} is really down (its console, IPMI "
                    f"or hypervisor): a node that is only cut off may still be Primary."))
        yield Finding(CRIT, Layer.NODE, message, hint or "Check the node's power, network and sshd.",
                      failure_code(node), node.name)


def _then(first: str, then: str) -> str:
    """Two hint sentences as one: the transport's next step, then what the pair's state adds."""
    first = first.strip()
    if first and first[-1] not in ".!?":
        first += "."
    return f"{first} {then}" if first else then


def _takeover_text(snap: ClusterSnapshot, down: NodeSnapshot, survivor: NodeSnapshot) -> str:
    facts = snap.facts
    budget = snap.config.timing.available
    if survivor.name in facts.active and facts.serving.get(survivor.name):
        was_active = down.last_known is not None and down.last_known.drbd_role(facts.first) == Role.PRIMARY
        return (f"{survivor.name} took over and serves alone" if was_active
                else f"{survivor.name} serves alone: the pair has no standby")
    safe, why = facts.takeover_safe(survivor.name)
    if safe is False:
        return (f"{survivor.name} will not take over: {why} — the node kit's guard refuses, and forcing it "
                f"would lose the writes {down.name} acknowledged")
    since = down.unreachable_since if down.unreachable_since is not None else snap.taken_at
    elapsed = max(0.0, snap.taken_at - since)
    if elapsed <= budget:
        return (f"automatic failover in progress, T+{elapsed:.0f} s of the documented {budget:g} s "
                f"({survivor.name} does not serve yet)")
    return (f"automatic failover has not completed after {age_text(elapsed)} (documented {budget:g} s; "
            f"{survivor.name} does not serve)")


@rule
def unknown_data(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node in _up(snap):
        missing = sorted(name for name, why in node.unread.items() if why == "not reported")
        unreadable = {name: why for name, why in node.unread.items() if why != "not reported"}
        if missing:
            yield Finding(UNKNOWN, Layer.NODE, f"not reported by {node.name}: {', '.join(missing)} "
                          "(no output at all): those layers are unknown",
                          "In a capture (--from), add the missing files; on a live node, check that the "
                          "poll script ran completely.", "not-reported", node.name)
        if unreadable:
            detail = "; ".join(f"{name} {why}" for name, why in sorted(unreadable.items()))
            yield Finding(UNKNOWN, Layer.NODE, f"output of {node.name} could not be read: {detail}",
                          "Run the command on the node by hand and compare with the formats in the README.",
                          "unreadable", node.name)


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
    for node in _up(snap):
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
    up = _up(snap)
    for res in snap.config.drbd:
        name = res.resource
        rf = facts.resources[name]
        for node in up:
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
        elif rf.both_primary:
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on BOTH nodes: data is diverging",
                          "Decide which node's data survives before anything else: stop the services on the "
                          "other node and demote it; its changes are lost when the split brain is resolved "
                          "(hatui resync split-brain).", "drbd-both-primary")
        elif not rf.primaries and not rf.unknown and len(up) == 2:
            target = _promotion_candidate(snap, name)
            yield Finding(CRIT, Layer.DRBD, f"DRBD {name} is Primary on neither node: nothing can serve data",
                          f"Promote the node with UpToDate data ({target or 'none is UpToDate'}): "
                          "hatui failover / failback runs the guarded sequence.", "drbd-no-primary", target,
                          acts=Act.PROMOTE)
        for node in up:
            r = node.resource(name)
            if r is None or r.role != Role.PRIMARY:
                continue
            for dev in r.devices:
                if dev.disk is not None and dev.disk != DiskState.UPTODATE:
                    yield Finding(CRIT, Layer.DRBD, f"DRBD {name} on Primary {node.name} has disk {dev.disk}",
                                  "The active node is not serving from a good local disk; check the "
                                  "backing device and dmesg.", "primary-disk-bad", node.name)


def _promotion_candidate(snap: ClusterSnapshot, resource: str) -> str | None:
    for node in _up(snap):
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
        if facts.split_brain and (len(rf.standalone) == 2 or (rf.standalone and rf.both_primary)):
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
        for node in _up(snap):
            yield from _peer_device_findings(snap, node, name)


def _replication_down(snap: ClusterSnapshot, name: str) -> Finding:
    sides = []
    for node in _up(snap):
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
            if peer_disk_bad(dev.peer_disk):
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
            if why == "fencing":
                hint = (f"The fence-peer handler could not outdate {peer} (peer unreachable over the other "
                        f"network?). {hint}")
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


@rule
def filesystem(snap: ClusterSnapshot) -> Iterator[Finding]:
    facts = snap.facts
    for node in _up(snap):
        for res in snap.config.drbd:
            role = facts.resources[res.resource].roles.get(node.name)
            mounted = node.mounts.get(res.resource)
            section = catalog.mount_section(res.resource)
            mount_known = section in node.sections and section not in node.unread
            if role == Role.PRIMARY and mounted is None and mount_known:
                yield Finding(CRIT, Layer.MOUNT, f"{res.mount_point} is not mounted on Primary {node.name}",
                              f"mount {res.device} {res.mount_point} on {node.name}, then start the services.",
                              "fs-not-mounted", node.name, acts=Act.MOUNT)
            if role is not None and role != Role.PRIMARY and mounted is not None:
                yield Finding(CRIT, Layer.MOUNT, f"{res.mount_point} is mounted on {node.name}, which is "
                              f"DRBD {role}", "Unmount it: a Secondary cannot serve the replicated data.",
                              "fs-mounted-on-secondary", node.name)
            disk = node.disks.get(res.resource)
            dsection = catalog.disk_section(res.resource)
            if res.backing_disk and dsection in node.sections and dsection not in node.unread and disk is None:
                yield Finding(CRIT, Layer.DISK, f"backing disk {res.backing_disk} not found on {node.name}",
                              "Check the disk (lsblk, dmesg).", "disk-missing", node.name)
            elif disk is not None and disk.read_only:
                yield Finding(CRIT, Layer.DISK, f"backing disk {res.backing_disk} is read-only on {node.name}",
                              "The kernel remounts failing disks read-only: check dmesg.", "disk-ro", node.name)


@rule
def services(snap: ClusterSnapshot) -> Iterator[Finding]:
    cfg = snap.config.services
    facts = snap.facts
    for node in _up(snap):
        active = node.name in facts.active
        nfs_up = unit_running(node, cfg.nfs.unit)
        dag_up = unit_running(node, cfg.dag_processor.unit)
        secondary = facts.main.roles.get(node.name) == Role.SECONDARY
        if active and nfs_up is False:
            yield Finding(CRIT, Layer.NFS, f"NFS server is down on active node {node.name} (DRBD Primary)",
                          f"systemctl start {cfg.nfs.unit} on {node.name} (filesystem mounted first).",
                          "nfs-down-active", node.name, acts=Act.START_SERVICES)
        if active and dag_up is False:
            yield Finding(CRIT, Layer.DAG, f"DAG processor is down on active node {node.name} (DRBD Primary)",
                          f"systemctl start {cfg.dag_processor.unit} on {node.name}; check its log.",
                          "dag-down-active", node.name, acts=Act.START_SERVICES)
        if secondary and nfs_up:
            yield Finding(CRIT, Layer.NFS, f"NFS server runs on {node.name}, which is DRBD Secondary: "
                          "it serves an empty mount point", f"systemctl stop {cfg.nfs.unit} on {node.name}.",
                          "nfs-on-secondary", node.name)
        if secondary and dag_up:
            yield Finding(WARN, Layer.DAG, f"DAG processor runs on {node.name}, which is DRBD Secondary",
                          f"systemctl stop {cfg.dag_processor.unit} on {node.name}.", "dag-on-secondary", node.name)
        if nfs_up and node.exports is not None and not node.exports.error and cfg.nfs.exports:
            have = {e.path for e in node.exports.exports}
            missing = [p for p in cfg.nfs.exports if p not in have]
            if missing:
                yield Finding(CRIT, Layer.NFS, f"NFS is up on {node.name} but not exporting {', '.join(missing)}",
                              "exportfs -ra on the node; check /etc/exports and that the filesystem is mounted.",
                              "exports-missing", node.name)
        health = node.dag_health
        if active and dag_up and health is not None and not health.ok:
            yield Finding(WARN, Layer.DAG, f"DAG processor health check failed on {node.name} (exit {health.rc})",
                          "The unit runs but the job is not heartbeating; check the processor's log.",
                          "dag-health-failed", node.name)


@rule
def foreign_cluster_stack(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node in _up(snap):
        if node.cluster_stack is not None and node.cluster_stack.processes:
            names = ", ".join(sorted({p.name for p in node.cluster_stack.processes}))
            yield Finding(WARN, Layer.CLUSTER, f"{names} running on {node.name}: this pair is managed by "
                          "keepalived, and two managers fight over the same resources",
                          "Stop and disable pacemaker/corosync on this node.", "pacemaker-present", node.name)


@rule
def clock_skew(snap: ClusterSnapshot) -> Iterator[Finding]:
    # Each node's clock minus the moment hatui received it: nodes polled at different
    # moments (one slow, one fresh) are compared fairly.
    offsets = [n.clock - n.polled_at for n in snap.nodes if n.reachable and n.clock is not None]
    if len(offsets) == 2 and abs(offsets[0] - offsets[1]) > CLOCK_SKEW_LIMIT:
        yield Finding(WARN, Layer.CLUSTER, f"node clocks differ by {abs(offsets[0] - offsets[1]):.1f}s: "
                      "timelines across nodes will be off", "Check NTP/chrony on both nodes.", "clock-skew")


def run_rules(snap: ClusterSnapshot) -> list[Finding]:
    """Every rule's findings, unordered and unrelated (see :func:`evaluate`)."""
    return [f for r in RULES for f in r(snap)]


def evaluate(snap: ClusterSnapshot) -> tuple[tuple[Finding, ...], Severity]:
    """Findings as a root-cause tree (each root followed by what it explains) and the verdict."""
    from hatui.diagnosis import diagnose

    return diagnose(snap, run_rules(snap))
