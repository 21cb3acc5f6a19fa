"""Guided resync flows: reconnect, split-brain resolution, full resync, online verify.

Each is a :class:`~hatui.actions.plan.Plan` like a failover, run by the same
runner, ending with a wait step whose progress (% and ETA, from the peer
device's ``sync_percent``/``eta_seconds``) the runner reports until both sides
are UpToDate. Budgets come from the seed's recovery sequence (T+5 rejoin as
Secondary, T+10 syncing, T+15 ready as backup; :data:`~.plan.RECOVERY_BUDGET`).

* ``reconnect``: ``drbdadm connect RES`` on each StandAlone side. Unconnected
  and Connecting sides retry on their own (DRBD does that), so they only get
  the wait.
* ``split-brain``: the operator picks the *victim* whose changes are discarded,
  after seeing both sides' evidence (:func:`split_brain_evidence`). On the
  victim: stop its services and unmount when it serves, then ``drbdadm
  disconnect``, ``drbdadm secondary``, ``drbdadm connect --discard-my-data``; on
  the survivor, when StandAlone, ``drbdadm disconnect`` and ``drbdadm
  connect`` (domain.md). Discarding is the point of no return.
* ``full``: ``drbdadm invalidate RES`` on the Secondary (it becomes SyncTarget).
* ``verify``: ``drbdadm verify RES`` on the Primary; differences found are
  reported (out of sync KiB), not resynced behind the operator's back.
"""

from __future__ import annotations

from datetime import datetime

from hatui.actions import checks as c
from hatui.actions.plan import SYNC_WAIT, Commands, Plan, PlanError, Step
from hatui.config import Config
from hatui.model import ClusterSnapshot
from hatui.states import ConnectionState, ReplicationState, Role

RESYNC_KINDS = ("reconnect", "split-brain", "full", "verify")
CONNECT_WAIT = 60.0
_SYNC_STARTED = (ReplicationState.SYNC_SOURCE, ReplicationState.SYNC_TARGET, ReplicationState.STARTING_SYNC_S,
                 ReplicationState.STARTING_SYNC_T, ReplicationState.WF_BITMAP_S, ReplicationState.WF_BITMAP_T,
                 ReplicationState.WF_SYNC_UUID, ReplicationState.PAUSED_SYNC_S, ReplicationState.PAUSED_SYNC_T)
_VERIFY = (ReplicationState.VERIFY_S, ReplicationState.VERIFY_T)


def plan_resync(kind: str, snapshot: ClusterSnapshot, config: Config, victim: str | None = None) -> Plan:
    """Plan one of :data:`RESYNC_KINDS`; ``victim`` names the discarded side of a split brain."""
    if kind not in RESYNC_KINDS:
        raise PlanError(f"unknown resync flow {kind!r}", f"one of {', '.join(RESYNC_KINDS)}")
    for n in snapshot.nodes:
        if not n.reachable:
            raise PlanError(f"{n.name} is unreachable ({n.error})", "a resync needs both nodes")
    build = {"reconnect": _reconnect, "split-brain": _split_brain, "full": _full, "verify": _verify}[kind]
    return build(snapshot, config, victim)


def _waits(config: Config, res: str, names: tuple[str, str], *, after: str) -> list[Step]:
    return [
        Step(names[0], "sync", f"wait until DRBD {res} is Connected on both", None, c.connected(res, names),
             settle=CONNECT_WAIT),
        Step(names[1], "ready", f"wait until DRBD {res} is UpToDate on both ({after})", None,
             c.in_sync(res, names), settle=SYNC_WAIT, progress=res),
    ]


def _reconnect(snapshot: ClusterSnapshot, config: Config, victim: str | None) -> Plan:
    cmd, names = Commands(config), config.node_names
    steps: list[Step] = []
    notes: list[str] = []
    target = None
    for r in config.drbd:
        res = r.resource
        if c.in_sync(res, names)(snapshot):
            continue
        for n in snapshot.nodes:
            state = c.connection_state(n, res)
            if state == ConnectionState.STANDALONE:
                target = target or n.name
                steps.append(Step(n.name, "rejoin", f"connect DRBD {res} (it is StandAlone)",
                                  cmd.drbdadm("connect", res), c.not_standalone(n.name, res),
                                  timeout=config.cluster.command_timeout, settle=10))
            elif state != ConnectionState.CONNECTED:
                notes.append(f"{n.name} is {state} on {res}: DRBD retries by itself, hatui only waits")
        steps += _waits(config, res, names, after="resync of what was missed")
    if not steps:
        raise PlanError("DRBD is Connected and UpToDate on both nodes: nothing to reconnect")
    if target is None:
        secondary = [n.name for n in snapshot.nodes if n.drbd_role(config.drbd[0].resource) != Role.PRIMARY]
        target = secondary[0] if secondary else names[1]
    return Plan("resync-reconnect", f"Reconnect DRBD replication ({', '.join(r.resource for r in config.drbd)})",
                None, target, tuple(steps), tuple(r.resource for r in config.drbd), notes=tuple(notes))


