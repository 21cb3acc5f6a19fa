"""A short seeded chaos run (scripts/chaos.py) in the real lab: combined faults, no invariant broken.

The run builds its own lab (the namespace names are fixed, so the session's lab
is taken down first), runs its rounds with the client writing through the VIP
and hatui acting at random moments, and reports every round. The short run
draws from the kinds where faults combine or where the pair cannot recover on
its own: partitions (a split brain after the heal), crashes after a cut and
during a resync, a hang and a drop during ``hatui failover``, keepalived down
on both, VRRP blocked with the link cut, a service crash loop, a hung active
node, a crashed standby (the active node's I/O freezes). Seed 11 draws 10
rounds from them; the benchmark run (README) draws from every kind.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests import REPO

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

ROOT = REPO
KINDS = ("partition-active,partition-standby,cut-then-crash-active,crash-during-resync,failover-hang,failover-drop,"
         "keepalived-both,vrrp-and-cut,service-crash-loop,hang-active,crash-standby")


def test_a_short_seeded_chaos_run_breaks_no_invariant(no_lab):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "chaos.py"), "--rounds", "10", "--seed", "11",
                          "--kinds", KINDS, "--json"], capture_output=True, text=True, timeout=840)
    assert out.stdout.strip(), out.stderr
    doc = json.loads(out.stdout)
    summary = doc["summary"]
    problems = [f"round {r['round']} {r['kind']}: {v['invariant']}: {v['detail']}"
                for r in doc["round_reports"] for v in r.get("violations", [])]
    assert problems == [] and out.returncode == 0, "\n".join(problems) + "\n" + out.stderr[-3000:]
    assert summary["rounds"] == 10 and len(summary["faults_by_kind"]) >= 5
    assert summary["lost"] == 0 and summary["acked"] > 500 and summary["final_verify"]["lost"] == 0
    assert all(r.get("expected_seen", True) for r in doc["round_reports"])
    assert summary["slowest_status"]["seconds"] <= 15, "hatui status --json returns within its bound"
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.strip() == ""
