"""Failover (planned switchover of the active role) and failback plans.

Order (LINBIT/SUSE failover order, see domain.md), source A → target B:

1. on A: stop the DAG processor, stop NFS, unmount, ``drbdadm secondary``
   (phase ``detect``: the seed's T+10 is when the old side is out of the way);
2. on B: ``drbdadm primary`` (never ``--force``; phase ``promote``), mount
   (``mount``), start NFS and the DAG processor (``services``);
3. the VIP (phase ``vip``): ``systemctl stop keepalived`` on A, then
   ``systemctl start keepalived`` on A.

Why the VIP moves this way: a keepalived MASTER that stops cleanly sends a
priority-0 advert, so the BACKUP takes the VIP after its skew time only (~0.6 s,
domain.md) instead of the 3.6 s master-down interval. Restarted, A comes back as
BACKUP because the kit runs ``state BACKUP`` + ``nopreempt``, so it does not
take the VIP back. This works with any keepalived config that uses nopreempt,
needs no node-side file (no ``vrrp_track_file``), and leaves the automatic
failover untouched: A's keepalived is a normal BACKUP again afterwards. A guard
refuses when A's keepalived reports ``nopreempt`` false and a higher priority
than B's (it would preempt the VIP straight back).

The VIP moves *last*, unlike the seed's crash sequence (where keepalived moves
it first because the old node is dead): in a planned switchover clients are
sent to B only once B serves. It also means B's own notify_master kit finds
DRBD already Primary and the filesystem mounted, so it has nothing to race.
Each step keeps the budget of its phase in the documented sequence.

4. verify (``available``): VIP only on B, services active on B, DRBD
   Connected/UpToDate on both, and the service answering through the VIP
   (``nc -z VIP 2049`` run from A, i.e. from outside B).

Failback is the same plan back to ``config.preferred``; it is manual only (the
seed: to avoid flip-flopping), and guards additionally require the returning
node to be fully resynced. Both warn (and need an explicit acknowledgement) when
the last role change is more recent than ``min_age`` seconds.
"""

from __future__ import annotations

import time

from hatui.actions import checks as c
from hatui.actions.plan import (
    SERVICE_TIMEOUT,
    Commands,
    Plan,
    PlanError,
    PlanWarning,
    Step,
)
from hatui.config import Config
from hatui.model import ClusterSnapshot
from hatui.states import Role, VrrpState

# Default minimum age of the last role change before switching again (a
# `[timing]` config key would be better; the CLI takes --min-age).
MIN_ROLE_AGE = 300.0
VIP_SETTLE = 15.0
NFS_PORT = 2049


def last_role_change(snapshot: ClusterSnapshot) -> float | None:
    """Epoch of the last real change of the active role (None if unknown).

    The active node is the DRBD Primary that serves; it took the role when its
    keepalived last became MASTER. Transitions of the other node (a restart, a
    hang and unhang, a brief loss of contact, a BACKUP that went MASTER and
    back while the active node kept the role) are not role changes. Only when
    the pair shows no single active node is every transition counted.
    """
    active = snapshot.active_nodes
    if len(active) == 1:
        node = snapshot.node(active[0])
        vrrp = node.vrrp if node.reachable else None
        if vrrp is not None and vrrp.state == VrrpState.MASTER and vrrp.last_transition:
            return vrrp.last_transition
        return None
    stamps = [n.vrrp.last_transition for n in snapshot.nodes
              if n.reachable and n.vrrp is not None and n.vrrp.last_transition]
    return max(stamps) if stamps else None


def serving_check(config: Config, node: str, peer: str) -> c.Check:
    """Everything the verify step requires of a finished switchover to ``node``."""
    svc = config.services
    check = c.vip_only_on(node) & c.unit_active(node, svc.nfs.unit)
    if svc.nfs.exports:
        check = check & c.exports_present(node, svc.nfs.exports)
    check = check & c.unit_active(node, svc.dag_processor.unit)
    for res in config.drbd:
        check = check & c.role(node, res.resource, Role.PRIMARY) & c.in_sync(res.resource, (node, peer))
    return check


def _stop(cmd: Commands, node: str, unit: str, what: str, phase: str) -> Step:
    undo = Step(node, "rollback", f"start {what} again", cmd.systemctl("start", unit),
                c.unit_active(node, unit), timeout=SERVICE_TIMEOUT, settle=30)
    return Step(node, phase, f"stop {what}", cmd.systemctl("stop", unit), c.unit_stopped(node, unit),
                timeout=SERVICE_TIMEOUT, settle=30, undo=undo)


def _start(cmd: Commands, node: str, unit: str, what: str, check: c.Check) -> Step:
    undo = Step(node, "rollback", f"stop {what} again", cmd.systemctl("stop", unit),
                c.unit_stopped(node, unit), timeout=SERVICE_TIMEOUT, settle=30)
    return Step(node, "services", f"start {what}", cmd.systemctl("start", unit), check,
                timeout=SERVICE_TIMEOUT, settle=30, undo=undo)


