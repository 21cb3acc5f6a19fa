"""The DRBD machine's resync and online-verify job (mixed into :class:`~hatui.emulator.drbd_machine.DrbdMachine`).

A resync copies what one side's bitmap (``out_of_sync``) says the other lacks,
at ``sync_rate_kib_s``, with the target Inconsistent until it ends; a full sync
(``invalidate``) copies everything. An online verify compares both disks and
marks what differs out of sync. Separate from the machine so that the machine's
module stays about roles, connections and the data path; the job's data copy
happens when it finishes (the progress in between is what DRBD shows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatui.emulator.drbd_base import INCONSISTENT, KIB_PER_BLOCK, PRIMARY, UPTODATE, CommandResult, DrbdNode, SyncJob
from hatui.emulator.drbd_events import emits


class SyncMixin:
    """Resync / verify verbs and the running job; the machine owns the state named below."""

    nodes: dict[str, DrbdNode]
    sync: SyncJob | None
    now: float
    device_kib: int
    sync_rate_kib_s: float
    verify_rate_kib_s: float
    synced_generation: int

    if TYPE_CHECKING:  # provided by the machine
        def peer(self, name: str) -> DrbdNode: ...  # noqa: E704
        def connected(self, name: str) -> bool: ...  # noqa: E704
        def _fail(self, code: int, text: str, rc: int, cmd: str) -> CommandResult: ...  # noqa: E704
        def _log(self, node: str, message: str) -> None: ...  # noqa: E704
        def _sync_finished(self, job: SyncJob) -> None: ...  # noqa: E704

    @emits
    def invalidate(self, name: str) -> CommandResult:
        """Throw away local data: full resync with this node as SyncTarget."""
        return self._start_full(self.peer(name).name, name, "invalidate")

    @emits
    def invalidate_remote(self, name: str) -> CommandResult:
        return self._start_full(name, self.peer(name).name, "invalidate-remote")

    @emits
    def verify(self, name: str) -> CommandResult:
        if not self.connected(name) or self.sync is not None:
            return self._fail(-15, "Need a connection to start verify or resync", 11, "verify")
        self.sync = SyncJob("verify", name, self.peer(name).name, set(), True, self.device_kib,
                            float(self.device_kib), self.verify_rate_kib_s, self.now)
        self._log(name, "Starting Online Verify from sector 0")
        return CommandResult(0)

    def _start_full(self, source: str, target: str, verb: str) -> CommandResult:
        if not self.connected(source) or self.sync is not None:
            return self._fail(-15, "Need a connection to start verify or resync", 11, verb)
        if self.nodes[target].role == PRIMARY:
            return self._fail(-2, "Need access to UpToDate data", 17, verb)
        self.nodes[target].needs_full_sync = True
        self._start_resync(source, target)
        return CommandResult(0)

    def _start_resync(self, source: str, target: str) -> None:
        src, tgt = self.nodes[source], self.nodes[target]
        keys = src.out_of_sync | tgt.out_of_sync
        full = tgt.needs_full_sync
        if full:
            keys |= set(src.blocks) | set(tgt.blocks)
        total = self.device_kib if full else max(1, len(keys)) * KIB_PER_BLOCK
        total = min(total, self.device_kib)
        tgt.disk = INCONSISTENT
        self.sync = SyncJob("resync", source, target, keys, full, total, float(total),
                            self.sync_rate_kib_s, self.now)
        self._log(source, f"Began resync as SyncSource (will sync {total} KB [{total // 4} bits set]).")
        self._log(target, f"Began resync as SyncTarget (will sync {total} KB [{total // 4} bits set]).")

    def _abort_sync(self) -> None:
        job, self.sync = self.sync, None
        if job is not None and job.kind == "resync":
            # The bitmap keeps what is still to do; the target stays Inconsistent.
            self.nodes[job.source].out_of_sync |= job.keys

    def _advance(self, dt: float) -> None:
        job = self.sync
        if job is None:
            return
        job.left_kib = max(0.0, job.left_kib - job.rate_kib_s * dt)
        if job.left_kib > 0:
            return
        src, tgt = self.nodes[job.source], self.nodes[job.target]
        self.sync = None
        secs = max(1, round(self.now - job.started))
        if job.kind == "verify":
            diff = {k for k in set(src.blocks) | set(tgt.blocks) if src.blocks.get(k) != tgt.blocks.get(k)}
            src.out_of_sync |= diff
            self._log(job.source, f"Online verify done (total {secs} sec; paused 0 sec; "
                                  f"{int(job.rate_kib_s)} K/sec), out of sync: {len(diff) * KIB_PER_BLOCK} KiB")
            return
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
        self.synced_generation = src.generation
        src.out_of_sync.clear()
        tgt.out_of_sync.clear()
        for name in (job.source, job.target):
            self._log(name, f"Resync done (total {secs} sec; paused 0 sec; {int(job.rate_kib_s)} K/sec)")
        self._sync_finished(job)
