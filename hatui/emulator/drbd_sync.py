"""The DRBD machine's resync and online-verify job: a component the machine owns.

A resync copies what one side's bitmap (``out_of_sync``) says the other lacks,
at ``sync_rate_kib_s``, with the target Inconsistent until it ends; a full sync
(``invalidate``) copies everything. An online verify compares both disks and
marks what differs out of sync. Separate from the machine so that the machine's
module stays about roles, connections and the data path; the job's data copy
happens when it finishes (the progress in between is what DRBD shows). It holds
the running job and the rates; the nodes and the rest come from the owning
machine through :class:`~hatui.emulator.drbd_base.PairView`.
"""

from __future__ import annotations

from hatui.emulator.drbd_base import (ESTABLISHED, INCONSISTENT, KIB_PER_BLOCK, PRIMARY, UPTODATE, CommandResult,
                                      DrbdNode, PairView, SyncJob)


SPLIT_BRAIN = "split-brain"


def sync_direction(a: DrbdNode, b: DrbdNode, a_new: bool, b_new: bool) -> tuple[str, str] | str | None:
    """The handshake's verdict: (SyncSource, SyncTarget) names, None (in sync) or :data:`SPLIT_BRAIN`.

    One side with new data is the source; both new is split brain unless exactly one
    said ``--discard-my-data``; neither new: an UpToDate disk syncs one that is not.
    """
    if a_new and b_new:
        if a.discard_my_data == b.discard_my_data:
            return SPLIT_BRAIN
        return (b.name, a.name) if a.discard_my_data else (a.name, b.name)
    if a_new or b_new:
        return (a.name, b.name) if a_new else (b.name, a.name)
    if a.disk != b.disk and UPTODATE in (a.disk, b.disk):
        return (a.name, b.name) if a.disk == UPTODATE else (b.name, a.name)
    return None


class Resync:
    """The running resync or verify (``job``) of the pair ``m`` and the verbs that start one."""

    def __init__(self, m: PairView, *, sync_rate_kib_s: float, verify_rate_kib_s: float) -> None:
        self.m = m
        self.sync_rate_kib_s, self.verify_rate_kib_s = sync_rate_kib_s, verify_rate_kib_s
        self.job: SyncJob | None = None

    # ---- what the job means for a connected node ------------------------------------

    def replication(self, name: str) -> str:
        """A connected node's replication state: Established, or its part in the running job."""
        job = self.job
        if job is None:
            return ESTABLISHED
        if job.kind == "verify":
            return "VerifyS" if job.source == name else "VerifyT"
        return "SyncSource" if job.source == name else "SyncTarget"

    def out_of_sync_kib(self, name: str, *, connected: bool) -> int:
        """What ``name``'s bitmap says the peer lacks (or, when target, it lacks)."""
        if connected:
            return int(self.job.left_kib) if self.job is not None and self.job.kind == "resync" else 0
        node = self.m.nodes[name]
        if node.needs_full_sync:
            return self.m.device_kib
        return min(self.m.device_kib, len(node.out_of_sync) * KIB_PER_BLOCK)

    def progress(self) -> dict[str, float] | None:
        """done % of the running resync/verify (0 -> 100), speed KiB/s, ETA s; None when none runs."""
        job = self.job
        if job is None:
            return None
        done = 100.0 * (job.total_kib - job.left_kib) / job.total_kib if job.total_kib else 100.0
        return {
            "done": round(min(done, 100.0), 2),
            "speed_kib_s": job.rate_kib_s,
            "eta_s": job.left_kib / job.rate_kib_s if job.rate_kib_s else 0.0,
            "total_kib": float(job.total_kib),
            "left_kib": float(job.left_kib),
        }

    # ---- verbs ------------------------------------------------------------------------

    def invalidate(self, name: str) -> CommandResult:
        """Throw away local data: full resync with this node as SyncTarget."""
        return self._start_full(self.m.peer(name).name, name, "invalidate")

    def invalidate_remote(self, name: str) -> CommandResult:
        return self._start_full(name, self.m.peer(name).name, "invalidate-remote")

    def verify(self, name: str) -> CommandResult:
        m = self.m
        if not m.connected(name) or self.job is not None:
            return m.refuse(-15, "Need a connection to start verify or resync", 11, "verify")
        self.job = SyncJob("verify", name, m.peer(name).name, set(), True, m.device_kib, float(m.device_kib),
                           self.verify_rate_kib_s, m.now)
        m.kernel_log(name, "Starting Online Verify from sector 0")
        return CommandResult(0)

    def _start_full(self, source: str, target: str, verb: str) -> CommandResult:
        m = self.m
        if not m.connected(source) or self.job is not None:
            return m.refuse(-15, "Need a connection to start verify or resync", 11, verb)
        if m.nodes[target].role == PRIMARY:
            return m.refuse(-2, "Need access to UpToDate data", 17, verb)
        m.nodes[target].needs_full_sync = True
        self.start(source, target)
        return CommandResult(0)

    def start(self, source: str, target: str) -> None:
        """Resync from ``source`` to ``target``: what either bitmap marks, everything for a full sync."""
        m = self.m
        src, tgt = m.nodes[source], m.nodes[target]
        keys = src.out_of_sync | tgt.out_of_sync
        full = tgt.needs_full_sync
        if full:
            keys |= set(src.blocks) | set(tgt.blocks)
        total = m.device_kib if full else max(1, len(keys)) * KIB_PER_BLOCK
        total = min(total, m.device_kib)
        tgt.disk = INCONSISTENT
        self.job = SyncJob("resync", source, target, keys, full, total, float(total), self.sync_rate_kib_s, m.now)
        m.kernel_log(source, f"Began resync as SyncSource (will sync {total} KB [{total // 4} bits set]).")
        m.kernel_log(target, f"Began resync as SyncTarget (will sync {total} KB [{total // 4} bits set]).")

    def abort(self) -> None:
        job, self.job = self.job, None
        if job is not None and job.kind == "resync":
            # The bitmap keeps what is still to do; the target stays Inconsistent.
            self.m.nodes[job.source].out_of_sync |= job.keys

    def advance(self, dt: float) -> SyncJob | None:
        """Progress by ``dt`` seconds; the job that finished in this step (None when none did)."""
        job = self.job
        if job is None:
            return None
        job.left_kib = max(0.0, job.left_kib - job.rate_kib_s * dt)
        if job.left_kib > 0:
            return None
        m = self.m
        src, tgt = m.nodes[job.source], m.nodes[job.target]
        self.job = None
        secs = max(1, round(m.now - job.started))
        if job.kind == "verify":
            diff = {k for k in set(src.blocks) | set(tgt.blocks) if src.blocks.get(k) != tgt.blocks.get(k)}
            src.out_of_sync |= diff
            m.kernel_log(job.source, f"Online verify done (total {secs} sec; paused 0 sec; "
                                     f"{int(job.rate_kib_s)} K/sec), out of sync: {len(diff) * KIB_PER_BLOCK} KiB")
            return job
        if job.full:
            tgt.blocks = dict(src.blocks)
        for key in job.keys:
            if key in src.blocks:
                tgt.blocks[key] = src.blocks[key]
            else:
                tgt.blocks.pop(key, None)
        src.sent_kib += job.total_kib
        tgt.received_kib += job.total_kib
        tgt.disk, tgt.needs_full_sync = UPTODATE, False
        tgt.generation = src.generation
        src.out_of_sync.clear()
        tgt.out_of_sync.clear()
        for name in (job.source, job.target):
            m.kernel_log(name, f"Resync done (total {secs} sec; paused 0 sec; {int(job.rate_kib_s)} K/sec)")
        return job
