"""From a flat list of findings to a diagnosis: root causes, their consequences, safe hints.

Rules report what they see, layer by layer; when faults combine, many of
those findings are the same incident seen from different layers (a node that
died leaves the VIP on neither node, replication down and services "missing"
on the survivor while it takes over). An operator at 3 a.m. needs the cause
first and the rest under it.

* :data:`ROOT_ORDER` ranks the causes (most fundamental first); :data:`EXPLAINS`
  says which findings each cause explains, and on which node (the cause's own
  node, the other one, or any). A finding explained by a present cause gets
  ``root=False`` and ``caused_by`` = that cause's code; every other finding is
  a root of its own. A root is at least as severe as what it explains.
* The safety gate: a hint that mounts, starts services or promotes
  (:class:`~hatui.model.Act`) passes only when
  :meth:`~hatui.model.facts.PairFacts.unsafe_to_serve` finds no reason against it;
  otherwise it is replaced by what to establish first. One gate for every
  rule, so a new rule cannot bring back harmful advice.
"""

from __future__ import annotations

import dataclasses

from hatui.errors import FailureKind
from hatui.model import Act, ClusterSnapshot, Finding
from hatui.states import Severity, severity_rank

NODE_FAILURES = tuple(k.value for k in FailureKind) + ("node-unreachable",)

# Most fundamental first: a cause earlier in the list claims a finding before a later one.
ROOT_ORDER: tuple[str, ...] = (
    "host-key-changed",
    "split-brain",
    "drbd-both-primary",
    "vrrp-split",
    *(k for k in NODE_FAILURES if k != "host-key-changed"),
    "drbd-resource-down",
    "disk-missing",
    "disk-ro",
    "primary-disk-bad",
    "standalone",
    "replication-down",
    "quorum-lost",
    "io-suspended",
    "data-loss-window",
    "io-blocked",
    "sync-in-progress",
    "replication-congested",
    "resync-paused",
    "keepalived-down",
    "fs-not-mounted",
    "nfs-down-active",
    "dag-down-active",
    "keepalived-fault",
    "peer-disk-not-uptodate",
    "drbd-no-primary",
)

SAME, OTHER, ANY = "same", "other", "any"

_SERVICES_SAME = (("fs-not-mounted", SAME), ("nfs-down-active", SAME), ("dag-down-active", SAME),
                  ("exports-missing", SAME), ("dag-health-failed", SAME), ("keepalived-fault", SAME))
_VIP_MOVED = (("vip-on-secondary", ANY), ("vip-on-neither", ANY))
_DIVERGED = (
    ("drbd-both-primary", ANY), ("standalone", ANY), ("replication-down", ANY), ("peer-disk-not-uptodate", ANY),
    ("fs-not-mounted", ANY), ("fs-mounted-on-secondary", ANY), ("nfs-down-active", ANY), ("dag-down-active", ANY),
    ("nfs-on-secondary", ANY), ("dag-on-secondary", ANY), ("exports-missing", ANY), ("dag-health-failed", ANY),
    ("keepalived-fault", ANY), ("drbd-no-primary", ANY), ("io-suspended", ANY), ("data-loss-window", ANY),
    ("quorum-lost", ANY), ("io-blocked", ANY), *_VIP_MOVED,
)
_NODE_GONE = (
    ("replication-down", ANY), ("data-loss-window", ANY), ("io-suspended", ANY), ("drbd-no-primary", ANY), ("peer-disk-not-uptodate", ANY), *_VIP_MOVED,
    ("quorum-lost", ANY), ("io-blocked", ANY),
    # the survivor's layers while (or because) its takeover has not finished
    ("fs-not-mounted", OTHER), ("nfs-down-active", OTHER), ("dag-down-active", OTHER), ("exports-missing", OTHER),
    ("dag-health-failed", OTHER),
)
_DISK_GONE = (("drbd-resource-down", SAME), ("primary-disk-bad", SAME), ("replication-down", ANY),
              ("standalone", ANY), ("peer-disk-not-uptodate", ANY), ("drbd-no-primary", ANY),
              ("io-suspended", SAME), ("io-blocked", SAME),
              *_SERVICES_SAME, *_VIP_MOVED)

EXPLAINS: dict[str, tuple[tuple[str, str], ...]] = {
    "split-brain": _DIVERGED,
    "drbd-both-primary": _DIVERGED,
    "vrrp-split": (("vip-on-both", ANY), ("keepalived-master-both", ANY), ("vip-on-secondary", ANY)),
    **{code: _NODE_GONE for code in NODE_FAILURES},
    "drbd-resource-down": _DISK_GONE,
    "disk-missing": _DISK_GONE,
    "disk-ro": _DISK_GONE,
    "primary-disk-bad": (*_SERVICES_SAME, *_VIP_MOVED, ("io-blocked", SAME)),
    "standalone": (("replication-down", ANY), ("peer-disk-not-uptodate", ANY), ("data-loss-window", ANY),
                   ("io-suspended", ANY), ("quorum-lost", ANY), ("io-blocked", ANY)),
    "replication-down": (("peer-disk-not-uptodate", ANY), ("data-loss-window", ANY), ("io-suspended", ANY),
                         ("quorum-lost", ANY), ("io-blocked", ANY)),
    # a node without quorum freezes (on-no-quorum suspend-io) and its requests wait
    "quorum-lost": (("io-suspended", SAME), ("io-blocked", SAME)),
    "io-suspended": (("io-blocked", SAME),),
    "sync-in-progress": (("peer-disk-not-uptodate", ANY), ("resync-paused", ANY), ("replication-congested", ANY)),
    # keepalived's notify_stop releases the role: stopped on the Primary, nothing serves.
    "keepalived-down": (("drbd-no-primary", ANY), *_VIP_MOVED),
    "fs-not-mounted": (("nfs-down-active", SAME), ("dag-down-active", SAME), ("exports-missing", SAME),
                       ("dag-health-failed", SAME), ("keepalived-fault", SAME), *_VIP_MOVED),
    "nfs-down-active": (("exports-missing", SAME), ("keepalived-fault", SAME), *_VIP_MOVED),
    "dag-down-active": (("dag-health-failed", SAME), ("keepalived-fault", SAME), *_VIP_MOVED),
    "keepalived-fault": _VIP_MOVED,
    "drbd-no-primary": _VIP_MOVED,
}


