"""How the lab's systemctl runs a unit: supervisor, state files, readiness, stop, per-unit lock.

Files under ``{run_dir}``:

* ``start`` double-forks a small *supervisor* (a fork of the calling process:
  no second interpreter start-up) that calls ``setsid``, spawns the unit's argv
  in a new session (stdin /dev/null, stdout+stderr appended to ``log/UNIT.log``,
  env = os.environ + spec.env), waits for it and writes its exit status to
  ``units/UNIT.exit``. Only a parent sees an exit status, and systemd's
  inactive/failed distinction needs it.
* ``units/UNIT.json`` holds the main pid, its ``/proc/PID/stat`` start time (a
  reused pid is not mistaken for the unit), the pgid, start and stop times.
* ``units/UNIT.lock`` is flock'ed around start/stop: keepalived's notify
  script and hatui may act on one unit at the same time.
* Readiness: ``ready_file`` must appear; with ``pid_file`` (a daemon writing its
  own) the pid in it, a member of the unit's session, becomes the MainPID.
  Without either, surviving 0.1 s counts as started. Polls every 20 ms, 10 s max.

Stdlib and node_env only: every systemctl call is a new process.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from contextlib import contextmanager

from hatui.lab.node_env import NodeEnv, UnitSpec

STEP = 0.02  # readiness and stop polling interval
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
SETTLE = 0.1  # a unit without readiness files counts as started after surviving this long
# systemd's default SuccessExitStatus for services: these signals are clean exits
CLEAN_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE}


# ---- processes ------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, pgid, session, starttime) from /proc/PID/stat, None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except (OSError, ValueError):
        return None
    fields = text[text.rfind(")") + 2:].split()  # comm may contain spaces and ')'
    return fields[0], int(fields[2]), int(fields[3]), int(fields[19])


def alive(pid: int, starttime: int | None = None) -> bool:
    """The process runs (zombies count as gone) and, when given, started at ``starttime``."""
    st = proc_stat(pid) if pid > 0 else None
    return st is not None and st[0] not in ("Z", "X") and (starttime is None or st[3] == starttime)


def group_alive(pgid: int) -> bool:
    """Some non-zombie process is still in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    for name in os.listdir("/proc"):  # killpg(0) also succeeds for zombies nobody reaps
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None and st[1] == pgid and st[0] not in ("Z", "X"):
                return True
    return False


# ---- state files ----------------------------------------------------------------------


def _path(env: NodeEnv, unit: str, ext: str) -> str:
    return os.path.join(env.run_dir, "units", unit + ext)


def _load(path: str) -> dict:
    try:
        with open(path) as f:
            doc = json.load(f)
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(path: str, doc: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)  # readers (show, exportfs) never see half a file


