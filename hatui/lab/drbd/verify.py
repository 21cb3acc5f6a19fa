"""The DRBD emulator's invariant check: an always-on online verify, run by node-id 0 (the coordinator).

Whenever the coordinator concludes the pair is in sync -- a handshake that needs
no resync, or a resync that ran to its end (even one that ended in the
handshake's own tick) -- the push that says so carries ``verify``; the follower
answers with a SHA-256 digest of its disk's blocks in the ``ack``, and the
coordinator compares it with the digest of its own blocks at that push. Equal
is the only expected outcome. If they differ the emulator has a bug or a disk
changed behind its back: it logs ``VERIFY FAILED`` loudly (stderr and both
nodes' kernel log), fetches the follower's blocks, and resyncs exactly the
differing keys from the side that is right (the resync's source; after a
handshake, the Primary, else node-id 0), as DRBD's online verify followed by a
reconnect would. So the pair never stays
UpToDate/UpToDate while its disks silently differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hatui.emulator.drbd_machine import CONNECTED
from hatui.lab.drbd.store import LabDrbdMachine, blocks_digest
from hatui.lab.drbd.wire import log


@dataclass
class Check:
    """One check after the pair became in sync."""

    seq: int  # the push whose ack carries the follower's digest
    digest: str  # of our own blocks when that push went out
    source: str  # whose blocks are right if the disks differ
    after: str  # "handshake" or "resync"
    fetching: bool = False  # digests differed: the follower's blocks were asked for
    touched: set[str] = field(default_factory=set)  # follower keys pushed since that request


class OnlineVerify:
    """Coordinator: when a check is due, the check in progress, and the outcomes so far (``counts``)."""

    def __init__(self, m: LabDrbdMachine, local: str, peer: str) -> None:
        self.m, self.local, self.peer = m, local, peer
        self.due: tuple[str, str] | None = None  # (source, after what) to check at the next in-sync push
        self.check: Check | None = None
        self.counts = {"ok": 0, "failed": 0}

    def schedule(self, source: str, after: str) -> None:
        self.due = (source, after)

    def forget(self) -> None:
        """Not Connected any more: nothing due, nothing in progress (the next handshake checks again)."""
        self.due = self.check = None

    def wanted(self) -> bool:
        """Whether the push going out now asks the follower for its digest (a check is due and the pair is in sync)."""
        return self.due is not None and self.m.sync is None and self.m.node(self.local).conn == CONNECTED

    def pushed(self, seq: int, diff: dict, *, asked: bool) -> None:
        """A push went out (``asked``: with ``verify``)."""
        if self.check is not None and self.check.fetching:
            self.check.touched |= set(diff)
        if asked and self.due is not None:
            source, after = self.due
            self.due = None
            self.check = Check(seq, blocks_digest(self.m.node(self.local).blocks), source, after)

    def digest_arrived(self, seq: int, digest: str) -> bool:
        """The follower's digest for push ``seq``; True when the disks differ and its blocks must be fetched."""
        c = self.check
        if c is None or c.seq != seq or c.fetching:
            return False
        if digest == c.digest:
            self.check = None
            self.counts["ok"] += 1
            return False
        self.counts["failed"] += 1
        log(f"VERIFY FAILED after {c.after}: {self.peer}'s disk differs from {self.local}'s although "
            f"both are UpToDate; fetching its blocks to resync the difference")
        c.fetching = True
        return True

    def blocks_arrived(self, blocks: dict, pushed: dict[str, str], *,
                       paired: bool) -> tuple[dict[str, str], bool] | None:
        """The follower's blocks (as of our request; ``pushed``: what we pushed it since): resync what differs.

        Returns what the follower has on disk now (the link's new diff base) and whether a
        resync of differing keys began; None when the pair moved on (a resync or a disconnect
        gets its own check).
        """
        c, self.check = self.check, None
        me, peer = self.m.node(self.local), self.m.node(self.peer)
        if c is None or not c.fetching or not paired or self.m.sync is not None or me.conn != CONNECTED:
            return None
        actual = {str(k): str(val) for k, val in blocks.items()}
        for key in c.touched:  # pushed after the request: applied after that answer
            if key in pushed:
                actual[key] = pushed[key]
            else:
                actual.pop(key, None)
        peer.blocks = actual
        keys = {k for k in set(me.blocks) | set(actual) if me.blocks.get(k) != actual.get(k)}
        if not keys:
            return dict(actual), False
        target = self.peer if c.source == self.local else self.local
        log(f"VERIFY FAILED after {c.after}: {len(keys)} keys differ (e.g. {', '.join(sorted(keys)[:5])}); "
            f"resyncing them {c.source} -> {target}")
        self.m.resync_differences(c.source, target, keys, c.after)
        return dict(actual), True
