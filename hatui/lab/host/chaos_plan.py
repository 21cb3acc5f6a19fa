"""The chaos run's fault kinds: how each is made, undone, and what hatui must say meanwhile.

Why a table: "the verdict the fault implies" has to be written down before the
run, or any answer hatui gives could be argued right afterwards. Each kind
names the lab faults it injects (:mod:`hatui.lab.host.faults`, real means: SIGKILL,
links down, SIGSTOP of sshd, neighbour entries, systemctl), how they are
undone, and :class:`Expect`: the verdict and the root finding (the first one
``status --json`` lists) that must show up while the fault lasts.

======================  ===========================================  ========  =================================
kind                    what happens                                 verdict   root finding (node)
======================  ===========================================  ========  =================================
crash-active            power loss of the active node                CRITICAL  node down (*) (the crashed node)
crash-standby           power loss of the standby                    CRITICAL  node down (the crashed node)
cut-link                replication link down                        WARNING   replication-down
partition-active        active node off both networks                CRITICAL  node down (the partitioned node)
partition-standby       standby off both networks                    CRITICAL  node down (the partitioned node)
hang-active             the active node's sshd stopped (SIGSTOP)     CRITICAL  node down (the hung node)
hang-standby            the standby's sshd stopped                   CRITICAL  node down (the hung node)
keepalived-both         keepalived stopped on both nodes             CRITICAL  keepalived-down
service-crash-loop      NFS killed on whichever node is active,      CRITICAL  nfs-down-active
                        every 2 s
block-vrrp              VRRP adverts lost both ways                  CRITICAL  vrrp-split
vrrp-and-cut            VRRP adverts lost and the link cut           CRITICAL  vrrp-split
crash-during-resync     cut, writes, heal, crash a node while it     CRITICAL  node down (the crashed node)
                        resyncs
cut-then-crash-active   cut, then the active node crashes 1-4 s      CRITICAL  node down (the crashed node)
                        later
failover-drop           ``hatui failover``; a node's SSH sessions    —         (the action's outcome is judged)
                        are cut mid-way
failover-hang           ``hatui failover``; a node's sshd hangs      —         (the action's outcome is judged)
                        mid-way for 3-10 s
======================  ===========================================  ========  =================================

(*) node down: one of the unreachable classes, ``connection-refused``,
``connect-timed-out``, ``connection-dropped``, ``node-hung``: which one
depends on timing (links down: the connect times out; sshd stopped: no
banner), so the class is expected, not one code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

NODE_DOWN = frozenset({"connection-refused", "connect-timed-out", "connection-dropped", "node-hung"})
NFS = "nfs-server.service"


@dataclass(frozen=True)
class Expect:
    """What ``hatui status --json`` must show at least once while the fault lasts."""

    verdict: str
    roots: frozenset[str]
    on_target: bool = False  # the root finding is about the round's target node

    def met(self, doc: dict, target: str | None) -> bool:
        findings = doc.get("findings") or []
        if doc.get("verdict") != self.verdict or not findings:
            return False
        root = findings[0]
        return root.get("code") in self.roots and (not self.on_target or root.get("node") == target)

    def text(self, target: str | None) -> str:
        where = f" on {target}" if self.on_target and target else ""
        roots = "node down" if self.roots == NODE_DOWN else "/".join(sorted(self.roots))
        return f"{self.verdict} {roots}{where}"


class Ctx(Protocol):
    """What a kind needs from the run (:class:`hatui.lab.host.chaos_run.ChaosRun`)."""

    active: str
    standby: str

    def fault(self, kind: str, node: str | None = None, unit: str | None = None) -> str: ...  # noqa: E704
    def pause(self, seconds: float) -> None: ...  # noqa: E704
    def uniform(self, a: float, b: float) -> float: ...  # noqa: E704
    def choice(self, items: list[str]) -> str: ...  # noqa: E704
    def note(self, key: str, value: object) -> None: ...  # noqa: E704
    def primary(self) -> str | None: ...  # noqa: E704
    def replication(self, name: str) -> str | None: ...  # noqa: E704
    def start_failover(self) -> None: ...  # noqa: E704


@dataclass(frozen=True)
class Kind:
    """One fault kind: inject (returns the round's target node), undo, and the expectation."""

    name: str
    inject: Callable[[Ctx], str | None]
    undo: Callable[[Ctx, str | None], None]
    expect: Expect | None
    dwell: tuple[float, float] = (4.0, 10.0)  # seconds the fault lasts (uniform)


def _crash(who: str) -> Callable[[Ctx], str]:
    def inject(c: Ctx) -> str:
        target = c.active if who == "active" else c.standby
        c.fault("crash", target)
        return target
    return inject


def _restore(c: Ctx, target: str | None) -> None:
    c.fault("restore", target)
    c.fault("heal")


def _on(fault: str, who: str) -> Callable[[Ctx], str]:
    def inject(c: Ctx) -> str:
        target = c.active if who == "active" else c.standby
        c.fault(fault, target)
        return target
    return inject


def _keepalived_both(c: Ctx) -> None:
    first = c.choice([c.active, c.standby])
    c.fault("stop-keepalived", first)
    c.pause(c.uniform(0, 2))
    c.fault("stop-keepalived", c.active if first == c.standby else c.standby)


def _keepalived_back(c: Ctx, _: str | None) -> None:
    first = c.choice([c.active, c.standby])
    c.fault("start-keepalived", first)
    c.pause(c.uniform(0, 1.5))
    c.fault("start-keepalived", c.active if first == c.standby else c.standby)


def _crash_loop(c: Ctx) -> None:
    """Kill NFS on whichever node is Primary, every 2 s, for the dwell (the run calls this repeatedly)."""
    node = c.primary()
    if node is not None:
        try:
            c.fault("kill-service", node, NFS)
        except Exception:  # noqa: BLE001 - not running there right now (released, starting): next time
            pass


def _crash_during_resync(c: Ctx) -> str:
    c.fault("cut-link")
    c.pause(c.uniform(4, 7))  # the active node writes alone: a resync will be needed
    c.fault("heal-link")
    waited = 0.0
    while waited < 6 and not any(c.replication(n) in ("SyncSource", "SyncTarget") for n in (c.active, c.standby)):
        c.pause(0.05)
        waited += 0.05
    c.note("resync_caught", waited < 6)
    c.pause(c.uniform(0, 0.3))
    target = c.choice([c.active, c.standby])
    c.fault("crash", target)
    return target


def _cut_then_crash(c: Ctx) -> str:
    c.fault("cut-link")
    c.pause(c.uniform(1, 4))
    c.fault("crash", c.active)
    return c.active


def _failover_with(fault: str) -> Callable[[Ctx], str]:
    def inject(c: Ctx) -> str:
        target = c.choice([c.active, c.standby])
        c.start_failover()
        c.pause(c.uniform(0.2, 3.0))
        c.fault(fault, target)
        if fault == "hang":
            c.pause(c.uniform(3, 10))
            c.fault("unhang", target)
        return target
    return inject


def _nothing(c: Ctx, target: str | None) -> None:
    return None


def _vrrp_and_cut(c: Ctx) -> None:
    c.fault("block-vrrp")
    c.pause(c.uniform(0, 1))
    c.fault("cut-link")


def _undo_vrrp_and_cut(c: Ctx, _: str | None) -> None:
    c.fault("heal-link")
    c.fault("unblock-vrrp")


DOWN = Expect("CRITICAL", NODE_DOWN, on_target=True)
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("crash-active", _crash("active"), _restore, DOWN),
    Kind("crash-standby", _crash("standby"), _restore, DOWN),
    Kind("cut-link", lambda c: (c.fault("cut-link"), None)[1], lambda c, t: (c.fault("heal-link"), None)[1],
         Expect("WARNING", frozenset({"replication-down"})), (3, 10)),
    Kind("partition-active", _on("partition", "active"), lambda c, t: (c.fault("heal"), None)[1], DOWN, (6, 14)),
    Kind("partition-standby", _on("partition", "standby"), lambda c, t: (c.fault("heal"), None)[1], DOWN, (6, 14)),
    Kind("hang-active", _on("hang", "active"), lambda c, t: (c.fault("unhang", t), None)[1], DOWN, (4, 12)),
    Kind("hang-standby", _on("hang", "standby"), lambda c, t: (c.fault("unhang", t), None)[1], DOWN, (4, 12)),
    Kind("keepalived-both", lambda c: (_keepalived_both(c), None)[1], _keepalived_back,
         Expect("CRITICAL", frozenset({"keepalived-down"}))),
    Kind("service-crash-loop", lambda c: (_crash_loop(c), None)[1], _nothing,
         Expect("CRITICAL", frozenset({"nfs-down-active"})), (8, 12)),
    Kind("block-vrrp", lambda c: (c.fault("block-vrrp"), None)[1], lambda c, t: (c.fault("unblock-vrrp"), None)[1],
         Expect("CRITICAL", frozenset({"vrrp-split"}))),
    Kind("vrrp-and-cut", lambda c: (_vrrp_and_cut(c), None)[1], _undo_vrrp_and_cut,
         Expect("CRITICAL", frozenset({"vrrp-split"}))),
    Kind("crash-during-resync", _crash_during_resync, _restore, DOWN, (3, 8)),
    Kind("cut-then-crash-active", _cut_then_crash, _restore, DOWN, (3, 8)),
    Kind("failover-drop", _failover_with("drop"), _nothing, None, (1, 4)),
    Kind("failover-hang", _failover_with("hang"), _nothing, None, (1, 4)),
)}
REPEATING = {"service-crash-loop": 2.0}  # kinds whose inject runs again every N s of the dwell