@contextmanager
def unit_lock(env: NodeEnv, unit: str):
    """Exclusive per-unit lock for state changes."""
    os.makedirs(os.path.join(env.run_dir, "units"), exist_ok=True)
    fd = os.open(_path(env, unit, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def unit_state(env: NodeEnv, unit: str) -> dict:
    """ActiveState, SubState, MainPID, Result and times of one known unit, from its state files."""
    st = _load(_path(env, unit, ".json"))
    out = {"active": "inactive", "sub": "dead", "pid": 0, "result": st.get("result", "success"),
           "enter": st.get("start_wall"), "inactive_enter": st.get("stop_wall")}
    pid = int(st.get("pid") or 0)
    if not pid:
        return out
    if alive(pid, st.get("starttime")):
        if st.get("stopped"):  # a stop is sending its signals
            return {**out, "active": "deactivating", "sub": "stop-sigterm", "pid": pid}
        if st.get("starting"):  # waiting for the ready file or pid file
            return {**out, "active": "activating", "sub": "start", "pid": pid}
        return {**out, "active": "active", "sub": "running", "pid": pid}
    if st.get("result", "success") != "success":
        return {**out, "active": "failed", "sub": "failed"}
    if st.get("stopped"):
        return out
    exit_doc = _load(_path(env, unit, ".exit"))
    deadline = time.monotonic() + 0.2
    # the supervisor writes the exit file just after reaping: give it a moment
    while exit_doc.get("pid") != pid and alive(int(st.get("sup_pid") or 0)) and time.monotonic() < deadline:
        time.sleep(0.01)
        exit_doc = _load(_path(env, unit, ".exit"))
    out["inactive_enter"] = exit_doc.get("wall")
    if exit_doc.get("pid") == pid and (exit_doc.get("code") == 0 or exit_doc.get("signal") in CLEAN_SIGNALS):
        return out
    # no exit record for this pid: it vanished together with its supervisor (SIGKILL of both)
    result = "exit-code" if exit_doc.get("pid") == pid and exit_doc.get("code") is not None else "signal"
    return {**out, "active": "failed", "sub": "failed", "result": result}


# ---- start ------------------------------------------------------------------------------


def _supervise(env: NodeEnv, unit: str, spec: UnitSpec, pipe_w: int) -> None:
    """The supervisor process: run the unit's argv, report its pid, record its exit. Never returns."""
    import subprocess  # only the supervisor needs it

    log_path = os.path.join(env.run_dir, "log", unit + ".log")
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)  # the caller's stdout (an ssh channel) must not stay open in here
    for fd in (null, log):
        os.close(fd)
    # nothing of the caller's may stay open for the unit's lifetime (an in-process caller's sockets, pipes)
    os.closerange(3, pipe_w)
    os.closerange(pipe_w + 1, 4096)
    # survive the unit's stop signals to record the exit; Python handlers reset to default at exec
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)
    try:
        proc = subprocess.Popen(list(spec.argv), env={**os.environ, **spec.env}, stdin=0, stdout=1, stderr=2,
                                cwd="/", start_new_session=True)
    except OSError as exc:
        os.write(2, f"hatui-lab systemctl: {unit}: Failed to execute {spec.argv[0]}: {exc}\n".encode())
        os.write(pipe_w, b"0\n")
        os._exit(1)
    os.write(pipe_w, f"{proc.pid}\n".encode())
    os.close(pipe_w)
    rc = proc.wait()
    exit_doc = {"pid": proc.pid, "code": rc if rc >= 0 else None, "signal": -rc if rc < 0 else None,
                "wall": time.time()}
    _save(_path(env, unit, ".exit"), exit_doc)
    os._exit(0)


