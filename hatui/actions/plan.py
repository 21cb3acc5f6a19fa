"""Plans: the exact, reviewable list of steps an action will take.

A :class:`Plan` is data, built from a snapshot and the config before anything
runs, so the operator (``--dry-run``, the console's plan screen) sees every
command and the node it runs on before confirming. Each :class:`Step` holds:

* ``node`` and the exact ``command`` string. Commands are built only with
  :func:`shlex.join` from config values that :mod:`hatui.config` has already
  validated by pattern, prefixed with ``cluster.prefix_words`` (e.g. ``sudo
  -n``), so no config value can inject shell syntax;
* ``timeout`` for the command itself, and ``settle``: how long the runner polls
  after it for ``check`` (a predicate over a fresh
  :class:`~hatui.model.ClusterSnapshot`) to hold;
* ``phase``: which step of the seed's documented sequence it belongs to, for
  the timeline's budget (``detect``/``vip``/``promote``/``mount``/``services``/
  ``available`` from ``config.timing``; resync flows use the seed's recovery
  sequence, see :data:`RECOVERY_BUDGET`);
* ``undo``: the step that reverses it (used by a safe rollback), or ``None``
  with ``point_of_no_return`` when reversing is not a local undo (the VIP).

``primary --force`` is never built here: :func:`drbdadm` refuses it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace

from hatui.actions.checks import Check
from hatui.config import Config

# The seed's recovery sequence (T+5 secondary, T+10 synced, T+15 ready). Not in
# the config schema (hatui.config is not ours to change); a `[timing]` key for it
# would be better.
RECOVERY_BUDGET = {"rejoin": 5.0, "sync": 10.0, "ready": 15.0}
FAILOVER_PHASES = ("detect", "vip", "promote", "mount", "services", "available")

SERVICE_TIMEOUT = 90.0  # systemctl start/stop of a real NFS server or Airflow can take a while
SYNC_WAIT = 24 * 3600.0  # a resync is done when DRBD says so; the operator may Ctrl-C the readout


class PlanError(Exception):
    """The snapshot does not allow building this plan (one line: why, what to do)."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason if not hint else f"{reason} ({hint})")
        self.reason, self.hint = reason, hint


@dataclass(frozen=True)
class Step:
    """One command on one node, and the effect that proves it worked."""

    node: str
    phase: str
    description: str
    command: str | None  # None: a wait/verify step that only polls
    check: Check
    timeout: float = 10.0
    settle: float = 15.0
    skip_if_done: bool = True  # the check already holds: nothing to do (makes retry safe)
    undo: Step | None = None
    point_of_no_return: bool = False
    progress: str | None = None  # DRBD resource whose sync % / ETA to report while settling

    def budget(self, config: Config) -> float | None:
        """Seconds after T+0 by which the documented sequence has this phase done."""
        if self.phase in FAILOVER_PHASES:
            return float(getattr(config.timing, self.phase))
        return RECOVERY_BUDGET.get(self.phase)

    @property
    def wait_text(self) -> str:
        """How long the runner waits for the check: not a budget (those come from the seed)."""
        if self.settle >= 3600:  # a resync: as long as it takes, progress shown meanwhile
            return "waits until done"
        return f"waits up to {self.settle:g} s"

    def to_dict(self) -> dict[str, object]:
        return {"node": self.node, "phase": self.phase, "description": self.description,
                "command": self.command, "check": self.check.text, "timeout": self.timeout,
                "settle": self.settle}


@dataclass(frozen=True)
class PlanWarning:
    """A condition the operator must acknowledge explicitly (e.g. a recent role change)."""

    code: str
    message: str
    hint: str


@dataclass(frozen=True)
class Plan:
    """An action, fully spelled out, ready for preflight, confirmation and the runner."""

    kind: str  # "failover", "failback", "resync-reconnect", "resync-split-brain", ...
    title: str
    source: str | None  # node giving up the active role (failover/failback), or None
    target: str  # the node the operator must type to confirm
    steps: tuple[Step, ...]
    resources: tuple[str, ...]
    warnings: tuple[PlanWarning, ...] = ()
    evidence: tuple[str, ...] = ()  # lines shown before confirming (split brain)
    notes: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def confirm_node(self) -> str:
        return self.target

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "title": self.title, "source": self.source, "target": self.target,
                "resources": list(self.resources), "steps": [s.to_dict() for s in self.steps],
                "warnings": [w.message for w in self.warnings], "evidence": list(self.evidence)}

    def describe(self) -> list[str]:
        """The plan as lines of text: every step with its node and exact command."""
        lines = [self.title]
        lines += [f"  ! {e}" for e in self.evidence]
        for i, s in enumerate(self.steps, 1):
            cmd = s.command if s.command is not None else "(poll only)"
            lines.append(f"  {i:2d}. [{s.phase}] {s.node}: {s.description}")
            lines.append(f"      $ {cmd}")
            lines.append(f"      check: {s.check.text} ({s.wait_text})")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  WARNING: {w.message} ({w.hint})" for w in self.warnings]
        return lines


class Commands:
    """Builds the exact command strings from validated config values."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.prefix = list(config.cluster.prefix_words)

    def join(self, *words: str) -> str:
        return shlex.join([*self.prefix, *words])

    def systemctl(self, verb: str, unit: str) -> str:
        return self.join("systemctl", verb, unit)

    def drbdadm(self, verb: str, resource: str, *flags: str) -> str:
        if "--force" in flags:  # never, whatever calls this: it can lose data
            raise PlanError("a plan tried to use drbdadm --force", "this is a bug in hatui")
        return self.join("drbdadm", verb, *flags, resource)

    def mount(self, fs_type: str, device: str, mount_point: str) -> str:
        return self.join("mount", "-t", fs_type, device, mount_point)

    def umount(self, mount_point: str) -> str:
        return self.join("umount", mount_point)

    def nfs_probe(self, port: int = 2049) -> str:
        # Runs as the SSH user: it only opens a TCP connection to the VIP.
        return shlex.join(["timeout", "3", "nc", "-z", "-w", "2", self.config.vip.ip, str(port)])


def with_undo(step: Step, undo: Step) -> Step:
    return replace(step, undo=undo)