def _explains(cause: Finding, finding: Finding) -> bool:
    for code, scope in EXPLAINS.get(cause.code, ()):
        if code != finding.code:
            continue
        if scope == ANY or cause.node is None or finding.node is None:
            return True
        if (scope == SAME) == (cause.node == finding.node):
            return True
    return False


def _rank(code: str) -> int:
    if code in _UNREACHABLE_CODES:  # two nodes gone: one rank, the config's node order decides
        code = FailureKind.REFUSED.value
    return ROOT_ORDER.index(code) if code in ROOT_ORDER else len(ROOT_ORDER)


_UNREACHABLE_CODES = frozenset({*(k.value for k in FailureKind if k.unreachable), "node-unreachable"})


def _safe(snap: ClusterSnapshot, finding: Finding) -> Finding:
    """The safety gate (module doc): harmful hints become "establish first" hints."""
    if finding.acts is None:
        return finding
    facts = snap.facts
    target = finding.node
    if target is None:
        reason: str | None = "no single node is known to be the one to act on"
    elif finding.acts == Act.START_KEEPALIVED:
        reason = facts.unsafe_to_arm(target)
    else:
        reason = facts.unsafe_to_serve(target)
    if reason is None:
        return finding
    if facts.split_brain or facts.main.both_primary:
        first = ("make sure only one node is DRBD Primary and resolve the split brain (hatui resync "
                 "split-brain, after checking what each side has)")
    elif facts.vrrp_split:
        first = "end the VRRP split (keepalived MASTER on one node only)"
    elif facts.unknown_nodes:
        first = (f"establish the state of {', '.join(facts.unknown_nodes)} (its console, IPMI or hypervisor: "
                 "is it down, or only cut off and maybe still Primary?)")
    else:
        first = "make sure the other node is DRBD Secondary"
    hint = f"Do not {finding.acts} on {target or 'either node'} yet: {reason}. First {first}."
    return dataclasses.replace(finding, hint=hint, acts=None)


def diagnose(snap: ClusterSnapshot, findings: list[Finding]) -> tuple[tuple[Finding, ...], Severity]:
    """Order ``findings`` as a tree (roots first, each followed by what it explains) and give the verdict."""
    findings = [_safe(snap, f) for f in findings]
    roots: list[Finding] = []
    children: dict[int, list[Finding]] = {}
    order = {name: i for i, name in enumerate(snap.config.node_names)}
    pending = sorted(findings, key=lambda f: (_rank(f.code), -severity_rank(f.severity), order.get(f.node, -1)))
    for finding in pending:
        cause = next((r for r in roots if _explains(r, finding)), None)
        if cause is None:
            roots.append(finding)
            children[id(finding)] = []
        else:
            children[id(cause)].append(finding)
    ordered: list[Finding] = []
    tree: list[tuple[Finding, list[Finding]]] = []
    for root in roots:
        kids = sorted(children[id(root)], key=lambda f: -severity_rank(f.severity))
        worst = max([root, *kids], key=lambda f: _sev(f.severity)).severity
        root = dataclasses.replace(root, root=True, caused_by=None, severity=worst)
        tree.append((root, [dataclasses.replace(k, root=False, caused_by=root.code) for k in kids]))
    # Most severe incident first; among equals, the more fundamental cause.
    tree.sort(key=lambda item: (-_sev(item[0].severity), _rank(item[0].code), order.get(item[0].node, -1)))
    for root, kids in tree:
        ordered.append(root)
        ordered.extend(kids)
    return tuple(ordered), verdict_of(snap, ordered)


def _sev(severity: Severity) -> int:
    """Severity for ordering: UNKNOWN sits between WARNING and CRITICAL."""
    return {Severity.OK: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.CRITICAL: 3}[severity]


def verdict_of(snap: ClusterSnapshot, findings: list[Finding]) -> Severity:
    """CRITICAL beats UNKNOWN beats WARNING beats OK; UNKNOWN when no node answered at all."""
    if not any(n.reachable for n in snap.nodes):
        return Severity.UNKNOWN
    worst = max((_sev(f.severity) for f in findings), default=0)
    return {0: Severity.OK, 1: Severity.WARNING, 2: Severity.UNKNOWN, 3: Severity.CRITICAL}[worst]
