"""The rule registry and the small helpers every rule module shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hatui.model import ClusterSnapshot, Finding, NodeSnapshot
from hatui.states import Severity

Rule = Callable[[ClusterSnapshot], Iterator[Finding]]
RULES: list[Rule] = []

CRIT, WARN, OK, UNKNOWN = Severity.CRITICAL, Severity.WARNING, Severity.OK, Severity.UNKNOWN


def rule(fn: Rule) -> Rule:
    """Register ``fn`` as a health rule."""
    RULES.append(fn)
    return fn


def up(snap: ClusterSnapshot) -> list[NodeSnapshot]:
    """The nodes that answered this poll."""
    return [n for n in snap.nodes if n.reachable]
