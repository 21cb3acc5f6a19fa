#!/usr/bin/env python3
"""Chaos run in the real lab: N rounds of random faults, single and combined, invariants checked (root, Linux).

Each round: the lab client writes through the VIP; one fault kind is injected
(the kinds, how each is made, and the verdict and root finding hatui must show
meanwhile are one documented table in hatui/lab/host/chaos_plan.py; ``--list-kinds``
prints it), sometimes with
``hatui failover`` fired at a random moment; the fault is undone; the pair must
be healthy again within 120 s; every write acknowledged in the round (and a
sample of earlier ones) is read back through the VIP. Invariants, per round:
never two nodes serving writes, 0 acknowledged writes lost, ``hatui status``
within its bound with the expected verdict and root, every action done /
refused / stopped with a correct description, no traceback anywhere, healthy
after the undo. Builds a lab of its own and takes it down at the end.

    sudo .venv/bin/python scripts/chaos.py --rounds 10 --seed 1
    sudo .venv/bin/python scripts/chaos.py --rounds 200 --seed 7 --json > chaos.json

Exit 0 when no invariant was violated, 1 otherwise, 3 when the lab could not run or the run was
interrupted (SIGINT/SIGTERM: the lab is taken down and the rounds so far are reported).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.lab.host.chaos_plan import KINDS  # noqa: E402
from hatui.lab.host.chaos_report import INVARIANTS, summarize  # noqa: E402
from hatui.lab.host.chaos_run import ChaosRun  # noqa: E402
from hatui.lab.host.lab import check_host  # noqa: E402
from hatui.lab.host.netns import LabError  # noqa: E402


def table(s: dict, seed: int) -> str:
    """The run's table: rounds, faults by kind, violations by invariant, lost writes, wrong verdicts, slowest status."""
    rows = [("rounds", f"{s['rounds']} in {s['seconds']:.0f} s (seed {seed})")]
    rows += [("faults by kind", "")] + [(f"  {k}", str(n)) for k, n in s["faults_by_kind"].items()]
    rows += [("violations by invariant", str(sum(s["violations"].values())))]
    rows += [(f"  {k}", str(s["violations"].get(k, 0))) for k in INVARIANTS]
    acts = s["actions"]
    rows += [("hatui actions", f"{sum(acts.values())}: " + (", ".join(f"{k} {n}" for k, n in sorted(acts.items()))
                                                            or "none"))]
    rows += [("acknowledged writes", f"{s['acked']}, lost {s['lost']} (final read-back of all: "
                                     f"{s['final_verify']['acked']} read, {s['final_verify']['lost']} lost)"),
             ("wrong verdicts", str(s["wrong_verdicts"])),
             ("slowest status", f"{s['slowest_status']['seconds']:.2f} s ({s['slowest_status']['kind']}, round "
                                f"{s['slowest_status']['round']})"),
             ("healthy again after undo", f"median {s['recovery_s']['median']} s, max {s['recovery_s']['max']} s"),
             ("  then a client write", f"through the VIP after median {s['client_served_after_s']['median']} s, "
                                       f"max {s['client_served_after_s']['max']} s"),
             ("split brains resolved", str(s["split_brains_resolved"])),
             ("lab rebuilt", str(s["rebuilt"]))]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}".rstrip() for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1, help="same seed: same kinds, targets, timings and action moments")
    ap.add_argument("--json", action="store_true", help="the whole report (every round) as JSON on stdout")
    ap.add_argument("--kinds", default=None, help=f"comma-separated subset of: {', '.join(KINDS)}")
    ap.add_argument("--action-chance", type=float, default=0.3,
                    help="chance that a round also fires `hatui failover` at a random moment")
    ap.add_argument("--list-kinds", action="store_true",
                    help="print each fault kind with the verdict and root finding hatui must show, and exit")
    args = ap.parse_args(argv)
    if args.list_kinds:
        for name, kind in KINDS.items():
            expect = kind.expect.text("the target" if kind.expect.on_target else None) if kind.expect else \
                "(the action's outcome is judged)"
            print(f"{name:<22} {expect}")
        return 0
    kinds = args.kinds.split(",") if args.kinds else None
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown or args.rounds < 1:
        ap.error(f"unknown kinds: {', '.join(unknown)}" if unknown else "--rounds must be at least 1")
    try:
        check_host()
    except LabError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 3
    # SIGTERM as SystemExit: the run then takes its lab down (no namespace left behind) and reports
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    lab_dir = Path(tempfile.mkdtemp(prefix="hatui-chaos-", dir="/var/tmp")) / "lab"
    run = ChaosRun(lab_dir, rounds=args.rounds, seed=args.seed, kinds=kinds, action_chance=args.action_chance,
                   log=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        doc = run.run()
    except LabError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 3
    summary = summarize(doc)
    if args.json:
        print(json.dumps({"summary": summary, **doc}, indent=2))
    else:
        print(table(summary, args.seed))
    if doc.get("interrupted"):
        print(f"chaos: {doc['interrupted']}: {summary['rounds']} of {args.rounds} rounds ran", file=sys.stderr)
        return 3
    return 0 if sum(summary["violations"].values()) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
