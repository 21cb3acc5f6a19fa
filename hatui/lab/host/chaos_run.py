"""The chaos run: rounds of faults in the lab while a client writes and hatui acts, invariants checked.

Why: each fault was tested alone; what loses data or leaves the pair stuck is
faults that combine and actions that meet them half-way. One round: the client
writes through the VIP; a fault kind from :mod:`hatui.lab.host.chaos_plan` is
injected (sometimes with ``hatui failover`` fired at a random moment); hatui's
``status --json`` is asked again and again until it says what the fault
implies; the fault is undone; the pair must come back healthy within
:data:`HEAL_BOUND` (a split brain is resolved the way an operator would, with
hatui, the node that froze as the victim); every acknowledged write of the round
(and a sample of earlier ones) is read back through the VIP.

Invariants, per round (:data:`hatui.lab.host.chaos_report.INVARIANTS`): never two
nodes serving writes (:class:`~hatui.lab.host.chaos_watch.Monitor`); 0 acknowledged
writes lost; status within its bound; the expected verdict and root seen; every
action completes, refuses, or stops describing the state correctly; no
traceback in hatui's output, the node journals or the daemons' logs; healthy
again after the undo, as hatui sees it and as a client does (a write through
the VIP within :data:`PROBE_BOUND` of hatui's OK).

Seeded: the kinds, targets, timings and action moments come from one
``random.Random(seed)``; the lab's own timing (VRRP, SSH, the emulator) is real,
so a rerun meets the same faults at the same moments, not the same races.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from hatui.lab.host import netns, topology
from hatui.lab.host.chaos_plan import KINDS, REPEATING, Kind
from hatui.lab.host.chaos_report import round_line
from hatui.lab.host.chaos_watch import HatuiRun, LogScanner, Monitor, run_hatui
from hatui.lab.host.chaos_verdicts import held_locks, judge_action, recover_step
from hatui.lab.host.faults import inject
from hatui.lab.host.lab import NAMES, Lab
from hatui.lab.host.netns import LabError

HEAL_BOUND = 120.0  # s after the undo for the pair to be healthy again
SETTLE = 30.0  # s after the inject within which the expected verdict must have shown
ACTION_BOUND = 240.0  # s a hatui action may take before it counts as hung
PROBE_BOUND = 10.0  # s after hatui's OK within which a client's write must get through the VIP
SSH_FAULTS = ("crash", "hang", "partition", "drop")


class ChaosRun:
    """One run of ``rounds`` rounds on a lab of its own (``lab_dir``)."""

    def __init__(self, lab_dir: Path, *, rounds: int, seed: int, action_chance: float = 0.3,
                 kinds: list[str] | None = None, log=print) -> None:
        self.lab, self.rounds, self.seed = Lab(lab_dir), rounds, seed
        self.rng = random.Random(seed)
        self.kinds = kinds or list(KINDS)
        self.action_chance, self.log = action_chance, log
        self.config = str(self.lab.config_path)
        self.work = Path(lab_dir).parent  # kept after the run: hatui's audit log and timelines, client logs
        self.state_dir = self.work / "hatui-state"
        self.monitor = Monitor(self.lab, NAMES)
        self.scanner = LogScanner(self.lab.dir, NAMES)
        self.status_bound = 15.0
        self.active, self.standby = NAMES
        self.round: dict = {}
        self.ssh_faults: list[list] = []  # [node, start, end or None]
        self.threads: list[threading.Thread] = []
        self.runs: list[HatuiRun] = []
        self.all_acks: list[int] = []
        self.report: list[dict] = []
        self.rebuilt = 0

    # ---- the Ctx the kinds use ---------------------------------------------------------------

    def fault(self, kind: str, node: str | None = None, unit: str | None = None) -> str:
        now = time.time()
        text = inject(self.lab, kind, node, unit)
        self.round.setdefault("faults", []).append(" ".join(x for x in (kind, node) if x))
        if kind in SSH_FAULTS:
            self.ssh_faults.append([node, now, now + 2 if kind == "drop" else None])
        for f in self.ssh_faults:
            if f[2] is None and (kind == "heal" or (kind in ("restore", "unhang") and f[0] == node)):
                f[2] = time.time()
        return text

    def pause(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def uniform(self, a: float, b: float) -> float:
        return self.rng.uniform(a, b)

    def choice(self, items: list[str]) -> str:
        return self.rng.choice(items)

    def note(self, key: str, value) -> None:
        self.round[key] = value

    def primary(self) -> str | None:
        return next((n for n in NAMES if self.lab.local_drbd(n).get("role") == "Primary"), None)

    def replication(self, name: str) -> str | None:
        return self.lab.local_drbd(name).get("replication")

    def start_failover(self) -> None:
        self.action("failover", "--to", self.standby, "--confirm", self.standby, "--yes-recent")

    # ---- hatui -----------------------------------------------------------------------------

    def hatui(self, *args: str, timeout: float = 60) -> HatuiRun:
        r = run_hatui(self.config, *args, timeout=timeout, env={"HATUI_STATE_DIR": str(self.state_dir)})
        if r.traceback:
            self.violation("traceback", f"hatui {' '.join(args)}: {r.stderr.strip().splitlines()[-1][:200]}")
        return r

    def action(self, *args: str) -> None:
        """Run a hatui action in the background (it meets the round's faults); judged when it ends."""
        def go() -> None:
            self.runs.append(self.hatui(*args, timeout=ACTION_BOUND))
        t = threading.Thread(target=go, daemon=True)
        t.start()
        self.threads.append(t)

    def status(self) -> HatuiRun:
        r = self.hatui("status", "--json", timeout=max(60.0, 3 * self.status_bound))
        self.round["status_calls"] = self.round.get("status_calls", 0) + 1
        if r.seconds > self.round.get("slowest_status", 0):
            self.round["slowest_status"] = round(r.seconds, 2)
        if r.exit is None or r.seconds > self.status_bound:
            self.violation("status-bound", f"hatui status took {r.seconds:.1f} s (bound {self.status_bound:g} s)")
        elif r.json() is None:
            self.violation("status-bound", f"hatui status --json gave no JSON: {r.stderr.strip()[:200]}")
        return r

    def violation(self, invariant: str, detail: str) -> None:
        self.round.setdefault("violations", []).append({"invariant": invariant, "detail": detail})

    # ---- the run -----------------------------------------------------------------------------

    def run(self) -> dict:
        """All rounds, then every acknowledged write read back; interrupted (SIGINT/SIGTERM as
        SystemExit), it still takes its lab down and returns what it has, marked interrupted."""
        started = time.monotonic()
        final: dict = {"label": "not run: interrupted", "acked": 0, "lost": []}
        interrupted = None
        self.boot()
        self.monitor.start()
        try:
            for i in range(1, self.rounds + 1):
                self.one_round(i, self.kinds[self.rng.randrange(len(self.kinds))])
            final = self.verify(self.all_acks, label="all rounds")
        except (KeyboardInterrupt, SystemExit) as exc:
            interrupted = f"interrupted ({type(exc).__name__}) in round {len(self.report) + 1}"
        finally:
            self.monitor.stop()
            self.lab.client_stop()
            self.lab.down(log=lambda line: None)
        return {"seed": self.seed, "rounds": self.rounds, "seconds": round(time.monotonic() - started, 1),
                "work_dir": str(self.work), "interrupted": interrupted,
                "rebuilt": self.rebuilt, "final_verify": final, "round_reports": self.report}

    def boot(self) -> None:
        from hatui.config import load_config

        self.lab.up(log=lambda line: None)
        cluster = load_config(self.config).cluster
        self.status_bound = cluster.connect_timeout + cluster.command_timeout + 2
        self.scanner.skip_to_end()

    def one_round(self, index: int, name: str) -> None:
        kind = KINDS[name]
        t0 = time.monotonic()
        self.round = {"round": index, "kind": name, "active": self.active}
        self.runs, self.threads = [], []
        log = self.work / "client" / f"round-{index:04d}.jsonl"
        self.lab.client_start(interval=0.05, log=log, start_seq=index * 100000 + 1)
        self.pause(1.0)
        dwell = self.uniform(*kind.dwell)
        timer = None
        if kind.expect is not None and self.rng.random() < self.action_chance:
            timer = threading.Timer(self.uniform(0.5, dwell), self.start_failover)
            timer.start()
        phases = self.round["phases_s"] = {}
        try:
            self.fault_and_recover(kind, dwell, timer, phases)
        except LabError as exc:  # the lab itself broke (a node that does not boot …): a new one
            self.violation("not-healthy", f"the lab failed: {exc}")
            self.rebuild()
        mark = time.monotonic()
        self.lab.client_stop()
        acks = acked(log)
        self.round["acked"] = len(acks)
        # its own generator: how many draws a sample takes depends on how many writes were acked,
        # and the fault sequence must depend on the seed only
        sample = random.Random(self.seed * 100003 + index).sample(self.all_acks, min(200, len(self.all_acks)))
        if self.round.get("rebuilt"):  # those writes went with the old lab: they cannot be read back
            self.round["unverifiable"], acks = len(acks), []
        result = self.verify(acks + sample, label=f"round {index}")
        self.round["lost"] = result["lost"]
        if result["lost"]:
            self.violation("lost-writes", f"{len(result['lost'])} acknowledged writes not read back: "
                                          f"{result['lost'][:10]}")
        self.all_acks += acks
        for seen in self.monitor.take_two_serving():
            self.violation("two-serving", f"both Primary, I/O running, mounted at {seen['t']:.1f}: {seen['nodes']}")
        phases["verify"] = round(time.monotonic() - mark, 1)
        if self.round.get("violations") and not self.round.get("rebuilt"):
            self.save_evidence()
        for line in self.scanner.scan():
            self.violation("traceback", line)
        self.round["seconds"] = round(time.monotonic() - t0, 1)
        self.report.append(self.round)
        self.log(round_line(self.round, self.rounds))

    def fault_and_recover(self, kind: Kind, dwell: float, timer: threading.Timer | None, phases: dict) -> None:
        target = None
        mark = time.monotonic()
        try:
            target = kind.inject(self)
            self.round["target"] = target
            phases["inject"], mark = round(time.monotonic() - mark, 1), time.monotonic()
            self.observe(kind, target, dwell)
            phases["observe"], mark = round(time.monotonic() - mark, 1), time.monotonic()
        finally:
            kind.undo(self, target)
            if timer is not None:
                timer.join()  # fired during the dwell: its action thread is registered
        for t in self.threads:
            t.join(ACTION_BOUND + 10)
        self.round["actions"] = [self.judged(r) for r in self.runs]
        phases["undo"], mark = round(time.monotonic() - mark, 1), time.monotonic()
        self.recover()
        phases["recover"] = round(time.monotonic() - mark, 1)

    def observe(self, kind: Kind, target: str | None, dwell: float) -> None:
        """Ask hatui again and again while the fault lasts; the expected verdict must show by SETTLE."""
        start = time.monotonic()
        seen, last, again = kind.expect is None, "", REPEATING.get(kind.name)
        next_inject = start + again if again else None
        while True:
            now = time.monotonic()
            if next_inject is not None and now >= next_inject and now - start < dwell:
                kind.inject(self)
                next_inject = now + again
            doc = self.status().json()
            if doc is not None:
                findings = doc.get("findings") or []
                last = f"{doc.get('verdict')} " + (f"{findings[0].get('code')} on {findings[0].get('node')}"
                                                   if findings else "(no finding)")
                if kind.expect is not None and kind.expect.met(doc, target):
                    seen = True
            elapsed = time.monotonic() - start
            if elapsed >= dwell and (seen or elapsed >= max(dwell, SETTLE)):
                break
            time.sleep(0.3)
        if kind.expect is not None:
            self.round["expected"] = kind.expect.text(target)
            self.round["expected_seen"] = seen
            if not seen:
                self.violation("wrong-verdict", f"expected {kind.expect.text(target)}; hatui said last: {last}")

    def judged(self, r: HatuiRun) -> dict:
        outcome, problem = judge_action(r, self.monitor, self.ssh_faults)
        if problem:
            self.violation("action", f"hatui {' '.join(r.argv[:2])}: {problem}")
        said = [ln.strip() for ln in r.stderr.splitlines() if ln.startswith("hatui:")]
        return {"argv": r.argv, "exit": r.exit, "outcome": outcome, "seconds": round(r.seconds, 1),
                "said": said[0][:300] if said else ""}

    def recover(self) -> None:
        """End whatever the round left, then wait (bounded) for a healthy pair, resolving as an operator would."""
        t0 = time.monotonic()
        for name in NAMES:
            if self.lab.state().get("hung", {}).get(name):
                self.fault("unhang", name)
            if not self.lab.drbd_state(name):
                self.fault("restore", name)
        self.fault("heal")
        self.fault("unblock-vrrp")
        for name in NAMES:
            if netns.node_run(name, ["systemctl", "is-active", "keepalived.service"], check=False,
                              timeout=20).stdout.strip() != "active":
                self.fault("start-keepalived", name)
        self.locks()
        memo: dict = {}
        doc = None
        while time.monotonic() - t0 < HEAL_BOUND:
            r = self.status()
            doc = r.json()
            if doc is not None and doc.get("verdict") == "OK":
                break
            step = recover_step(doc, self.lab, memo)
            if step is not None:
                self.round.setdefault("recovery", []).append(" ".join(step))
                run = self.hatui(*step, timeout=ACTION_BOUND)
                self.round.setdefault("actions", []).append(self.judged(run))
            time.sleep(1.0)
        else:
            findings = (doc or {}).get("findings") or [{}]
            self.violation("not-healthy", f"not healthy {HEAL_BOUND:g} s after the undo: {(doc or {}).get('verdict')} "
                                          f"{findings[0].get('code')} on {findings[0].get('node')}")
            self.rebuild()
            return
        self.round["recovered_s"] = round(time.monotonic() - t0, 1)
        served = _probe(PROBE_BOUND)  # hatui's OK is the nodes' view; a client must be able to write too
        self.round["served_after_s"] = served.get("seconds")
        if not served.get("ok"):
            self.violation("not-healthy", f"hatui says OK, but no client write got through the VIP within "
                                          f"{PROBE_BOUND:g} s")
        names = [n["name"] for n in doc.get("nodes", []) if n.get("active")]
        if len(names) == 1:
            self.active = names[0]
            self.standby = topology.peer(self.active).name

    def locks(self) -> None:
        """No action runs now: a lock still held is stale. hatui must have said so; then break it."""
        for node in held_locks(self.hatui("lock", "status")):
            if not any("lock not released" in r.stderr or "could not remove" in r.stderr for r in self.runs):
                self.violation("action", f"a lock was left on {node} and no action said so")
            self.round.setdefault("recovery", []).append(f"lock break {node}")
            self.hatui("lock", "break", "--confirm", node)

    def save_evidence(self) -> None:
        """Copy the nodes' logs and journals to WORK/evidence/round-N (a rebuild or the end removes the lab)."""
        dest = self.work / "evidence" / f"round-{self.round['round']:04d}"
        for name in NAMES:
            root = self.lab.dir / name
            for src in [*(root / "run" / "hatui-lab" / "log").glob("*.log"), root / "journal" / "journal.jsonl"]:
                if src.is_file():
                    (dest / name).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dest / name / src.name)
        self.round["evidence"] = str(dest)

    def rebuild(self) -> None:
        """The pair could not be brought back: a new lab (what was acknowledged before cannot be checked now)."""
        self.save_evidence()
        self.lab.client_stop()
        self.lab.down(log=lambda line: None)
        self.boot()
        self.rebuilt += 1
        self.all_acks = []
        self.active, self.standby = NAMES
        self.round["rebuilt"] = True

    def verify(self, seqs: list[int], *, label: str) -> dict:
        """Read ``seqs`` back through the VIP; what is missing is asked once more before it counts as lost."""
        lost = _verify(self.lab, seqs, self.work)
        if lost:
            time.sleep(3)
            lost = _verify(self.lab, lost, self.work)
        return {"label": label, "acked": len(seqs), "lost": lost}


def acked(log: Path) -> list[int]:
    from hatui.lab.host.client import acked_seqs

    try:
        return acked_seqs(log.read_text().splitlines())
    except OSError:
        return []


def _probe(bound: float) -> dict:
    vip = topology.VIP.split("/")[0]
    out = subprocess.run(["ip", "netns", "exec", topology.CLIENT_NS, sys.executable, "-m", "hatui.lab.host.client",
                          "--target", f"{vip}:2049", "--probe", str(bound)], capture_output=True, text=True,
                         timeout=bound + 30)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "seconds": None}


def _verify(lab: Lab, seqs: list[int], work: Path) -> list[int]:
    if not seqs:
        return []
    path = work / "client" / "verify.jsonl"
    path.write_text("".join(json.dumps({"event": "ack", "seq": s}) + "\n" for s in seqs))
    vip = topology.VIP.split("/")[0]
    out = subprocess.run(["ip", "netns", "exec", topology.CLIENT_NS, sys.executable, "-m", "hatui.lab.host.client",
                          "--target", f"{vip}:2049", "--verify", str(path)], capture_output=True, text=True,
                         timeout=600)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])["lost"]
    except (ValueError, IndexError, KeyError):
        return list(seqs)
