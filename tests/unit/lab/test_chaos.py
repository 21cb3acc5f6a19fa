"""The chaos run's rules, without a lab: expectations, action verdicts, recovery choices, log scanning, the table."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from hatui.lab.host import chaos_plan
from hatui.lab.host.chaos_plan import DOWN, KINDS, NODE_DOWN, Expect
from hatui.lab.host.chaos_report import INVARIANTS, summarize
from hatui.lab.host.chaos_verdicts import held_locks, judge_action, recover_step, split_brain_victim
from hatui.lab.host.chaos_watch import HatuiRun, LogScanner, Sample
from tests import REPO

ROOT = REPO


def doc(verdict: str, *findings: tuple[str, str | None], holders=("vm2",), reachable=(True, True)) -> dict:
    return {"verdict": verdict, "vip": {"holders": list(holders)},
            "nodes": [{"name": n, "reachable": r} for n, r in zip(("vm2", "vm12"), reachable)],
            "findings": [{"code": c, "node": n, "root": i == 0} for i, (c, n) in enumerate(findings)]}


def test_every_kind_is_in_the_documented_table_with_its_expectation() -> None:
    text = chaos_plan.__doc__ or ""
    for name, kind in KINDS.items():
        line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
        assert line is not None, f"{name} is not documented"
        if kind.expect is None:
            assert "—" in line
        else:
            assert kind.expect.verdict in line


def test_expect_needs_the_verdict_and_the_first_finding_on_the_right_node() -> None:
    assert DOWN.met(doc("CRITICAL", ("connect-timed-out", "vm2"), ("replication-down", "vm12")), "vm2")
    assert DOWN.met(doc("CRITICAL", ("node-hung", "vm2")), "vm2")
    assert not DOWN.met(doc("CRITICAL", ("connect-timed-out", "vm12")), "vm2"), "the other node"
    assert not DOWN.met(doc("CRITICAL", ("replication-down", "vm12"), ("connect-timed-out", "vm2")), "vm2"), \
        "a consequence listed first is not the root"
    assert not DOWN.met(doc("WARNING", ("connect-timed-out", "vm2")), "vm2")
    cut = Expect("WARNING", frozenset({"replication-down"}))
    assert cut.met(doc("WARNING", ("replication-down", None)), None)
    assert not cut.met(doc("OK"), None)
    assert DOWN.text("vm2") == "CRITICAL node down on vm2" and DOWN.roots == NODE_DOWN


class FakeMonitor:
    def __init__(self, roles: dict[str, str]) -> None:
        self.roles = roles

    def between(self, start: float, end: float) -> list[Sample]:
        return [Sample(end - 1, {n: {"role": r} for n, r in self.roles.items()})]


def run(code: int | None, out: str = "", err: str = "") -> HatuiRun:
    now = time.time()
    return HatuiRun(["failover", "--to", "vm12"], code, out, err, 3.0, now - 3, now)


STOPPED = ("hatui: failover failed at step 5: drbdadm primary r0: timed out\n"
           "  vm2: VIP held, DRBD r0 Secondary/UpToDate/Connected, /srv/ha not mounted\n"
           "  vm12: {vm12}\n  → fix the cause, then run the same command again\n")


def test_an_action_must_end_done_refused_or_stopped_and_say_so() -> None:
    mon = FakeMonitor({"vm2": "Secondary", "vm12": "Secondary"})
    assert judge_action(run(0, "failover succeeded"), mon, []) == ("done", None)
    assert judge_action(run(2, err="hatui: refused: vm12 is not Connected"), mon, []) == ("refused", None)
    assert judge_action(run(2, err="nope"), mon, [])[1] is not None
    assert judge_action(run(None), mon, [])[0] == "hung"
    ok = STOPPED.format(vm12="VIP not held, DRBD r0 Secondary/UpToDate/Connected")
    assert judge_action(run(1, err=ok), mon, []) == ("stopped", None)
    # A role the node never had is a wrong description.
    wrong = STOPPED.format(vm12="VIP not held, DRBD r0 Primary/UpToDate/Connected")
    assert "said vm12 is Primary" in judge_action(run(1, err=wrong), mon, [])[1]
    # UNREACHABLE is right only while that node's SSH had a fault.
    gone = STOPPED.format(vm12="UNREACHABLE (no answer within 10 s)")
    assert "its SSH had no fault" in judge_action(run(1, err=gone), mon, [])[1]
    hung = [["vm12", time.time() - 5, None]]
    assert judge_action(run(1, err=gone), mon, hung) == ("stopped", None)
    assert judge_action(run(3, err="hatui: vm12: no answer"), mon, hung) == ("error", None)
    assert judge_action(run(3, err="hatui: vm12: no answer"), mon, [])[1] is not None
    assert "describing both nodes" in judge_action(run(1, err="hatui: failover failed at step 1: x"), mon, [])[1]


class FakeLab:
    def __init__(self, **nodes: dict) -> None:
        self.nodes = nodes

    def local_drbd(self, name: str) -> dict:
        return self.nodes.get(name, {})


def test_split_brain_victim_is_the_frozen_node_else_the_one_not_serving() -> None:
    frozen = FakeLab(vm2={"role": "Secondary", "suspended": "fencing"}, vm12={"role": "Primary"})
    sb = doc("CRITICAL", ("split-brain", None), holders=("vm12",))
    assert split_brain_victim(sb, frozen) == "vm2"
    plain = FakeLab(vm2={"role": "Primary"}, vm12={"role": "Secondary"})
    assert split_brain_victim(doc("CRITICAL", ("split-brain", None), holders=("vm2",)), plain) == "vm12"
    assert recover_step(sb, frozen, {}) == ("resync", "split-brain", "--victim", "vm2", "--confirm", "vm2")
    unreachable = doc("CRITICAL", ("split-brain", None), reachable=(True, False))
    assert recover_step(unreachable, frozen, {}) is None, "both nodes must answer first"
    memo: dict = {}
    standalone = doc("CRITICAL", ("standalone", "vm12"))
    assert recover_step(standalone, plain, memo) is None, "DRBD gets time to reconnect by itself"
    memo["standalone_since"] -= 11
    assert recover_step(standalone, plain, memo) == ("resync", "reconnect", "--confirm", "vm12")
    assert recover_step(doc("OK"), plain, {}) is None


def test_held_locks_are_read_from_lock_status() -> None:
    out = "vm2: held by root@host pid 42 (failover) for 3 s\nvm12: free\n"
    assert held_locks(HatuiRun(["lock", "status"], 1, out, "", 0.5, 0, 0)) == ["vm2"]
    assert held_locks(HatuiRun(["lock", "status"], 0, "vm2: free\nvm12: free\n", "", 0.5, 0, 0)) == []


def test_log_scanner_reads_only_new_whole_lines_and_keeps_the_traceback(tmp_path: Path) -> None:
    log = tmp_path / "vm2" / "run" / "hatui-lab" / "log" / "drbd.log"
    log.parent.mkdir(parents=True)
    log.write_text("old Traceback (most recent call last)\n")
    scanner = LogScanner(tmp_path, ("vm2", "vm12"))
    scanner.skip_to_end()
    assert scanner.scan() == []
    with open(log, "a") as f:
        f.write("fine\nTraceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom\npartial Tra")
    [found] = scanner.scan()
    assert found.startswith("vm2/run/hatui-lab/log/drbd.log: ") and "ValueError: boom" in found
    with open(log, "a") as f:
        f.write("ceback (most recent call last)\n")
    assert len(scanner.scan()) == 1, "a line split across two looks is read whole"


def test_summary_and_table_count_what_the_rounds_saw() -> None:
    rounds = [{"round": 1, "kind": "cut-link", "acked": 10, "lost": [], "slowest_status": 1.5, "recovered_s": 3.0,
               "served_after_s": 0.01,
               "actions": [{"outcome": "refused"}], "violations": []},
              {"round": 2, "kind": "crash-active", "acked": 20, "lost": [7], "slowest_status": 4.0,
               "recovered_s": 9.0, "recovery": ["resync split-brain --victim vm2 --confirm vm2"],
               "violations": [{"invariant": "lost-writes", "detail": "1"}]}]
    s = summarize({"seconds": 50.0, "rebuilt": 0, "round_reports": rounds,
                   "final_verify": {"label": "all", "acked": 30, "lost": []}})
    assert s["faults_by_kind"] == {"crash-active": 1, "cut-link": 1} and s["acked"] == 30 and s["lost"] == 1
    assert s["violations"]["lost-writes"] == 1 and set(INVARIANTS) <= set(s["violations"])
    assert s["slowest_status"] == {"seconds": 4.0, "kind": "crash-active", "round": 2}
    assert s["split_brains_resolved"] == 1 and s["actions"] == {"refused": 1}
    assert s["client_served_after_s"] == {"median": 0.01, "max": 0.01}
    spec = importlib.util.spec_from_file_location("chaos_script", ROOT / "scripts" / "chaos.py")
    chaos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chaos)
    text = chaos.table(s, seed=3)
    for needle in ("rounds", "faults by kind", "violations by invariant", "lost-writes", "wrong verdicts",
                   "slowest status", "4.00 s (crash-active, round 2)", "acknowledged writes       30, lost 1"):
        assert needle in text


def test_chaos_script_refuses_unknown_kinds(capsys) -> None:
    spec = importlib.util.spec_from_file_location("chaos_script", ROOT / "scripts" / "chaos.py")
    chaos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chaos)
    with pytest.raises(SystemExit):
        chaos.main(["--kinds", "crash-active,nonsense"])
    assert "unknown kinds: nonsense" in capsys.readouterr().err