def _spawn(env: NodeEnv, unit: str, spec: UnitSpec, lock_fd: int) -> tuple[int, int]:
    """Start the supervisor; (main pid or 0 when exec failed, supervisor pid)."""
    os.makedirs(os.path.join(env.run_dir, "log"), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # intermediate: new session, fork the supervisor, exit so the caller reaps at once
        code = 1
        try:
            os.close(r)
            os.close(lock_fd)  # a flock is shared across fork: the supervisor must not hold it
            os.setsid()
            if os.fork() == 0:
                os.write(w, f"{os.getpid()}\n".encode())
                _supervise(env, unit, spec, w)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    os.waitpid(child, 0)
    data = b""
    while len(data.split(b"\n")) < 3:  # "SUPERVISOR\nMAIN\n", or EOF when something broke
        chunk = os.read(r, 256)
        if not chunk:
            break
        data += chunk
    os.close(r)
    nums = [int(x) for x in data.split() if x.isdigit()] + [0, 0]
    return nums[1], nums[0]


def _read_pid_file(path: str) -> int:
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else 0
    except OSError:
        return 0


def _job_failed(unit: str, why: str) -> tuple[int, str]:
    return 1, (f"Job for {unit} failed because {why}.\n"
               f'See "systemctl status {unit}" and "journalctl -xeu {unit}" for details.\n')


def start(env: NodeEnv, unit: str) -> tuple[int, str]:
    """``systemctl start UNIT``: (0, "") when running (already, or ready now), else (1, systemd's message)."""
    spec = env.units[unit]
    with unit_lock(env, unit) as lock_fd:
        path = _path(env, unit, ".json")
        doc = _load(path)
        if doc.get("pid") and alive(int(doc["pid"]), doc.get("starttime")):
            if doc.get("starting") or doc.get("stopped"):  # a start or stop before us died half-way
                doc.update(starting=False, stopped=False)
                _save(path, doc)
            return 0, ""
        for stale in (spec.ready_file, _path(env, unit, ".exit")):
            if stale and os.path.exists(stale):
                os.unlink(stale)  # a SIGKILLed stand-in leaves its ready file behind
        if spec.pid_file and not alive(_read_pid_file(spec.pid_file)):
            try:
                os.unlink(spec.pid_file)
            except OSError:
                pass
        start_wall = time.time()
        pid, sup = _spawn(env, unit, spec, lock_fd)
        stat = proc_stat(pid) if pid else None
        doc = {"pid": pid, "starttime": stat[3] if stat else None, "pgid": pid, "sup_pid": sup, "starting": True,
               "start_wall": start_wall, "stop_wall": None, "stopped": False, "result": "success"}
        _save(path, doc)
        deadline = time.monotonic() + READY_TIMEOUT
        settle = time.monotonic() + SETTLE
        while True:
            if not pid or not alive(pid, doc["starttime"]):
                doc["result"] = unit_state(env, unit)["result"] if pid else "exit-code"
                if doc["result"] == "success":  # exited 0 before it was ready: still a failed start
                    doc["result"] = "exit-code"
                doc.update(stop_wall=time.time(), starting=False)
                _save(path, doc)
                return _job_failed(unit, "the control process exited with error code")
            tracked = _read_pid_file(spec.pid_file) if spec.pid_file else pid
            tracked_stat = proc_stat(tracked) if tracked else None
            pid_ok = tracked_stat is not None and tracked_stat[2] == pid  # in the unit's session, not stale
            ready_ok = not spec.ready_file or os.path.exists(spec.ready_file)
            if pid_ok and ready_ok and (spec.ready_file or spec.pid_file or time.monotonic() >= settle):
                if tracked != pid:
                    doc.update(pid=tracked, starttime=tracked_stat[3])
                doc.update(start_wall=time.time(), starting=False)  # ActiveEnterTimestamp: when it became active
                _save(path, doc)
                return 0, ""
            if time.monotonic() > deadline:
                _kill_group(pid, doc["starttime"])
                doc.update(result="timeout", stop_wall=time.time(), starting=False)
                _save(path, doc)
                return _job_failed(unit, "a timeout was exceeded")
            time.sleep(STEP)


# ---- stop -------------------------------------------------------------------------------


def _kill_group(pgid: int, starttime: int | None) -> None:
    """SIGTERM the unit's process group, SIGKILL what is left after STOP_TIMEOUT."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 1.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pgid, starttime) and not group_alive(pgid):
                return
            time.sleep(STEP)


def stop(env: NodeEnv, unit: str) -> int:
    """``systemctl stop UNIT``: TERM, then KILL after 5 s; 0 also when it was not running."""
    with unit_lock(env, unit):
        path = _path(env, unit, ".json")
        doc = _load(path)
        pid = int(doc.get("pid") or 0)
        if not pid or not alive(pid, doc.get("starttime")):
            return 0  # a unit that failed on its own stays failed, as in systemd
        doc["stopped"] = True  # written first: the exit this causes is not a failure
        _save(path, doc)
        _kill_group(int(doc.get("pgid") or pid), doc.get("starttime"))
        if alive(pid, doc.get("starttime")):  # the tracked daemon left the group (setsid): signal it alone
            os.kill(pid, signal.SIGKILL)
        doc.update(stop_wall=time.time(), result="success", starting=False)
        _save(path, doc)
        return 0


def reset_failed(env: NodeEnv, unit: str) -> int:
    """``systemctl reset-failed UNIT``: a failed unit becomes inactive."""
    with unit_lock(env, unit):
        path = _path(env, unit, ".json")
        doc = _load(path)
        if doc and unit_state(env, unit)["active"] == "failed":
            doc.update(result="success", stopped=True)
            _save(path, doc)
    return 0