def split_brain_evidence(snapshot: ClusterSnapshot, config: Config) -> list[str]:
    """What each side has, to choose the victim knowingly (domain.md)."""
    lines = []
    for n in snapshot.nodes:
        if not n.reachable:
            lines.append(f"{n.name}: unreachable ({n.error})")
            continue
        for r in config.drbd:
            res = r.resource
            oos = [d.out_of_sync_kib for d in c.peer_devices(n, res) if d.out_of_sync_kib is not None]
            serving = []
            if n.holds_vip:
                serving.append("holds the VIP")
            if n.mounts.get(res):
                serving.append(f"{r.mount_point} mounted")
            nfs = n.unit(config.services.nfs.unit)
            if nfs is not None and str(nfs.active) == "active":
                serving.append("NFS running")
            last = ""
            if n.vrrp is not None and n.vrrp.last_transition:
                when = datetime.fromtimestamp(n.vrrp.last_transition).strftime("%H:%M:%S")
                last = f", keepalived {n.vrrp.state} since {when}"
            lines.append(
                f"{n.name}: DRBD {res} {n.drbd_role(res)} now, disk {c.local_disk(n, res)}, "
                f"{c.connection_state(n, res)}, out of sync {oos[0] if oos else '?'} KiB"
                f"{last}; {', '.join(serving) or 'not serving'}")
    primaries = [n.name for n in snapshot.nodes if n.reachable and n.drbd_role(config.drbd[0].resource) == Role.PRIMARY]
    if len(primaries) == 2:
        lines.append("both were Primary while disconnected: each side has writes the other lacks")
    elif primaries:
        lines.append(f"{primaries[0]} is Primary now (it has most likely written last)")
    return lines


def _split_brain(snapshot: ClusterSnapshot, config: Config, victim: str | None) -> Plan:
    names = config.node_names
    evidence = split_brain_evidence(snapshot, config)
    if victim is None:
        raise PlanError("choose the victim: the node whose changes since the split are DISCARDED",
                        "look at the evidence, then: hatui resync split-brain --victim NODE")
    if victim not in names:
        raise PlanError(f"no node named {victim!r}", f"one of {', '.join(names)}")
    survivor = names[1] if names[0] == victim else names[0]
    cmd, tmo, svc = Commands(config), config.cluster.command_timeout, config.services
    v = snapshot.node(victim)
    steps: list[Step] = []
    serving = any(v.mounts.get(r.resource) for r in config.drbd) or any(
        (st := v.unit(u)) is not None and str(st.active) in ("active", "reloading")
        for u in (svc.nfs.unit, svc.dag_processor.unit))
    if serving:
        for unit, what in ((svc.dag_processor.unit, "the DAG processor"), (svc.nfs.unit, "the NFS server")):
            steps.append(Step(victim, "rejoin", f"stop {what} (the victim must not serve)",
                              cmd.systemctl("stop", unit), c.unit_stopped(victim, unit), timeout=90, settle=30))
        for r in reversed(config.drbd):
            steps.append(Step(victim, "rejoin", f"unmount {r.mount_point}", cmd.umount(r.mount_point),
                              c.mounted(victim, r.resource, r.mount_point, want=False), timeout=tmo, settle=15))
    for r in config.drbd:
        res = r.resource
        steps += [
            Step(victim, "rejoin", f"disconnect DRBD {res}", cmd.drbdadm("disconnect", res),
                 c.connection_is(victim, res, (ConnectionState.STANDALONE,), "StandAlone"),
                 timeout=tmo, settle=10, skip_if_done=False),
            Step(victim, "rejoin", f"demote DRBD {res} to Secondary", cmd.drbdadm("secondary", res),
                 c.role(victim, res, Role.SECONDARY), timeout=tmo, settle=10),
            Step(victim, "rejoin", f"reconnect DRBD {res} DISCARDING {victim}'s changes",
                 cmd.drbdadm("connect", res, "--discard-my-data"), c.not_standalone(victim, res),
                 timeout=tmo, settle=10, skip_if_done=False, point_of_no_return=True),
        ]
        if c.connection_state(snapshot.node(survivor), res) == ConnectionState.STANDALONE:
            steps += [
                Step(survivor, "rejoin", f"disconnect DRBD {res} (survivor, StandAlone)",
                     cmd.drbdadm("disconnect", res),
                     c.connection_is(survivor, res, (ConnectionState.STANDALONE,), "StandAlone"),
                     timeout=tmo, settle=10, skip_if_done=False),
                Step(survivor, "rejoin", f"connect DRBD {res} (survivor keeps its data)", cmd.drbdadm("connect", res),
                     c.not_standalone(survivor, res), timeout=tmo, settle=10, skip_if_done=False),
            ]
        steps += _waits(config, res, (victim, survivor), after=f"{survivor} → {victim}")
    notes = [f"{survivor} keeps its data; {victim}'s writes since the split are lost"]
    if v.holds_vip:
        notes.append(f"{victim} holds the VIP: once resolved, move the service with hatui failover --to {survivor}")
    return Plan("resync-split-brain", f"Resolve the split brain: discard {victim}'s changes, keep {survivor}'s",
                survivor, victim, tuple(steps), tuple(r.resource for r in config.drbd),
                evidence=tuple(evidence), notes=tuple(notes))