def switchover_steps(config: Config, source: str, target: str) -> tuple[Step, ...]:
    """The ordered steps moving the active role from ``source`` to ``target``."""
    cmd = Commands(config)
    svc = config.services
    tmo = config.cluster.command_timeout
    steps: list[Step] = [
        _stop(cmd, source, svc.dag_processor.unit, "the DAG processor", "detect"),
        _stop(cmd, source, svc.nfs.unit, "the NFS server", "detect"),
    ]
    for res in reversed(config.drbd):
        remount = Step(source, "rollback", f"mount {res.mount_point} again",
                       cmd.mount(res.fs_type, res.device, res.mount_point),
                       c.mounted(source, res.resource, res.mount_point), timeout=tmo, settle=15)
        steps.append(Step(source, "detect", f"unmount {res.mount_point}", cmd.umount(res.mount_point),
                          c.mounted(source, res.resource, res.mount_point, want=False),
                          timeout=tmo, settle=15, undo=remount))
    for res in config.drbd:
        repromote = Step(source, "rollback", f"make DRBD {res.resource} Primary again",
                         cmd.drbdadm("primary", res.resource), c.role(source, res.resource, Role.PRIMARY),
                         timeout=tmo, settle=10)
        steps.append(Step(source, "detect", f"demote DRBD {res.resource} to Secondary",
                          cmd.drbdadm("secondary", res.resource), c.role(source, res.resource, Role.SECONDARY),
                          timeout=tmo, settle=10, undo=repromote))
    for res in config.drbd:
        demote = Step(target, "rollback", f"demote DRBD {res.resource} again", cmd.drbdadm("secondary", res.resource),
                      c.role(target, res.resource, Role.SECONDARY), timeout=tmo, settle=10)
        steps.append(Step(target, "promote", f"promote DRBD {res.resource} to Primary (no --force)",
                          cmd.drbdadm("primary", res.resource), c.role(target, res.resource, Role.PRIMARY),
                          timeout=tmo, settle=10, undo=demote))
    for res in config.drbd:
        unmount = Step(target, "rollback", f"unmount {res.mount_point} again", cmd.umount(res.mount_point),
                       c.mounted(target, res.resource, res.mount_point, want=False), timeout=tmo, settle=15)
        steps.append(Step(target, "mount", f"mount {res.device} on {res.mount_point}",
                          cmd.mount(res.fs_type, res.device, res.mount_point),
                          c.mounted(target, res.resource, res.mount_point), timeout=tmo, settle=15, undo=unmount))
    nfs_check = c.unit_active(target, svc.nfs.unit)
    if svc.nfs.exports:
        nfs_check = nfs_check & c.exports_present(target, svc.nfs.exports)
    steps.append(_start(cmd, target, svc.nfs.unit, "the NFS server", nfs_check))
    steps.append(_start(cmd, target, svc.dag_processor.unit, "the DAG processor",
                        c.unit_active(target, svc.dag_processor.unit)))
    ka = config.keepalived.unit
    steps.append(Step(source, "vip", f"stop keepalived on {source}: it sends priority 0, {target} takes the VIP",
                      cmd.systemctl("stop", ka), c.vip_only_on(target), timeout=SERVICE_TIMEOUT,
                      settle=VIP_SETTLE, point_of_no_return=True))
    steps.append(Step(source, "vip", f"start keepalived on {source} again (comes back BACKUP: nopreempt)",
                      cmd.systemctl("start", ka), c.unit_active(source, ka) & c.vip_only_on(target),
                      timeout=SERVICE_TIMEOUT, settle=VIP_SETTLE))
    steps.append(Step(source, "available", f"verify: {target} serves NFS through the VIP (probe from {source})",
                      cmd.nfs_probe(NFS_PORT), serving_check(config, target, source),
                      timeout=tmo, settle=15, skip_if_done=False))
    return tuple(steps)


def _recent_warning(snapshot: ClusterSnapshot, min_age: float, now: float | None) -> tuple[PlanWarning, ...]:
    last = last_role_change(snapshot)
    if last is None or min_age <= 0:
        return ()
    age = (time.time() if now is None else now) - last
    if age >= min_age:
        return ()
    return (PlanWarning("recent-role-change",
                        f"the last role change was {max(age, 0):.0f}s ago (less than {min_age:g}s): "
                        "switching again now risks flip-flopping",
                        "wait, or acknowledge it explicitly (--yes-recent)"),)


def _build(kind: str, snapshot: ClusterSnapshot, config: Config, source: str, target: str,
           min_age: float, now: float | None) -> Plan:
    if serving_check(config, target, source)(snapshot):
        raise PlanError(f"{target} is already the active node and serving: nothing to {kind}",
                        "check `hatui status`")
    title = (f"{kind.capitalize()}: move the active role from {source} to {target} "
             f"(DRBD {', '.join(r.resource for r in config.drbd)}, VIP {config.vip.address})")
    return Plan(kind=kind, title=title, source=source, target=target,
                steps=switchover_steps(config, source, target),
                resources=tuple(r.resource for r in config.drbd),
                warnings=_recent_warning(snapshot, min_age, now),
                notes=(f"clients lose the service from step 1 until {target} holds the VIP",),
                meta={"keepalived_unit": config.keepalived.unit})


def plan_failover(snapshot: ClusterSnapshot, config: Config, target: str | None = None, *,
                  min_age: float = MIN_ROLE_AGE, now: float | None = None) -> Plan:
    """Plan a switchover to ``target`` (default: the peer of the single active node)."""
    names = config.node_names
    if target is None:
        active = snapshot.active_nodes
        if len(active) != 1:
            where = "both nodes" if len(active) == 2 else "neither node"
            raise PlanError(f"cannot tell which node is active (it looks like {where})",
                            "name the new active node: hatui failover --to NODE")
        target = snapshot.peer_of(active[0]).name
    if target not in names:
        raise PlanError(f"no node named {target!r}", f"one of {', '.join(names)}")
    source = names[1] if names[0] == target else names[0]
    return _build("failover", snapshot, config, source, target, min_age, now)


def plan_failback(snapshot: ClusterSnapshot, config: Config, *, min_age: float = MIN_ROLE_AGE,
                  now: float | None = None) -> Plan:
    """Plan the manual return of the active role to ``config.preferred``."""
    target = config.preferred
    source = snapshot.peer_of(target).name
    return _build("failback", snapshot, config, source, target, min_age, now)
