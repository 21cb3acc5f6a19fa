"""Rules about nodes hatui could not ask, and data it could not read."""

from __future__ import annotations

from collections.abc import Iterator

from hatui.errors import FailureKind
from hatui.health.registry import CRIT, UNKNOWN, rule, up
from hatui.model import ClusterSnapshot, Finding, Layer, NodeSnapshot
from hatui.model.drbd9 import can_take_over
from hatui.states import Role
from hatui.present.text import age_text

UNCLASSIFIED = "node-unreachable"  # a failure the transport did not classify


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
    take = can_take_over(snap, survivor.name)
    if take.can is False:  # DRBD 9's own reason: no quorum, a diskless client, DRBD refuses
        return f"{survivor.name} cannot take over: {take.why}"
    since = down.unreachable_since if down.unreachable_since is not None else snap.taken_at
    elapsed = max(0.0, snap.taken_at - since)
    if elapsed <= budget:
        return (f"automatic failover in progress, T+{elapsed:.0f} s of the documented {budget:g} s "
                f"({survivor.name} does not serve yet)")
    return (f"automatic failover has not completed after {age_text(elapsed)} (documented {budget:g} s; "
            f"{survivor.name} does not serve)")


@rule
def unknown_data(snap: ClusterSnapshot) -> Iterator[Finding]:
    for node in up(snap):
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
