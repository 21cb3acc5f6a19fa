"""``python -m hatui.lab.node.systemctl ARGS``: a systemctl for the lab node's units (``env.units``).

The lab has no systemd, but hatui and the node kit talk to systemctl, so this
speaks its verbs with its outputs, messages and exit codes:

* ``start|stop|restart UNIT...`` (exit 0; 1 "Job for U failed because ..."; 5 unknown unit)
* ``is-active [-q] UNIT...`` prints active/inactive/failed; exit 0 when all active, else 3
* ``show [-p A,B] [--value] UNIT...`` KEY=VALUE blocks (:mod:`hatui.emulator.tool_text`, as the demo prints)
* ``status UNIT...`` (exit 0 active, 3 not, 4 unknown), ``list-units``, ``reset-failed``, ``daemon-reload``

How units run (supervisor, state files, locks, readiness) is in :mod:`hatui.lab.node.unit_runner`.
"""

from __future__ import annotations

import os
import sys
import time

from hatui.emulator import tool_text
from hatui.lab.node import unit_runner as runner
from hatui.lab.node_env import NodeEnv, load_node_env

VALUE_OPTS = ("-p", "--property", "-n", "--lines", "-t", "--type", "--state", "-o", "--output")


def _unit_name(word: str) -> str:
    return word if "." in word else word + ".service"


def show_values(env: NodeEnv, unit: str) -> dict[str, str]:
    """All properties this systemctl knows for one unit (a not-found block for unknown units)."""
    spec = env.units.get(unit)
    values = {"Id": unit, "Names": unit, "Type": "simple", "Restart": "no", "LoadState": "not-found",
              "ActiveState": "inactive", "SubState": "dead", "MainPID": "0", "ExecMainPID": "0",
              "ActiveEnterTimestamp": "", "ActiveEnterTimestampMonotonic": "0", "InactiveEnterTimestamp": "",
              "Description": unit, "UnitFileState": "", "Result": "success"}
    if spec is None:
        return values
    st = runner.unit_state(env, unit)
    enter = st["enter"]
    mono = int((enter - time.time() + time.monotonic()) * 1e6) if enter else 0
    values.update(LoadState="loaded", ActiveState=st["active"], SubState=st["sub"], MainPID=str(st["pid"]),
                  ExecMainPID=str(st["pid"]), ActiveEnterTimestamp=tool_text.systemd_timestamp(enter),
                  ActiveEnterTimestampMonotonic=str(max(0, mono)),
                  InactiveEnterTimestamp=tool_text.systemd_timestamp(st["inactive_enter"]),
                  Description=spec.description or unit, UnitFileState="enabled", Result=st["result"])
    return values


def show(env: NodeEnv, props: list[str], units: list[str], value_only: bool = False) -> str:
    """``systemctl show``'s stdout."""
    out = tool_text.show_text(tool_text.show_block(show_values(env, u), props) for u in units)
    return tool_text.show_values_only(out) if value_only else out


def _ago(seconds: float) -> str:
    """systemd's relative time ("5s ago", "3min 2s ago", "2h 5min ago", "1 day 2h ago")."""
    s = int(max(0, seconds))
    d, h, m = s // 86400, s // 3600 % 24, s // 60 % 60
    if d:
        return f"{d} day{'s' if d > 1 else ''} {h}h ago"
    if h:
        return f"{h}h {m}min ago"
    return f"{m}min {s % 60}s ago" if m else f"{s}s ago"


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def status_text(env: NodeEnv, unit: str, lines: int = 10) -> str:
    """``systemctl status UNIT`` for a known unit: header, Loaded, Active, Main PID, the log's tail."""
    spec = env.units[unit]
    st = runner.unit_state(env, unit)
    dot = {"active": "●", "failed": "×"}.get(st["active"], "○")
    node_json = os.path.join(env.etc_dir, "node.json")
    out = [f"{dot} {unit} - {spec.description or unit}",
           f"     Loaded: loaded ({node_json}; enabled; preset: enabled)"]
    since = st["enter"] if st["active"] == "active" else st["inactive_enter"]
    when = f" since {tool_text.systemd_timestamp(since)}; {_ago(time.time() - since)}" if since else ""
    if st["active"] == "active":
        out.append(f"     Active: active (running){when}")
        out.append(f"   Main PID: {st['pid']} ({_comm(st['pid'])})")
    elif st["active"] == "failed":
        out.append(f"     Active: failed (Result: {st['result']}){when}")
    else:
        out.append(f"     Active: inactive (dead){when}")
    try:
        with open(os.path.join(env.run_dir, "log", unit + ".log"), errors="replace") as f:
            tail = f.read().splitlines()[-lines:] if lines > 0 else []
    except OSError:
        tail = []
    if tail:
        out += [""] + tail
    return "\n".join(out) + "\n"


