"""Every fault the demo can make, and every ordered pair of them, diagnosed through the real pipeline.

The demo's simulator is polled in-process (tests/sim_pair.py): real poll script,
real parsers, facts, rules and diagnosis. For each case the expected root comes
from the simulator's own state (ground truth), not from hatui's parsed view;
the invariants are checked at every poll, including the moments mid-takeover:

* the first finding is a root, and every other finding is a root or
  ``caused_by`` a root that is present;
* no hint mounts, starts services or keepalived, or promotes while a node is
  unknown, the pair is split (DRBD or VRRP) or both nodes are Primary.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from hatui.emulator.drbd_machine import INCONSISTENT, OUTDATED, PRIMARY, STANDALONE
from hatui.health.diagnosis import ROOT_ORDER
from hatui.model import ClusterSnapshot
from hatui.states import Severity
from tests.sim_pair import SimPair

# The list documented in README ("Diagnosis" → "Tested fault combinations").
FAULTS = (
    "crash vm2", "crash vm12", "restore vm2", "restore vm12", "cut-link", "heal-link",
    "stop-service vm2 nfs", "stop-service vm2 dag", "stop-service vm12 nfs", "start-service vm2 nfs",
    "start-service vm12 nfs", "stop-keepalived vm2", "stop-keepalived vm12", "start-keepalived vm2",
    "start-keepalived vm12", "block-vrrp", "unblock-vrrp", "split-brain", "hang vm2", "hang vm12",
    "unhang vm2", "unhang vm12", "drop vm2", "drop vm12", "sync", "partition vm2", "heal-partition",
)

FORBIDDEN = re.compile(r"systemctl start|drbdadm primary|hatui failover|hatui failback|^mount |[;:.] mount |"
                       r"\bPromote\b")


def expected_root(pair: SimPair) -> str | None:
    """The root cause hatui should put first, read from the simulator (not from hatui's parsing)."""
    sim, d = pair.sim, pair.sim.drbd
    names = sim.names
    nodes = {n: sim.node(n) for n in names}
    answering = [n for n in names if nodes[n].up and not nodes[n].hung]
    if len(answering) == 2:
        standalone = [n for n in names if d.node(n).conn == STANDALONE]
        primaries = [n for n in names if d.node(n).role == PRIMARY]
        if len(standalone) == 2 or (standalone and len(primaries) == 2):
            return "split-brain"
        if len(primaries) == 2:
            return "drbd-both-primary"
        if all(nodes[n].vip for n in names) or all(nodes[n].ka.running and nodes[n].ka.state == "MASTER"
                                                  for n in names):
            return "vrrp-split"
    for n in names:
        if not nodes[n].up:
            return "connection-refused"
        if nodes[n].hung:
            return "node-hung"
    critical, warning = [], []
    primaries = [n for n in names if d.node(n).role == PRIMARY]
    for n in names:
        node, units = nodes[n], nodes[n].units
        if d.node(n).conn == STANDALONE:
            critical.append("standalone")
        if n in primaries:
            if not node.mounted:
                critical.append("fs-not-mounted")
            elif not units[sim.nfs_unit].active:
                critical.append("nfs-down-active")
            elif not units[sim.dag_unit].active:
                critical.append("dag-down-active")
        elif units[sim.nfs_unit].active:
            critical.append("nfs-on-secondary")
        elif units[sim.dag_unit].active:
            warning.append("dag-on-secondary")
        if node.vip and n not in primaries:
            critical.append("vip-on-secondary")
        if not node.ka.running:
            warning.append("keepalived-down")
    if not primaries:  # keepalived's notify_stop released the role, or nothing took it
        stopped = any(not nodes[n].ka.running for n in names)
        critical.append("keepalived-down" if stopped else "drbd-no-primary")
    if not any(nodes[n].vip for n in names):
        critical.append("vip-on-neither")
    if d.sync is not None and d.sync.kind == "resync":
        warning.append("sync-in-progress")
    elif not d.connected(names[0]):
        # A Primary still acknowledging writes its unfenced peer misses: a data-loss window (CRITICAL).
        exposed = any(d.node(p).suspended is None and d.peer(p).disk not in (OUTDATED, INCONSISTENT)
                      for p in primaries)
        (critical if exposed else warning).append("replication-down")
    for found in (critical, warning):
        if found:
            return min(found, key=lambda c: ROOT_ORDER.index(c) if c in ROOT_ORDER else len(ROOT_ORDER))
    return None


def check_invariants(snap: ClusterSnapshot, where: str) -> None:
    findings = [f for f in snap.findings if f.severity != Severity.OK]
    if not findings:
        return
    assert findings[0].root, f"{where}: first finding {findings[0].code} is not a root"
    roots = {f.code for f in snap.findings if f.root}
    for f in snap.findings:
        if f.root:
            assert f.caused_by is None, where
        else:
            assert f.caused_by in roots, f"{where}: {f.code} caused_by {f.caused_by}, roots {roots}"
    facts = snap.facts
    unsafe = (facts.unknown_nodes or facts.split_brain or facts.vrrp_split
              or any(r.both_primary or r.unknown for r in facts.resources.values()))
    if unsafe:
        for f in snap.findings:
            assert not FORBIDDEN.search(f.hint), f"{where}: harmful hint in {f.code}: {f.hint}"
            assert f.acts is None, where


async def run_case(faults: tuple[str, ...]) -> tuple[ClusterSnapshot, SimPair]:
    pair = SimPair()
    pair.advance(2)
    snap = await pair.poll()
    for fault in faults:
        pair.fault(fault)
        for second in range(14):  # through a whole automatic takeover, polling as the console does
            snap = await pair.poll()
            check_invariants(snap, f"{' + '.join(faults)} at {fault} +{second}s")
            pair.advance(1)
    return await pair.poll(), pair


def _assert_root(snap: ClusterSnapshot, pair: SimPair, label: str) -> None:
    check_invariants(snap, label)
    expected = expected_root(pair)
    problems = [f for f in snap.findings if f.severity != Severity.OK]
    got = problems[0].code if problems else None
    assert got == expected, f"{label}: expected root {expected}, got {[f.code for f in problems]}"


@pytest.mark.parametrize("fault", FAULTS)
def test_every_single_fault_has_its_root_first(fault: str) -> None:
    snap, pair = asyncio.run(run_case((fault,)))
    _assert_root(snap, pair, fault)


def test_every_ordered_pair_of_faults_has_its_root_first() -> None:
    failures = []
    for first in FAULTS:
        for second in FAULTS:
            snap, pair = asyncio.run(run_case((first, second)))
            try:
                _assert_root(snap, pair, f"{first} + {second}")
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
    assert not failures, f"{len(failures)} of {len(FAULTS) ** 2} pairs wrong:\n" + "\n".join(failures[:40])
