"""Health rules: a cluster snapshot → findings (severity, layer, message, next step).

Each rule is a small function over the snapshot that yields what it sees; the
facts it reads (who is Primary, who holds the VIP, which node is unknown) come
from :mod:`hatui.model.facts`, derived once. Rules do not decide what caused what,
nor whether their hint is safe to follow now: :mod:`hatui.health.diagnosis` builds
the root-cause tree and lets no hint through that mounts, starts services or
promotes while another node is or may be Primary.

Data hatui could not read is UNKNOWN: a rule that needs it stays silent, and
the ``not-reported`` / ``unreadable`` findings say what is missing.

The rules live by subject: :mod:`.nodes` (a node that could not be asked, data
not read), :mod:`.pair` (VIP, keepalived, DRBD roles, replication, data
safety), :mod:`.drbd9` (quorum, diskless clients, blocked I/O, congestion, a paused
resync), :mod:`.services` (mounts, disks, services, the rest).
"""

from __future__ import annotations

from hatui.health.registry import RULES, Rule, rule
from hatui.health import drbd9, nodes, pair, services  # noqa: F401  (importing registers the rules)
from hatui.model import ClusterSnapshot, Finding
from hatui.states import Severity

__all__ = ["RULES", "Rule", "rule", "run_rules", "evaluate"]


def run_rules(snap: ClusterSnapshot) -> list[Finding]:
    """Every rule's findings, unordered and unrelated (see :func:`evaluate`)."""
    return [f for r in RULES for f in r(snap)]


def evaluate(snap: ClusterSnapshot) -> tuple[tuple[Finding, ...], Severity]:
    """Findings as a root-cause tree (each root followed by what it explains) and the verdict."""
    from hatui.health.diagnosis import diagnose

    return diagnose(snap, run_rules(snap))
