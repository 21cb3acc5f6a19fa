"""The lab node's resident answerer and the stand-in wrappers that ask it (no root).

The answerer runs as a real process against temporary folders (``$HATUI_LAB_ETC``/``$HATUI_LAB_RUN``),
the wrappers are the ones the lab writes, run by a real ``sh`` with the real ``nc``; a small unix-socket
thread stands in for the DRBD emulator's ``cmd`` requests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from hatui.lab.host.node_setup import ANSWERED, write_wrappers
from hatui.lab.node.answerer import END, reply_script, socket_path, taken
from hatui.lab.node_env import NodeEnv, UnitSpec
from tests import REPO

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(shutil.which("nc") is None, reason="needs nc (netcat-openbsd)")]

PY = sys.executable
# What the fake DRBD emulator prints for `drbdadm status`: quotes, $, backslashes and a missing final
# newline must come through the sh reply exactly.
ODD = "r0 role:Primary 'quoted' \"double\" $HOME `uname` \\n\n  disk:UpToDate"


class FakeDrbd(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.requests: list[dict] = []
        super().__init__(path, _Handler)


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        req = json.loads(self.rfile.readline())
        self.server.requests.append(req)  # type: ignore[attr-defined]
        verb = [a for a in req["argv"][1:] if not a.startswith("-")][0]
        reply = {"rc": 0, "stdout": ODD, "stderr": ""} if verb == "status" else \
            {"rc": 10, "stdout": "", "stderr": "r0: no such thing\n"}
        self.wfile.write(json.dumps(reply).encode() + b"\n")


class Node:
    def __init__(self, base: Path) -> None:
        self.etc, self.run_dir, self.bin = base / "etc", base / "run", base / "bin"
        self.etc.mkdir()
        self.run_dir.mkdir()
        units = {"sleeper.service": UnitSpec(argv=("sleep", "61.5"), description="Sleeper")}
        self.env = NodeEnv(node="vm2", peer="vm12", nodes=("vm2", "vm12"), mount_point=str(base / "mnt"),
                           exports=("/srv/ha",), nfs_port=1, units=units, etc_dir=str(self.etc),
                           run_dir=str(self.run_dir))
        self.env.write(self.etc)
        write_wrappers(self.bin)
        self.environ = {**os.environ, "HATUI_LAB_ETC": str(self.etc), "HATUI_LAB_RUN": str(self.run_dir),
                        "PYTHONPATH": str(REPO)}
        self.drbd = FakeDrbd(self.env.drbd_socket)
        threading.Thread(target=self.drbd.serve_forever, daemon=True).start()
        self.proc: subprocess.Popen | None = None

    def start_answerer(self) -> None:
        self.proc = subprocess.Popen([PY, "-m", "hatui.lab.node.answerer"], env=self.environ, cwd=REPO,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path(str(self.run_dir))):
            assert time.monotonic() < deadline, "the answerer did not listen"
            time.sleep(0.02)

    def stop_answerer(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def wrapper(self, name: str, *args: str, answered_only: bool = False) -> tuple[str, str, int]:
        """Run the lab's wrapper; ``answered_only``: the same script with its program start replaced by
        a failure, so only the answerer's reply can produce the output."""
        path = self.bin / name
        if answered_only:
            text = path.read_text()
            lines = [ln if not ln.startswith("PYTHONPATH=") else "echo NOT-ANSWERED >&2; exit 99"
                     for ln in text.splitlines()]
            path = self.bin / f"{name}.only"
            path.write_text("\n".join(lines) + "\n")
        out = subprocess.run(["sh", str(path), *args], env=self.environ, capture_output=True, text=True, timeout=20)
        return out.stdout, out.stderr, out.returncode

    def program(self, module: str, *args: str) -> tuple[str, str, int]:
        out = subprocess.run([PY, "-m", module, *args], env=self.environ, cwd=REPO, capture_output=True,
                             text=True, timeout=20)
        return out.stdout, out.stderr, out.returncode

    def ask(self, *argv: str) -> bytes:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(socket_path(str(self.run_dir)))
            s.sendall(b"".join(a.encode() + b"\0" for a in argv))
            s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            return data

    def close(self) -> None:
        self.stop_answerer()
        self.drbd.shutdown()
        self.drbd.server_close()


@pytest.fixture
def node():
    base = Path(tempfile.mkdtemp(prefix="ha-", dir="/tmp"))  # short: unix socket paths are limited to 108 bytes
    n = Node(base)
    try:
        yield n
    finally:
        n.close()
        shutil.rmtree(base, ignore_errors=True)


