"""The chaos run's report: one line per round as it ends, and the totals the table shows.

Kept apart from the run itself (:mod:`hatui.lab.host.chaos_run`) so the numbers the
README's table quotes are computed in one small, tested place.
"""

from __future__ import annotations

import statistics

INVARIANTS = ("two-serving", "lost-writes", "status-bound", "wrong-verdict", "action", "traceback", "not-healthy")


def round_line(r: dict, total: int) -> str:
    v = r.get("violations") or []
    acts = ", ".join(f"{a['argv'][0]} {a['outcome']}" for a in r.get("actions", [])) or "-"
    return (f"round {r['round']}/{total} {r['kind']}{' ' + r['target'] if r.get('target') else ''}: "
            f"status {r.get('status_calls', 0)}x slowest {r.get('slowest_status', 0):.1f} s, "
            f"expected {'seen' if r.get('expected_seen', True) else 'NOT seen'}; actions {acts}; "
            f"healthy after {r.get('recovered_s', '-')} s (client +{r.get('served_after_s', '-')} s); acked {r.get('acked', 0)} lost {len(r.get('lost', []))}; "
            f"{len(v)} violation(s){': ' + '; '.join(x['invariant'] + ': ' + x['detail'] for x in v) if v else ''}"
            f" [{r.get('seconds')} s]")


def summarize(doc: dict) -> dict:
    """The run's totals: faults by kind, violations by invariant, actions by outcome, lost writes, slowest status."""
    rounds = doc["round_reports"]
    kinds: dict[str, int] = {}
    for r in rounds:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    violations = {name: 0 for name in INVARIANTS}
    for r in rounds:
        for v in r.get("violations", []):
            violations[v["invariant"]] = violations.get(v["invariant"], 0) + 1
    outcomes: dict[str, int] = {}
    for r in rounds:
        for a in r.get("actions", []):
            outcomes[a["outcome"]] = outcomes.get(a["outcome"], 0) + 1
    slow = max(rounds, key=lambda r: r.get("slowest_status", 0), default={})
    healed = [r["recovered_s"] for r in rounds if "recovered_s" in r]
    served = [r["served_after_s"] for r in rounds if r.get("served_after_s") is not None]
    return {"rounds": len(rounds), "seconds": doc["seconds"], "faults_by_kind": dict(sorted(kinds.items())),
            "violations": violations, "actions": outcomes,
            "acked": sum(r.get("acked", 0) for r in rounds),
            "lost": sum(len(r.get("lost", [])) for r in rounds) + len(doc["final_verify"]["lost"]),
            "wrong_verdicts": violations.get("wrong-verdict", 0),
            "slowest_status": {"seconds": slow.get("slowest_status", 0), "kind": slow.get("kind"),
                               "round": slow.get("round")},
            "recovery_s": {"median": round(statistics.median(healed), 1) if healed else None,
                           "max": max(healed, default=None)},
            "client_served_after_s": {"median": round(statistics.median(served), 2) if served else None,
                                      "max": max(served, default=None)},
            "split_brains_resolved": sum(1 for r in rounds for s in r.get("recovery", []) if "split-brain" in s),
            "rebuilt": doc["rebuilt"], "final_verify": {k: (len(v) if k == "lost" else v)
                                                       for k, v in doc["final_verify"].items()}}
