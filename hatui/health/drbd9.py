"""Rules for what DRBD 9 reports beyond role, disk and link: quorum, clients, blocked I/O,
congestion, a paused resync. The facts come from :mod:`hatui.model.drbd9`; data a node did
not report (an older drbd-utils, a source without the field) gives no finding."""

from __future__ import annotations

from collections.abc import Iterator

from hatui.health.registry import CRIT, OK, WARN, rule, up
from hatui.model import ClusterSnapshot, Finding, Layer, NodeSnapshot
from hatui.model.drbd9 import PAUSE_WHY, blocked, congested, is_client_resource, lost_quorum, paused_resyncs, reasons
from hatui.probes.records import DrbdResource
from hatui.states import Role


def _resources(snap: ClusterSnapshot) -> Iterator[tuple[NodeSnapshot, str, DrbdResource]]:
    """Each configured resource on each node that answered: (node, its peer's name, the resource)."""
    for node in up(snap):
        for cfg in snap.config.drbd:
            res = node.resource(cfg.resource)
            if res is not None:
                yield node, snap.peer_of(node.name).name, res


@rule
def quorum(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node, peer, res in _resources(snap):
        if not lost_quorum(res):
            continue
        volumes = ", ".join(str(d.volume) for d in lost_quorum(res))
        if res.role == Role.PRIMARY:
            message = (f"DRBD {res.name} on Primary {node.name} has LOST QUORUM (volume {volumes}): its I/O "
                       "is frozen or fails (on-no-quorum) — it acknowledges no write")
            severity = CRIT
        else:
            message = (f"DRBD {res.name} on {node.name} has no quorum (volume {volumes}): it cannot become "
                       "Primary")
            severity = WARN
        hint = (f"Restore the connection to {peer} (or the quorum tiebreaker): quorum, and frozen I/O, come "
                f"back by themselves. Do not turn quorum off or force the role while {peer} may be Primary.")
        yield Finding(severity, Layer.DRBD, message, hint, "quorum-lost", node.name)


@rule
def diskless_client(snap: ClusterSnapshot) -> Iterator[Finding]:
    """An intentional diskless client is not a failure; it is said once, with what it means."""
    for node, _peer, res in _resources(snap):
        if is_client_resource(res):
            yield Finding(OK, Layer.DRBD, f"{node.name} is a diskless DRBD client of {res.name} (client:yes, "
                          "by design): it reads and writes through its peer and holds no copy of its own",
                          "No action needed; it cannot take over if its peer fails.", "drbd-diskless-client",
                          node.name)


@rule
def io_flow(snap: ClusterSnapshot) -> Iterator[Finding]:
    """Blocked I/O and a congested replication link."""
    for node, peer, res in _resources(snap):
        for dev in blocked(res):
            where = {"upper": "inside DRBD (waiting for a state change, the activity log or resumed I/O)",
                     "lower": "at the backing disk"}.get(dev.blocked or "", f"({dev.blocked})")
            hint = ("Check the backing disk on the node (dmesg, iostat -x): it does not complete requests."
                    if dev.blocked == "lower" else
                    "Look for the state DRBD waits on (suspended I/O, quorum, a pending state change) in the "
                    "findings above and in the kernel log.")
            yield Finding(WARN, Layer.DRBD, f"I/O of DRBD {res.name} volume {dev.volume} on {node.name} is "
                          f"blocked {where}: writes wait", hint, "io-blocked", node.name)
        for conn in congested(res):
            yield Finding(WARN, Layer.REPLICATION, f"the replication link of DRBD {res.name} from {node.name} "
                          f"to {conn.peer or peer} is congested (send buffer over 80 %): writes slow down",
                          "Check the replication network's bandwidth and latency (and a running resync's "
                          "rate); with on-congestion pull-ahead DRBD goes Ahead/Behind.",
                          "replication-congested", node.name)


@rule
def resync_paused(snap: ClusterSnapshot) -> Iterator[Finding]:
    # A pause on one side shows as "peer" on the other: said once, where it was paused.
    paused_here = {(node.name, res.name) for node, _peer, res in _resources(snap)
                   if any(reasons(d.resync_suspended) != ("peer",) for _c, d in paused_resyncs(res))}
    for node, peer, res in _resources(snap):
        for conn, dev in paused_resyncs(res):
            why = reasons(dev.resync_suspended)
            if why == ("peer",) and (peer, res.name) in paused_here:
                continue
            text = "; ".join(PAUSE_WHY.get(w, w) for w in why)
            other = conn.peer or peer
            if "user" in why:
                hint = f"`drbdadm resume-sync {res.name}` on {node.name} when the pause is no longer wanted."
            elif "peer" in why:
                hint = f"Resume it where it was paused: `drbdadm resume-sync {res.name}` on {other}."
            else:
                hint = "It starts by itself once the resource it depends on (resync-after) has synced."
            yield Finding(WARN, Layer.REPLICATION, f"resync of DRBD {res.name} volume {dev.volume} between "
                          f"{node.name} and {other} is paused: {text}", hint, "resync-paused", node.name)