PROPS = "Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp"
READ_CALLS = [
    ("systemctl", "hatui.lab.node.systemctl", ("show", "-p", PROPS, "sleeper.service", "nope.service")),
    ("systemctl", "hatui.lab.node.systemctl", ("is-active", "sleeper")),
    ("systemctl", "hatui.lab.node.systemctl", ("status", "nope")),
    ("exportfs", "hatui.lab.node.exportfs", ("-v",)),
    ("exportfs", "hatui.lab.node.exportfs", ()),
]


def test_read_only_calls_are_answered_exactly_as_the_program_answers(node: Node) -> None:
    node.start_answerer()
    for name, module, args in READ_CALLS:
        answered = node.wrapper(name, *args, answered_only=True)
        assert "NOT-ANSWERED" not in answered[1], (name, args)
        assert answered == node.program(module, *args), (name, args)
        assert node.wrapper(name, *args) == answered


def test_drbd_reads_are_forwarded_to_the_emulator_byte_for_byte(node: Node) -> None:
    node.start_answerer()
    assert node.wrapper("drbdadm", "status", "r0", answered_only=True) == (ODD, "", 0)
    assert node.wrapper("drbdsetup", "show", "r0", answered_only=True) == ("", "r0: no such thing\n", 10)
    assert node.wrapper("drbdsetup", "events2", "--now", "all", answered_only=True)[2] == 10
    assert [r["argv"] for r in node.drbd.requests] == [["drbdadm", "status", "r0"], ["drbdsetup", "show", "r0"],
                                                       ["drbdsetup", "events2", "--now", "all"]]
    assert all(r["op"] == "cmd" for r in node.drbd.requests)


def test_calls_that_change_anything_or_follow_are_never_taken(node: Node) -> None:
    node.start_answerer()
    for argv in (["drbdadm", "primary", "r0"], ["drbdadm", "secondary", "r0"], ["drbdsetup", "events2", "all"],
                 ["systemctl", "start", "sleeper"], ["systemctl", "stop", "sleeper"], ["exportfs", "-ra"],
                 ["mount", "/srv/ha"], ["true"]):
        assert not taken(argv), argv
        assert node.ask(*argv) == b"", argv
    assert node.drbd.requests == []
    # The wrapper then runs the program itself.
    assert node.wrapper("systemctl", "start", "nosuch") == \
        node.program("hatui.lab.node.systemctl", "start", "nosuch")


def test_without_an_answerer_the_programs_answer(node: Node) -> None:
    node.start_answerer()
    node.stop_answerer()  # its socket file stays behind, as after a kill -9
    for name, module, args in READ_CALLS:
        assert node.wrapper(name, *args) == node.program(module, *args)
    node.drbd.shutdown()
    node.drbd.server_close()
    os.unlink(node.env.drbd_socket)
    out, err, rc = node.wrapper("drbdadm", "status", "r0")  # no emulator: DRBD's own "no module" error
    assert rc == 20 and "Could not connect to 'drbd' generic netlink family" in err


def test_an_emulator_that_is_gone_is_left_to_the_program(node: Node) -> None:
    node.drbd.shutdown()
    node.drbd.server_close()
    os.unlink(node.env.drbd_socket)
    node.start_answerer()
    assert node.ask("drbdsetup", "status", "--json") == b""
    assert node.wrapper("drbdsetup", "status", "--json")[2] == 20


def test_a_reply_cut_short_is_not_printed(node: Node, tmp_path: Path) -> None:
    """A reply without its end marker (the answerer died while writing) is dropped whole."""
    path = socket_path(str(node.run_dir))
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()

        def half_answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"printf '%s' 'half of it'\n")

        threading.Thread(target=half_answer, daemon=True).start()
        out, err, rc = node.wrapper("exportfs", "-v")
    assert "half of it" not in out and (out, err, rc) == node.program("hatui.lab.node.exportfs", "-v")


def test_reply_script_round_trips_any_text_through_sh() -> None:
    for out, err, rc in ((ODD, "warn'\n", 3), ("", "", 0), ("a\n\n", "", 1), ("ünïcode ✓\n", "\t", 0)):
        script = reply_script((out, err, rc)).decode()
        assert script.rstrip("\n").endswith(END)
        done = subprocess.run(["sh", "-c", f'_a=$(cat); eval "$_a"'], input=script, capture_output=True, text=True)
        assert (done.stdout, done.stderr, done.returncode) == (out, err, rc)


def test_every_answered_stand_in_asks_and_the_others_do_not(node: Node) -> None:
    for name in ("drbdadm", "drbdsetup", "systemctl", "exportfs", "mount", "umount"):
        text = (node.bin / name).read_text()
        assert ("answer.sock" in text) == (name in ANSWERED), name