def _pick(snapshot: ClusterSnapshot, res: str, want: Role) -> str:
    hits = [n.name for n in snapshot.nodes if n.drbd_role(res) == want]
    if len(hits) != 1:
        raise PlanError(f"DRBD {res} needs exactly one {want} for this (found {len(hits)})",
                        "check `hatui status` first")
    return hits[0]


def _full(snapshot: ClusterSnapshot, config: Config, victim: str | None) -> Plan:
    cmd, names, steps = Commands(config), config.node_names, []
    target = None
    for r in config.drbd:
        res = r.resource
        secondary = _pick(snapshot, res, Role.SECONDARY)
        target = target or secondary
        steps += [
            Step(secondary, "rejoin", f"invalidate DRBD {res} on {secondary}: full resync from the Primary",
                 cmd.drbdadm("invalidate", res), c.syncing_or_verifying(res, names, _SYNC_STARTED),
                 timeout=config.cluster.command_timeout, settle=15, skip_if_done=False, point_of_no_return=True),
            *_waits(config, res, names, after="full resync"),
        ]
    return Plan("resync-full", f"Full resync of the Secondary {target} (its local data is thrown away)", None,
                target or names[1], tuple(steps), tuple(r.resource for r in config.drbd))


def _verify(snapshot: ClusterSnapshot, config: Config, victim: str | None) -> Plan:
    cmd, names, steps = Commands(config), config.node_names, []
    target = None
    for r in config.drbd:
        res = r.resource
        primary = _pick(snapshot, res, Role.PRIMARY)
        target = target or primary
        done = c.Check(f"DRBD {res} online verify finished", _verify_done(res, names))
        steps += [
            Step(primary, "rejoin", f"start the online verify of DRBD {res} (needs verify-alg)",
                 cmd.drbdadm("verify", res), c.syncing_or_verifying(res, names, _VERIFY),
                 timeout=config.cluster.command_timeout, settle=15, skip_if_done=False),
            Step(primary, "ready", f"wait for the verify of DRBD {res} to finish", None, done,
                 settle=SYNC_WAIT, progress=res),
        ]
    return Plan("resync-verify", f"Online verify from the Primary {target}", None, target or names[0],
                tuple(steps), tuple(r.resource for r in config.drbd),
                notes=("blocks found out of sync are reported; resync them with disconnect/connect",))


def _verify_done(res: str, names: tuple[str, str]):
    def fn(s: ClusterSnapshot) -> bool:
        for name in names:
            n = s.node(name)
            if not n.reachable or c.connection_state(n, res) != ConnectionState.CONNECTED:
                return False
            if any(d.replication != ReplicationState.ESTABLISHED for d in c.peer_devices(n, res)):
                return False
        return True
    return fn


def out_of_sync_report(snapshot: ClusterSnapshot, config: Config) -> list[str]:
    """Per node and resource, what DRBD says is out of sync (after a verify)."""
    out = []
    for n in snapshot.nodes:
        for r in config.drbd:
            for d in c.peer_devices(n, r.resource):
                out.append(f"{n.name}: DRBD {r.resource} out of sync {d.out_of_sync_kib} KiB")
    return out
