"""Guarded actions on the pair: failover, failback, resync flows.

The public API (used by the CLI and the console; nothing here imports Textual):

* :func:`plan_failover`, :func:`plan_failback` (:mod:`.failover`) and
  :func:`plan_resync` (:mod:`.resync`) turn a :class:`~hatui.model.ClusterSnapshot`
  into a :class:`~.plan.Plan`: every step with its node, exact command, timeout
  and the check of its effect;
* :func:`preflight` (:mod:`.guards`) lists every :class:`~.guards.Refusal` that
  forbids running a plan now (each says why and what to do);
* :class:`ActionRunner` (:mod:`.runner`) runs a plan under a lock held on both
  nodes, step by step, checking each effect against a fresh snapshot, and
  returns a :class:`RunResult` that offers ``retry()`` and ``rollback()``.

Every run is written to the timeline (:mod:`hatui.timelines.saved`) and the audit log
(:mod:`.audit`).
"""

from importlib import import_module

# Lazy (PEP 562): `hatui --help` imports the CLI commands without pulling in
# asyncssh and the poller; the first use of a name below imports its module.
_WHERE = {
    "plan_failover": "failover", "plan_failback": "failover", "Refusal": "guards", "preflight": "guards",
    "Plan": "plan", "PlanError": "plan", "Step": "plan", "RESYNC_KINDS": "resync", "plan_resync": "resync",
    "ActionEvent": "runner", "ActionRunner": "runner", "RunResult": "runner",
}
__all__ = [
    "RESYNC_KINDS", "ActionEvent", "ActionRunner", "Plan", "PlanError", "Refusal", "RunResult", "Step",
    "plan_failback", "plan_failover", "plan_resync", "preflight",
]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'hatui.actions' has no attribute {name!r}")
    return getattr(import_module(f"hatui.actions.{_WHERE[name]}"), name)