def list_units(env: NodeEnv) -> str:
    """``systemctl list-units``: the lab's units, one line each, with systemd's legend line count."""
    rows = [(u, "loaded", *(lambda s: (s["active"], s["sub"]))(runner.unit_state(env, u)),
             env.units[u].description or u) for u in sorted(env.units)]
    width = max([len("UNIT")] + [len(r[0]) for r in rows])
    out = [f"  {'UNIT':<{width}} LOAD   ACTIVE   SUB     DESCRIPTION"]
    out += [f"  {u:<{width}} {load:<6} {act:<8} {sub:<7} {desc}" for u, load, act, sub, desc in rows]
    out += ["", f"{len(rows)} loaded units listed."]
    return "\n".join(out) + "\n"


def _parse(args: list[str]) -> tuple[list[str], list[str], set[str], int]:
    """(words, properties, flags, status lines) from systemctl's argument list."""
    words: list[str] = []
    props: list[str] = []
    flags: set[str] = set()
    lines = 10
    it = iter(args)
    for a in it:
        if a in VALUE_OPTS:
            value = next(it, "")
            if a in ("-p", "--property"):
                props += value.split(",")
            elif a in ("-n", "--lines") and value.isdigit():
                lines = int(value)
        elif a.startswith("--property="):
            props += a.split("=", 1)[1].split(",")
        elif a.startswith("-p") and len(a) > 2:
            props += a[2:].split(",")
        elif a.startswith("--lines="):
            lines = int(a.split("=", 1)[1] or 10)
        elif a.startswith("-"):
            flags.add(a)
        else:
            words.append(a)
    return words, [p for p in props if p], flags, lines


def run(env: NodeEnv, args: list[str]) -> tuple[str, str, int]:
    """One systemctl call: (stdout, stderr, exit status)."""
    words, props, flags, lines = _parse(args)
    if not words:
        return "", "systemctl: missing verb\n", 1
    verb, units = words[0], [_unit_name(u) for u in words[1:]]
    quiet = bool(flags & {"-q", "--quiet"})
    if verb == "show":
        return show(env, props, units, "--value" in flags), "", 0
    if verb == "is-active":
        states = [runner.unit_state(env, u)["active"] if u in env.units else "inactive" for u in units]
        rc = 0 if states and all(s == "active" for s in states) else 3
        return ("" if quiet else "".join(s + "\n" for s in states)), "", rc
    if verb == "list-units":
        return list_units(env), "", 0
    if verb == "daemon-reload":
        return "", "", 0
    if verb in ("start", "stop", "restart", "reset-failed", "status") and not units:
        return "", "Too few arguments.\n", 1
    if verb == "status":
        out, err, rc = [], "", 0
        for u in units:
            if u not in env.units:
                err, rc = err + f"Unit {u} could not be found.\n", 4
                continue
            out.append(status_text(env, u, lines))
            rc = rc or (0 if runner.unit_state(env, u)["active"] == "active" else 3)
        return "\n".join(out), err, rc
    if verb in ("start", "stop", "restart", "reset-failed"):
        for u in units:
            if u not in env.units:
                return "", f"Failed to {verb} {u}: Unit {u} {'not loaded' if verb == 'stop' else 'not found'}.\n", 5
        rc, err = 0, ""
        for u in units:
            if verb in ("stop", "restart"):
                runner.stop(env, u)
            if verb in ("start", "restart"):
                code, msg = runner.start(env, u)
                rc, err = rc or code, err + msg
            if verb == "reset-failed":
                runner.reset_failed(env, u)
        return "", err, rc
    return "", f"Unknown command verb {verb}.\n", 1


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints what :func:`run` returns."""
    try:
        env = load_node_env()
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"System has not been booted with the hatui lab (no node.json): {exc}\n")
        return 1
    out, err, rc = run(env, list(sys.argv[1:] if argv is None else argv))
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


if __name__ == "__main__":
    sys.exit(main())
