"""The DRBD 9 states beyond role, disk and link, derived once for rules, cells and the JSON.

DRBD 9 reports what an operator needs before a takeover: quorum per device,
I/O suspended and why (``user``, ``no-data``, ``fencing``, ``quorum``), its own
``may_promote`` verdict with a ``promotion_score``, intentionally diskless
clients (``client:yes``: Diskless by design, not a failed disk), blocked I/O,
congestion, and a resync paused and why. Each is three-valued like the records:
``None`` is "not reported", never "fine".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hatui.probes.records import DrbdConnection, DrbdDevice, DrbdPeerDevice, DrbdResource, HelperCall
from hatui.states import DiskState, Role, is_syncing

if TYPE_CHECKING:
    from hatui.model import ClusterSnapshot

SUSPEND_WHY = {
    "user": "suspended by hand (drbdadm suspend-io)",
    "no-data": "no reachable UpToDate data (local disk gone and no peer with the data)",
    "fencing": "frozen by fencing until the fence-peer handler outdates the peer",
    "quorum": "frozen because quorum was lost (on-no-quorum suspend-io)",
}
PAUSE_WHY = {
    "user": "paused by hand (drbdadm pause-sync)",
    "peer": "paused by the peer",
    "dependency": "waits for another resource's resync (resync-after)",
}


def is_client(dev: DrbdDevice) -> bool:
    """An intentionally diskless device (``client:yes``): Diskless by design, not a failure."""
    return dev.client is True and dev.disk in (DiskState.DISKLESS, None)


def is_client_resource(res: DrbdResource) -> bool:
    """Every device of ``res`` is an intentional diskless client."""
    return bool(res.devices) and all(is_client(d) for d in res.devices)


def failed_disks(res: DrbdResource) -> list[DrbdDevice]:
    """The devices whose disk is not UpToDate, leaving out intentional diskless clients."""
    return [d for d in res.devices if d.disk is not None and d.disk != DiskState.UPTODATE and not is_client(d)]


def peer_is_client(dev: DrbdPeerDevice) -> bool:
    """The peer's side of this device is an intentional diskless client (``peer-client:yes``)."""
    return dev.peer_client is True and dev.peer_disk in (DiskState.DISKLESS, None)


def reasons(text: str | None) -> tuple[str, ...]:
    """drbdsetup's comma-joined reasons ("user,fencing") as a tuple; () for "no" or unknown."""
    if not text or text in ("no", "yes"):
        return ()
    return tuple(r for r in text.split(",") if r)


def lost_quorum(res: DrbdResource) -> list[DrbdDevice]:
    """The devices that report quorum:no (not those that do not report quorum at all)."""
    return [d for d in res.devices if d.quorum is False]


def blocked(res: DrbdResource) -> list[DrbdDevice]:
    """Devices with I/O blocked ("upper": in DRBD, "lower": at the backing disk)."""
    return [d for d in res.devices if d.blocked not in (None, "no")]


def congested(res: DrbdResource) -> list[DrbdConnection]:
    """Connections whose send buffer is more than 80 % full."""
    return [c for c in res.connections if c.congested is True]


def paused_resyncs(res: DrbdResource) -> list[tuple[DrbdConnection, DrbdPeerDevice]]:
    """Peer devices whose resync waits, with why in ``resync_suspended`` (a pause flag on a link
    with no resync due is no finding: it only matters once a resync would run)."""
    return [(c, d) for c in res.connections for d in c.peer_devices
            if reasons(d.resync_suspended) and (d.replication is None or is_syncing(d.replication))]


@dataclass(frozen=True)
class TakeOver:
    """Can this node take over now, and why (``can`` None: not known)."""

    can: bool | None
    why: str

    @property
    def word(self) -> str:
        return {True: "yes", False: "no", None: "unknown"}[self.can]


def can_take_over(snap: ClusterSnapshot, node: str) -> TakeOver:
    """Could ``node`` become Primary of every resource now without losing data?

    Data safety first (:meth:`~hatui.model.facts.PairFacts.takeover_safe`: disk,
    unfinished resync, writes it never got); then what DRBD 9 itself says: a
    diskless client has no data to serve, a device without quorum cannot be
    promoted, and ``may_promote:no`` while no Primary exists means DRBD would
    refuse. While the peer is Primary DRBD always says ``may_promote:no``: then
    the disk and the score tell whether the node could follow once the peer
    steps down.
    """
    safe, why = snap.facts.takeover_safe(node)
    answered = snap.node(node)
    if not answered.reachable:
        return TakeOver(None, why)
    for cfg in snap.config.drbd:
        res = answered.resource(cfg.resource)
        if res is None:
            continue
        if res.role == Role.PRIMARY:
            return TakeOver(None, "it is the Primary")
        if is_client_resource(res):
            return TakeOver(False, f"it is a diskless client of {res.name} (no data of its own)")
        if lost_quorum(res):
            return TakeOver(False, f"it has no quorum for {res.name}")
        if res.suspended and res.suspended_reason:
            return TakeOver(False, f"its I/O on {res.name} is suspended ({res.suspended_reason})")
    if safe is False:
        return TakeOver(False, why)
    for cfg in snap.config.drbd:
        res = answered.resource(cfg.resource)
        if res is None or res.may_promote is None:
            continue
        score = f", promotion score {res.promotion_score}" if res.promotion_score is not None else ""
        others = [p for p in snap.facts.resources[cfg.resource].primaries if p != node]
        if res.may_promote:
            if safe is None:
                return TakeOver(None, f"DRBD may promote it{score}, but {why}")
            return TakeOver(True, f"{why}; DRBD may promote it{score}")
        if not others:
            return TakeOver(False, f"DRBD refuses to promote it (may_promote no{score})")
    return TakeOver(safe, why)


# fence-peer's exit codes (drbd.conf: handlers): what the handler says it did to the peer.
FENCE_EXIT = {3: "peer disk already Inconsistent", 4: "peer outdated", 5: "peer unreachable",
              6: "peer refused (it is Primary)", 7: "peer fenced (STONITH)"}


def helper_text(node: str, call: HelperCall) -> str:
    """The event-log / timeline words of a helper event: "split-brain handler ran on vm12, exit 0"."""
    on = f"{call.helper} handler {{}} on {node}" + (f" for {call.resource}" if call.resource else "")
    if not call.response:
        return on.format("started")
    code = call.exit_code
    text = on.format("ran") + (f", exit {code}" if code is not None else ", exit status not reported")
    if call.helper == "fence-peer" and code in FENCE_EXIT:
        text += f" ({FENCE_EXIT[code]})"
    return text
