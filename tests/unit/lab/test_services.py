"""The lab node's service layer without root: systemctl, exportfs, the NFS and DAG stand-ins, the client.

Everything runs as real processes against temporary folders: ``$HATUI_LAB_ETC``
and ``$HATUI_LAB_RUN`` point at them, ``HATUI_LAB_ASSUME_MOUNTED=1`` makes the
temporary "mount point" count as mounted (removing it means "unmounted"), a
free port stands in for 2049, and a fake DRBD API (a unix-socket thread
storing into a dict and writing one file per key into the mount point) stands
in for the emulator daemon.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from hatui.lab.node_env import NodeEnv, UnitSpec
from hatui.probes.nfs import parse_exportfs
from hatui.probes.systemd import parse_systemctl_show
from hatui.states import UnitActiveState
from tests import REPO

PY = sys.executable
ROOT = REPO
PROPS = "Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp"
NFS, DAG = "nfs-server.service", "airflow-dag-processor.service"

pytestmark = pytest.mark.timeout(30)


class FakeDrbd(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The DRBD emulator's local API: one JSON line in, one out; files appear in ``data``."""

    daemon_threads = True

    def __init__(self, path: str, data: Path) -> None:
        self.data, self.store = data, {}
        self.gate = threading.Event()  # cleared: writes wait (replication in flight)
        self.gate.set()
        self.fail = False
        super().__init__(path, _Handler)


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        req = json.loads(self.rfile.readline())
        srv: FakeDrbd = self.server  # type: ignore[assignment]
        if req["op"] == "write":
            srv.gate.wait(10)
            if srv.fail:
                reply = {"rc": 1, "stderr": "r0: State change failed: (-2) Need access to UpToDate data\n"}
            else:
                srv.store[req["key"]] = req["value"]
                (srv.data / req["key"]).write_text(req["value"])
                reply = {"rc": 0}
        else:
            reply = {"rc": 0, "value": srv.store.get(req["key"])}
        self.wfile.write(json.dumps(reply).encode() + b"\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Lab:
    """One fake node: folders, node.json, fake DRBD API, helpers to run the node's commands."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.etc, self.run_dir, self.mnt = base / "etc", base / "run", base / "mnt"
        for d in (self.etc, self.run_dir, self.mnt):
            d.mkdir()
        self.port = free_port()
        units = {
            NFS: UnitSpec(argv=(PY, "-m", "hatui.lab.node.nfs_standin"), description="NFS server (lab stand-in)",
                          ready_file=str(self.run_dir / "nfs.ready")),
            DAG: UnitSpec(argv=(PY, "-m", "hatui.lab.node.dag_standin", "--interval", "0.1"),
                          ready_file=str(self.run_dir / "dag.ready")),
            "sleeper.service": UnitSpec(argv=("sleep", "61.5"), description="Sleeper"),
            "bad.service": UnitSpec(argv=("sh", "-c", "echo boom >&2; exit 3")),
            "selfpid.service": UnitSpec(argv=("sh", "-c", f"echo $$ > {base}/self.pid; exec sleep 62.5"),
                                        pid_file=str(base / "self.pid")),
        }
        self.env = NodeEnv(node="vm2", peer="vm12", nodes=("vm2", "vm12"), mount_point=str(self.mnt),
                           exports=(str(self.mnt),), nfs_port=self.port, units=units, etc_dir=str(self.etc),
                           run_dir=str(self.run_dir))
        self.env.write(self.etc)
        self.drbd = FakeDrbd(self.env.drbd_socket, self.mnt)
        threading.Thread(target=self.drbd.serve_forever, daemon=True).start()
        self.environ = {**os.environ, "HATUI_LAB_ETC": str(self.etc), "HATUI_LAB_RUN": str(self.run_dir),
                        "HATUI_LAB_ASSUME_MOUNTED": "1"}

    def cmd(self, module: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PY, "-m", module, *args], env=self.environ, cwd=ROOT, capture_output=True,
                              text=True, timeout=20)

    def sc(self, *args: str) -> subprocess.CompletedProcess:
        return self.cmd("hatui.lab.node.systemctl", *args)

    def show(self, *units: str):
        out = self.sc("show", "-p", PROPS, *units)
        assert out.returncode == 0, out.stderr
        report = parse_systemctl_show(out.stdout)
        assert report.error is None, out.stdout
        return report.units

    def teardown(self) -> None:
        for unit in self.env.units:
            self.sc("stop", unit)
        for state in (self.run_dir / "units").glob("*.json"):  # belt and braces: nothing may outlive the test
            pid = json.loads(state.read_text()).get("pid")
            if pid:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.drbd.shutdown()
        self.drbd.server_close()


@pytest.fixture
def lab():
    base = Path(tempfile.mkdtemp(prefix="hl-", dir="/tmp"))  # short: unix socket paths are limited to 108 bytes
    node = Lab(base)
    try:
        yield node
    finally:
        node.teardown()
        shutil.rmtree(base, ignore_errors=True)


def talk(port: int, *lines: str, timeout: float = 2.0) -> list[str]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rw")
        replies = []
        for line in lines:
            f.write(line + "\n")
            f.flush()
            replies.append(f.readline().rstrip("\n"))
        return replies


# ---- systemctl ------------------------------------------------------------------------


def test_start_stop_show_is_active_lifecycle(lab: Lab) -> None:
    (unit,) = lab.show("sleeper")
    assert unit.unit == "sleeper.service" and unit.load_state == "loaded"
    assert unit.active == UnitActiveState.parse("inactive") and unit.main_pid is None and unit.active_since is None
    t0 = time.monotonic()
    assert lab.sc("start", "sleeper.service").returncode == 0
    assert time.monotonic() - t0 < 1.5  # 0.1 s settle + one interpreter start
    (unit,) = lab.show("sleeper.service")
    assert unit.active == UnitActiveState.parse("active") and unit.sub_state == "running"
    assert unit.main_pid and Path(f"/proc/{unit.main_pid}").exists() and unit.active_since.endswith(" UTC")
    assert lab.sc("start", "sleeper").returncode == 0  # already running: no-op, same process
    assert lab.show("sleeper")[0].main_pid == unit.main_pid
    out = lab.sc("is-active", "sleeper")
    assert (out.returncode, out.stdout) == (0, "active\n")
    assert lab.sc("show", "-p", "MainPID", "--value", "sleeper").stdout == f"{unit.main_pid}\n"
    status = lab.sc("status", "sleeper")
    assert status.returncode == 0 and "Active: active (running) since" in status.stdout
    assert f"Main PID: {unit.main_pid} (sleep)" in status.stdout
    assert lab.sc("stop", "sleeper").returncode == 0
    wait_until(lambda: not Path(f"/proc/{unit.main_pid}/cmdline").exists()
               or not Path(f"/proc/{unit.main_pid}/cmdline").read_bytes(), 2, "the process to go")
    (after,) = lab.show("sleeper")
    assert after.active == UnitActiveState.parse("inactive") and after.sub_state == "dead" and after.main_pid is None
    assert after.active_since == unit.active_since  # kept after stop, as systemd does
    out = lab.sc("is-active", "sleeper")
    assert (out.returncode, out.stdout) == (3, "inactive\n")
    assert lab.sc("stop", "sleeper").returncode == 0  # already stopped


def test_failing_program_start_fails_with_systemd_message(lab: Lab) -> None:
    out = lab.sc("start", "bad")
    assert out.returncode == 1
    assert out.stderr == ('Job for bad.service failed because the control process exited with error code.\n'
                          'See "systemctl status bad.service" and "journalctl -xeu bad.service" for details.\n')
    (unit,) = lab.show("bad")
    assert unit.active == UnitActiveState.parse("failed") and unit.sub_state == "failed"
    assert lab.sc("is-active", "bad").stdout == "failed\n"
    status = lab.sc("status", "bad")
    assert status.returncode == 3 and "Active: failed (Result: exit-code)" in status.stdout and "boom" in status.stdout
    assert lab.sc("reset-failed", "bad").returncode == 0
    assert lab.sc("is-active", "bad").stdout == "inactive\n"


def test_unknown_unit_messages_and_exit_codes(lab: Lab) -> None:
    out = lab.sc("start", "x")
    assert (out.returncode, out.stderr) == (5, "Failed to start x.service: Unit x.service not found.\n")
    out = lab.sc("stop", "x.service")
    assert (out.returncode, out.stderr) == (5, "Failed to stop x.service: Unit x.service not loaded.\n")
    out = lab.sc("status", "x")
    assert (out.returncode, out.stderr) == (4, "Unit x.service could not be found.\n")
    out = lab.sc("is-active", "x")
    assert (out.returncode, out.stdout) == (3, "inactive\n")
    (unit,) = lab.show("x")
    assert unit.load_state == "not-found" and unit.main_pid is None


def test_death_by_signal_is_failed_pid_file_daemon_and_concurrent_starts(lab: Lab) -> None:
    procs = [subprocess.Popen([PY, "-m", "hatui.lab.node.systemctl", "start", "selfpid"], env=lab.environ, cwd=ROOT)
             for _ in range(4)]
    assert [p.wait(20) for p in procs] == [0, 0, 0, 0]
    (unit,) = lab.show("selfpid")
    assert unit.main_pid == int((lab.base / "self.pid").read_text())  # tracked from the daemon's pid file
    running = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == "sleep 62.5"]
    assert len(running) == 1  # the per-unit lock: four starts, one process
    os.kill(unit.main_pid, signal.SIGKILL)  # dies on its own, not through stop
    wait_until(lambda: lab.show("selfpid")[0].active == UnitActiveState.parse("failed"), 3, "failed")
    assert lab.sc("start", "selfpid").returncode == 0  # a failed unit starts again
    (again,) = lab.show("selfpid")
    assert again.main_pid != unit.main_pid
    os.kill(again.main_pid, signal.SIGTERM)  # SIGTERM is a clean exit for systemd: inactive, not failed
    wait_until(lambda: lab.show("selfpid")[0].active == UnitActiveState.parse("inactive"), 3, "inactive")


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


# ---- NFS stand-in and exportfs -----------------------------------------------------------


def test_nfs_standin_acks_only_after_the_api_and_reads_files(lab: Lab) -> None:
    assert lab.cmd("hatui.lab.node.exportfs", "-v").stdout == ""
    t0 = time.monotonic()
    out = lab.sc("start", NFS)
    assert out.returncode == 0, out.stderr + (lab.run_dir / "log" / f"{NFS}.log").read_text()
    assert time.monotonic() - t0 < 2.0
    exports = parse_exportfs(lab.cmd("hatui.lab.node.exportfs", "-v").stdout)
    assert [e.path for e in exports.exports] == [str(lab.mnt)] and exports.exports[0].client == "*"
    assert lab.cmd("hatui.lab.node.exportfs", "-ra").returncode == 0
    socket.create_connection(("127.0.0.1", lab.port), timeout=1).close()  # nc -z: harmless
    assert talk(lab.port, "PING", "COUNT", "FOO") == ["PONG", "0", "ERR unknown command"]

    lab.drbd.gate.clear()  # replication in flight: no ack yet
    with socket.create_connection(("127.0.0.1", lab.port), timeout=2) as s:
        s.sendall(b"WRITE rec-000007 seq=7,t=1\n")
        s.settimeout(0.3)
        with pytest.raises(socket.timeout):
            s.recv(100)
        assert not (lab.mnt / "rec-000007").exists()
        lab.drbd.gate.set()
        s.settimeout(2)
        assert s.recv(100) == b"OK rec-000007\n"
    assert lab.drbd.store["rec-000007"] == "seq=7,t=1"
    assert talk(lab.port, "READ rec-000007", "READ rec-000008", "COUNT", "READ ../x") == [
        "VALUE seq=7,t=1", "NONE", "1", "ERR bad key '../x'"]
    (lab.mnt / "rec-000009").write_text("from the file")  # READ serves the file, not the API
    assert talk(lab.port, "READ rec-000009") == ["VALUE from the file"]
    lab.drbd.fail = True
    assert talk(lab.port, "WRITE rec-000010 v")[0].startswith("ERR r0: State change failed")

    assert lab.sc("stop", NFS).returncode == 0
    assert lab.cmd("hatui.lab.node.exportfs", "-v").stdout == ""
    assert not (lab.run_dir / "nfs.ready").exists() and not (lab.run_dir / "nfs-exports").exists()
    with pytest.raises(OSError):
        talk(lab.port, "PING")


def test_nfs_standin_needs_the_mount_and_fails_when_it_goes(lab: Lab) -> None:
    lab.mnt.rename(lab.base / "unmounted")
    out = lab.sc("start", NFS)
    assert out.returncode == 1 and out.stderr.startswith(f"Job for {NFS} failed")
    assert "is not a mount point" in (lab.run_dir / "log" / f"{NFS}.log").read_text()
    (lab.base / "unmounted").rename(lab.mnt)
    assert lab.sc("start", NFS).returncode == 0
    lab.mnt.rename(lab.base / "unmounted")  # the filesystem disappears under the running server
    wait_until(lambda: lab.show(NFS)[0].active == UnitActiveState.parse("failed"), 3, "nfs failed")
    assert lab.cmd("hatui.lab.node.exportfs", "-v").stdout == ""


def test_dag_standin_heartbeats_and_counts_records(lab: Lab) -> None:
    (lab.mnt / "rec-000001").write_text("x")
    (lab.mnt / "rec-000002").write_text("x")
    assert lab.sc("start", DAG).returncode == 0
    wait_until(lambda: lab.drbd.store.get("dag-processed") == "2", 3, "dag-processed")
    first = float(lab.drbd.store["dag-heartbeat"])
    assert abs(first - time.time()) < 2
    wait_until(lambda: float(lab.drbd.store["dag-heartbeat"]) > first, 3, "a second heartbeat")
    t0 = time.monotonic()
    assert lab.sc("stop", DAG).returncode == 0
    assert time.monotonic() - t0 < 1.0  # SIGTERM ends it at once, not at the next tick
    assert lab.show(DAG)[0].active == UnitActiveState.parse("inactive")


# ---- client ------------------------------------------------------------------------------------


def test_client_acks_outage_window_and_verify_finds_a_lost_record(lab: Lab) -> None:
    assert lab.sc("start", NFS).returncode == 0
    out_file = lab.base / "client.jsonl"
    client = subprocess.Popen([PY, "-m", "hatui.lab.host.client", "--target", f"127.0.0.1:{lab.port}", "--interval",
                               "0.02", "--out", str(out_file)], env=lab.environ, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        def events(kind: str) -> list[dict]:
            lines = out_file.read_text().splitlines() if out_file.exists() else []
            return [d for d in map(json.loads, lines) if d["event"] == kind]

        wait_until(lambda: len(events("ack")) >= 5, 5, "first acks")
        stop_called = time.time()
        assert lab.sc("stop", NFS).returncode == 0
        time.sleep(0.6)
        start_called = time.time()
        assert lab.sc("start", NFS).returncode == 0
        wait_until(lambda: events("outage"), 5, "the outage to end")
        acked_before = len(events("ack"))
        wait_until(lambda: len(events("ack")) >= acked_before + 5, 5, "acks after the outage")
        client.send_signal(signal.SIGTERM)
        assert client.wait(5) == 0
    finally:
        if client.poll() is None:
            client.kill()
    (outage,) = events("outage")
    assert stop_called < outage["start"] < start_called < outage["end"]
    assert 0.5 < outage["seconds"] < 3 and outage["failed_attempts"] >= 1
    acks = [d["seq"] for d in events("ack")]
    assert acks == list(range(1, len(acks) + 1))  # no gaps: a failed record is retried with its number
    (summary,) = events("summary")
    assert summary["acked"] == len(acks) and summary["last_seq"] == acks[-1]
    assert summary["max_outage"] == outage["seconds"] and len(summary["outages"]) == 1

    verify = [PY, "-m", "hatui.lab.host.client", "--target", f"127.0.0.1:{lab.port}", "--verify", str(out_file)]
    ok = subprocess.run(verify, env=lab.environ, cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert ok.returncode == 0 and json.loads(ok.stdout) == {"event": "verify", "acked": len(acks), "lost": [],
                                                            "ok": True}
    (lab.mnt / "rec-000003").unlink()
    bad = subprocess.run(verify, env=lab.environ, cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert bad.returncode == 1 and json.loads(bad.stdout)["lost"] == [3]


def test_client_probe_says_whether_a_write_gets_through_now(lab: Lab) -> None:
    probe = [PY, "-m", "hatui.lab.host.client", "--target", f"127.0.0.1:{lab.port}", "--probe", "0.5"]
    down = subprocess.run(probe, env=lab.environ, cwd=ROOT, capture_output=True, text=True, timeout=20)
    doc = json.loads(down.stdout)
    assert down.returncode == 1 and doc["ok"] is False and doc["attempts"] >= 2 and 0.5 <= doc["seconds"] < 2
    assert lab.sc("start", NFS).returncode == 0
    up = subprocess.run(probe, env=lab.environ, cwd=ROOT, capture_output=True, text=True, timeout=20)
    doc = json.loads(up.stdout)
    assert up.returncode == 0 and doc["ok"] is True and doc["attempts"] == 1
    assert lab.drbd.store["probe-0"].startswith("t=")
