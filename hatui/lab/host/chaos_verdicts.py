"""Judging what hatui did during a chaos round, and what an operator would do next to recover.

Why separate: these are the rules the run holds hatui to, and they should be
readable on their own.

An action (``hatui failover`` …) may end four ways, and each must be honest:

* exit 0, **done**: it says "succeeded";
* exit 2, **refused**: it says why ("hatui: refused: …");
* exit 1, **stopped**: it names the failed step and describes both nodes; a
  node it calls UNREACHABLE must have had an SSH fault (crash, hang, partition,
  drop) during the action, and a DRBD role it reports must be a role the
  node's emulator had in the 15 s before it stopped;
* exit 3, **error** (no plan could be made): one line, and only while a node's
  SSH was under a fault.

Anything else (no end within the bound, a traceback, another exit code) is a
violation. Recovery (:func:`recover_step`) uses hatui's own flows: a split
brain is resolved with ``hatui resync split-brain``, the victim being the node
whose I/O is frozen (it acknowledged nothing since), else the one not serving;
a side left StandAlone is reconnected with ``hatui resync reconnect``.
"""

from __future__ import annotations

import re
import time

from hatui.lab.host import topology
from hatui.lab.host.chaos_watch import HatuiRun, Monitor
from hatui.lab.host.lab import NAMES

_NODE_LINE = re.compile(r"^\s+(\S+): (.*)$")
_ROLE = re.compile(r"DRBD \S+ (\w+)/")
DESCRIBED_WITHIN = 15.0  # s before the action ended in which the described role must have been true
MAX_TRIES = 3  # recovery attempts per kind of step and round


def ssh_trouble(ssh_faults: list[list], node: str, start: float, end: float) -> bool:
    """``node`` had an SSH fault (crash, hang, partition, drop) overlapping [start, end]."""
    return any(f[0] == node and f[1] <= end and (f[2] is None or f[2] >= start - 2) for f in ssh_faults)


def judge_action(r: HatuiRun, monitor: Monitor, ssh_faults: list[list]) -> tuple[str, str | None]:
    """(outcome, problem or None) for one finished hatui action."""
    err = r.stderr.strip()
    if r.exit is None:
        return "hung", f"did not finish within its bound ({r.seconds:.0f} s)"
    if r.traceback:
        return "traceback", None  # counted once, as a traceback
    if r.exit == 0:
        return "done", None if "succeeded" in r.stdout else "exit 0 but it does not say it succeeded"
    if r.exit == 2:
        return "refused", None if "refused" in err else f"exit 2 without saying why: {err[:200]}"
    trouble = [n for n in NAMES if ssh_trouble(ssh_faults, n, r.started, r.ended)]
    if r.exit == 3:
        one_line = len(err.splitlines()) == 1 and err.startswith("hatui:")
        if one_line and trouble:
            return "error", None
        return "error", f"exit 3 {'with no SSH fault' if one_line else 'not in one line'}: {err[:200]}"
    if r.exit != 1:
        return f"exit {r.exit}", f"unexpected exit code {r.exit}: {err[:200]}"
    if "failed" not in err:
        return "stopped", f"exit 1 without naming a failed step: {err[:200]}"
    return "stopped", _check_described(err, r, monitor, trouble)


def _check_described(err: str, r: HatuiRun, monitor: Monitor, trouble: list[str]) -> str | None:
    described = {}
    for line in err.splitlines():
        m = _NODE_LINE.match(line)
        if m and m.group(1) in NAMES:
            described[m.group(1)] = m.group(2)
    if set(described) != set(NAMES):
        return f"stopped without describing both nodes: {err[:200]}"
    samples = monitor.between(r.ended - DESCRIBED_WITHIN, r.ended + 1)
    for node, text in described.items():
        if text.startswith("UNREACHABLE"):
            if node not in trouble:
                return f"said {node} is unreachable, but its SSH had no fault: {text[:150]}"
            continue
        m = _ROLE.search(text)
        if m and m.group(1) in ("Primary", "Secondary"):
            seen = {(s.nodes.get(node) or {}).get("role") for s in samples}
            if m.group(1) not in seen:
                return f"said {node} is {m.group(1)}; its DRBD was {sorted(map(str, seen))} then"
    return None


def frozen(lab) -> list[str]:
    return [n for n in NAMES if lab.local_drbd(n).get("suspended")]


def split_brain_victim(doc: dict, lab) -> str | None:
    """The side whose writes go: the node whose I/O froze, else the one that does not hold the VIP / serve."""
    cold = frozen(lab)
    if len(cold) == 1:
        return cold[0]
    holders = (doc.get("vip") or {}).get("holders") or []
    if len(holders) == 1:
        return topology.peer(holders[0]).name
    primaries = [n for n in NAMES if lab.local_drbd(n).get("role") == "Primary"]
    if len(primaries) == 1:
        return topology.peer(primaries[0]).name
    return None


def recover_step(doc: dict | None, lab, memo: dict) -> tuple[str, ...] | None:
    """The next hatui command an operator would run to bring the pair back, or None (wait)."""
    if not doc or not doc.get("findings"):
        return None
    root = doc["findings"][0]
    code, node = root.get("code"), root.get("node")
    if not all(n.get("reachable") for n in doc.get("nodes", [])):
        return None
    if code == "split-brain" and memo.get("split", 0) < MAX_TRIES:
        victim = split_brain_victim(doc, lab)
        if victim is None:
            return None
        memo["split"] = memo.get("split", 0) + 1
        return ("resync", "split-brain", "--victim", victim, "--confirm", victim)
    if code == "standalone" and node and memo.get("reconnect", 0) < MAX_TRIES:
        since = memo.setdefault("standalone_since", time.monotonic())
        if time.monotonic() - since < 10:  # DRBD may still be reconnecting by itself
            return None
        memo["reconnect"] = memo.get("reconnect", 0) + 1
        memo.pop("standalone_since", None)
        return ("resync", "reconnect", "--confirm", node)
    return None


def held_locks(r: HatuiRun) -> list[str]:
    """Nodes ``hatui lock status`` reports held (exit 1)."""
    if r.exit != 1:
        return []
    return [line.split(":")[0] for line in r.stdout.splitlines()
            if line.split(":")[0] in NAMES and ("held by" in line or "HELD" in line)]
