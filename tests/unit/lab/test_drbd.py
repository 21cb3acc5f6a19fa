"""The lab's DRBD emulator: two real daemons on 127.0.0.1, replicating over TCP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from hatui.lab.drbd.api import DrbdApiError, request
from hatui.lab.node_env import NodeEnv
from hatui.probes.drbd import parse_drbd_json
from tests import REPO

ROOT = REPO
NAMES = ("alpha", "beta")
BLOCK_KIB = 4096
PING_TIMEOUT = 1.0  # generous: the machine may be busy with other tests

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, base: Path, name: str, peer: str, ports: dict[str, int], *,
                 sync_blocks_s: float = 4) -> None:
        self.name = name
        self.etc, self.run, self.disk = base / name / "etc", base / name / "run", base / name / "disk"
        self.etc.mkdir(parents=True)
        self.env = NodeEnv(node=name, peer=peer, nodes=NAMES, repl_listen=f"127.0.0.1:{ports[name]}",
                           repl_peer=f"127.0.0.1:{ports[peer]}", disk_dir=str(self.disk),
                           mount_point="/srv/ha", sync_rate_kib_s=sync_blocks_s * BLOCK_KIB, run_dir=str(self.run))
        self.env.write(self.etc)
        self.envvars = {**os.environ, "HATUI_LAB_ETC": str(self.etc), "HATUI_LAB_RUN": str(self.run),
                        "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen | None = None
        self.log = base / name / "daemon.log"

    @property
    def socket(self) -> str:
        return str(self.run / "drbd.sock")

    def start(self) -> None:
        if os.path.exists(self.socket):
            os.unlink(self.socket)  # what a kill -9 leaves behind
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hatui.lab.drbd.daemon", "--ping-interval", "0.1", "--ping-timeout",
             str(PING_TIMEOUT), "--connect-retry", "0.2"],
            env=self.envvars, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        wait_for(lambda: os.path.exists(self.socket), what=f"{self.name} socket")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def api(self, **req: Any) -> dict:
        return request(self.socket, req, timeout=5)

    def cmd(self, *argv: str) -> dict:
        return self.api(op="cmd", argv=list(argv))

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hatui.lab.drbd.cli", *args], env=self.envvars, cwd=ROOT,
                              capture_output=True, text=True, timeout=10)

    def me(self) -> dict:
        return self.api(op="state")["nodes"][self.name]

    def status(self) -> Any:
        out = self.cmd("drbdsetup", "status", "--json", "r0")
        assert out["rc"] == 0, out
        return parse_drbd_json(out["stdout"]).resources[0]

    def disk_file(self, key: str) -> str | None:
        path = self.disk / "data" / key
        return path.read_text() if path.exists() else None


def wait_for(pred: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = pred()
        except (OSError, ValueError, KeyError, DrbdApiError):  # a daemon still starting refuses: not yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.03)


def conn(node: Node) -> str:
    return node.me()["connection"]


def in_sync(a: Node, b: Node) -> bool:
    sa, sb = a.me(), b.me()
    return (sa["connection"] == sb["connection"] == "Connected" and sa["replication"] == "Established"
            and sa["disk"] == sb["disk"] == "UpToDate" and sb["replication"] == "Established")


def _pair(tmp_path: Path, sync_blocks_s: float):
    ports = {n: _free_port() for n in NAMES}
    a = Node(tmp_path, "alpha", "beta", ports, sync_blocks_s=sync_blocks_s)
    b = Node(tmp_path, "beta", "alpha", ports, sync_blocks_s=sync_blocks_s)
    try:
        a.start()
        b.start()
        wait_for(lambda: in_sync(a, b), what="initial connect")
        yield a, b
    finally:
        for node in (a, b):
            node.stop(signal.SIGKILL)


@pytest.fixture
def pair(tmp_path: Path):
    yield from _pair(tmp_path, 4)


@pytest.fixture
def fast_pair(tmp_path: Path):
    """Resync so fast that a small one begins and ends within the handshake's own tick (the lab's
    400 MiB/s does that for a few keys whenever the last tick was a few ms ago; here always)."""
    yield from _pair(tmp_path, 1_000_000)


def verified(coordinator: Node) -> dict:
    return coordinator.api(op="state")["verified"]


def same_disks(a: Node, b: Node) -> bool:
    ba, bb = a.me()["blocks"], b.me()["blocks"]
    on_disk = {n.name: {p.relative_to(n.disk / "data").as_posix(): p.read_text()
                        for p in (n.disk / "data").rglob("*") if p.is_file()} for n in (a, b)}
    return ba == bb == on_disk["alpha"] == on_disk["beta"]


def test_fresh_pair_connects_in_sync_and_parses_with_hatuis_parser(pair) -> None:
    a, b = pair
    for node, peer in ((a, b), (b, a)):
        res = node.status()
        assert res.role.value == "Secondary"
        assert res.devices[0].disk.value == "UpToDate"
        c = res.connections[0]
        assert (c.peer, c.connection.value, c.peer_role.value) == (peer.name, "Connected", "Secondary")
        assert c.peer_devices[0].replication.value == "Established"
        assert c.peer_devices[0].peer_disk.value == "UpToDate"
    text = a.cli("drbdadm", "status", "r0")
    assert text.returncode == 0 and text.stdout.startswith("r0 role:Secondary\n")
    assert "beta role:Secondary" in text.stdout
    events = b.cli("drbdsetup", "events2", "--now", "--statistics")
    assert events.stdout.rstrip().endswith("exists -")
    assert (a.disk / "drbd-meta.json").exists()


def test_multiple_primaries_refused_and_protocol_c_write(pair) -> None:
    a, b = pair
    assert a.cli("drbdadm", "primary", "r0").returncode == 0
    refused = b.cli("drbdadm", "primary", "r0")
    assert refused.returncode == 11
    assert "(-1) Multiple primaries not allowed by config" in refused.stderr
    # Protocol C: acknowledged on the Primary means on the peer's disk.
    for i in range(5):
        assert a.api(op="write", key=f"export/rec-{i}", value=f"v{i}") == {"rc": 0}
        assert b.disk_file(f"export/rec-{i}") == f"v{i}"
    assert a.disk_file("export/rec-4") == "v4"
    assert b.api(op="read", key="export/rec-3")["value"] == "v3"
    bad = b.api(op="write", key="x", value="y")
    assert bad["rc"] == 1 and "Wrong medium type" in bad["stderr"]
    # The follower as Primary: its write is forwarded and on the coordinator's disk when acked.
    assert a.cmd("drbdadm", "secondary", "r0")["rc"] == 0
    assert b.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert b.api(op="write", key="from-beta", value="b1") == {"rc": 0}
    assert a.disk_file("from-beta") == "b1" and b.disk_file("from-beta") == "b1"
    assert a.status().connections[0].peer_role.value == "Primary"


def test_secondary_while_open_is_refused(pair) -> None:
    a, b = pair
    refused = b.api(op="open")
    assert refused["rc"] == 32 and refused["stderr"] == (
        "mount: /srv/ha: mount(2) system call failed: Wrong medium type.\n")
    for node in (b, a):  # the follower (forwarded) and the coordinator
        assert node.cmd("drbdadm", "primary", "r0")["rc"] == 0
        assert node.api(op="open")["rc"] == 0
        out = node.cli("drbdadm", "secondary", "r0")
        assert out.returncode == 11 and "(-12) Device is held open by someone" in out.stderr
        assert node.api(op="close")["rc"] == 0
        assert node.cmd("drbdadm", "secondary", "r0")["rc"] == 0


def test_link_loss_tracks_out_of_sync_then_resyncs(pair) -> None:
    a, b = pair
    assert b.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert b.api(op="write", key="before", value="1") == {"rc": 0}
    assert a.api(op="fault", kind="block") == {"rc": 0}
    wait_for(lambda: conn(a) != "Connected" and conn(b) != "Connected", what="both lose the connection")
    for i in range(3):
        assert b.api(op="write", key=f"late/{i}", value=f"late {i}") == {"rc": 0}
    pd = b.status().connections[0].peer_devices[0]
    assert pd.out_of_sync_kib == 3 * BLOCK_KIB and pd.replication.value == "Off"
    assert b.status().connections[0].connection.value in ("Connecting", "Unconnected")
    assert a.disk_file("late/0") is None
    assert a.api(op="fault", kind="unblock") == {"rc": 0}
    seen = wait_for(lambda: (r := a.status().connections[0].peer_devices[0]).replication.value == "SyncTarget"
                    and r, what="SyncTarget")
    first = seen.sync_percent
    assert b.status().connections[0].peer_devices[0].replication.value in ("SyncSource", "Established")
    assert a.me()["disk"] == "Inconsistent"
    wait_for(lambda: a.status().connections[0].peer_devices[0].sync_percent > first
             or in_sync(a, b), what="resync progress")
    wait_for(lambda: in_sync(a, b), what="resync done")
    for i in range(3):
        assert a.disk_file(f"late/{i}") == f"late {i}"
    assert a.me()["blocks"] == b.me()["blocks"]


def test_split_brain_and_its_resolution(pair) -> None:
    a, b = pair
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert a.api(op="write", key="shared", value="base") == {"rc": 0}
    assert b.api(op="fault", kind="block") == {"rc": 0}
    wait_for(lambda: conn(a) != "Connected" and conn(b) != "Connected", what="link loss")
    assert b.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert a.api(op="write", key="survivor", value="a") == {"rc": 0}
    assert b.api(op="write", key="victim", value="b") == {"rc": 0}
    assert b.api(op="write", key="shared", value="overwritten on beta") == {"rc": 0}
    assert b.api(op="fault", kind="unblock") == {"rc": 0}
    wait_for(lambda: conn(a) == "StandAlone" and conn(b) == "StandAlone", what="split brain")
    time.sleep(1.5 * PING_TIMEOUT)  # reachable over TCP but StandAlone: never auto-connected
    assert conn(a) == conn(b) == "StandAlone"
    # Resolve: beta is the victim.
    for argv in (("disconnect",), ("secondary",), ("connect", "--discard-my-data")):
        assert b.cmd("drbdadm", *argv, "r0")["rc"] == 0, argv
    assert a.cmd("drbdadm", "disconnect", "r0")["rc"] == 0
    assert a.cmd("drbdadm", "connect", "r0")["rc"] == 0
    wait_for(lambda: in_sync(a, b), what="resolved and resynced")
    assert b.disk_file("victim") is None and b.api(op="read", key="victim")["value"] is None
    assert b.disk_file("survivor") == "a" and b.disk_file("shared") == "base"
    assert a.me()["role"] == "Primary" and b.me()["role"] == "Secondary"


def test_killed_daemon_comes_back_secondary_and_resyncs(pair) -> None:
    a, b = pair
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert a.api(op="write", key="k1", value="one") == {"rc": 0}
    b.stop(signal.SIGKILL)
    wait_for(lambda: conn(a) != "Connected", what="a notices")
    assert a.api(op="write", key="k2", value="two") == {"rc": 0}
    assert a.me()["out_of_sync_kib"] == BLOCK_KIB
    b.start()
    assert b.me()["role"] == "Secondary" and b.api(op="read", key="k1")["value"] == "one"
    wait_for(lambda: in_sync(a, b), what="resync after restart")
    assert b.disk_file("k2") == "two"
    # The coordinator restarts too (kill -9): it comes back Secondary and reconnects in sync.
    a.stop(signal.SIGKILL)
    a.start()
    wait_for(lambda: in_sync(a, b), what="coordinator back")
    assert a.me()["role"] == "Secondary" and a.me()["blocks"]["k2"] == "two"


def test_bad_requests_and_clean_shutdown(pair) -> None:
    a, b = pair
    assert a.api(op="nope")["rc"] == 1
    assert a.api(op="write", key="../etc", value="x")["rc"] == 1
    assert a.cmd("drbdadm", "status", "r9")["rc"] == 10
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(a.socket)
        s.sendall(b"not json\n")
        assert json.loads(s.recv(4096))["rc"] == 1
    assert in_sync(a, b)
    b.stop(signal.SIGTERM)
    assert b.proc.returncode == 0 and not os.path.exists(b.socket)
    out = b.cli("drbdsetup", "status", "--json")
    assert out.returncode == 20 and "generic netlink family" in out.stderr
    assert b.cli("drbdadm", "status").returncode == 20


@pytest.mark.parametrize("frozen", ["beta", "alpha"])
def test_silent_peer_is_lost_by_ping_timeout_and_write_is_acked_out_of_sync(pair, frozen: str) -> None:
    """No fault op: a peer that stops answering (SIGSTOP, like `ip link set down`) times out."""
    a, b = pair
    primary, stopped = (a, b) if frozen == "beta" else (b, a)
    assert primary.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert primary.api(op="write", key="k0", value="0") == {"rc": 0}
    assert stopped.proc is not None
    stopped.proc.send_signal(signal.SIGSTOP)
    try:
        # Protocol C: the write waits for the peer, then the connection is declared lost.
        assert primary.api(op="write", key="k1", value="1") == {"rc": 0}
        me = primary.me()
        assert me["connection"] != "Connected" and "k1" in me["out_of_sync"]
    finally:
        stopped.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: in_sync(a, b), what="reconnect and resync")
    assert stopped.disk_file("k1") == "1" and a.me()["blocks"] == b.me()["blocks"]


def _cut(a: Node, b: Node) -> None:
    """The link silently loses everything (as `ip link set eth1 down`): both notice by ping timeout."""
    assert a.api(op="fault", kind="cut") == {"rc": 0}
    wait_for(lambda: conn(a) != "Connected" and conn(b) != "Connected", what="both notice the cut")


def _settled(a: Node, b: Node, before: int) -> int:
    """In sync, and a new invariant check passed (digests equal), none failed: the checks so far."""
    wait_for(lambda: in_sync(a, b) and verified(a)["ok"] > before, what="in sync and verified")
    checks = verified(a)
    assert checks["failed"] == 0
    assert same_disks(a, b)
    return checks["ok"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("victim", ["beta", "alpha"])
def test_small_resync_that_ends_in_the_handshake_tick_still_reaches_the_follower(fast_pair, victim) -> None:
    """Regression: the follower's diff base was taken after the handshake's tick, which had already
    run a small resync to its end, so the push carried none of the resynced blocks: the follower
    was UpToDate without them (seen in the lab as a split brain victim lacking the survivor's write)."""
    a, b = fast_pair
    checks = _settled(a, b, 0)  # the first handshake (fresh pair) is checked too
    survivor, loser = (a, b) if victim == "beta" else (b, a)
    assert survivor.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert survivor.api(op="write", key="base", value="0") == {"rc": 0}
    # A cut with writes, healed: resync survivor -> peer.
    _cut(a, b)
    for i in range(3):
        assert survivor.api(op="write", key=f"cut-{i}", value=f"c{i}") == {"rc": 0}
    assert a.api(op="fault", kind="heal") == {"rc": 0}
    checks = _settled(a, b, checks)
    assert loser.disk_file("cut-2") == "c2"
    # The lab's split brain, resolved with the victim's changes discarded.
    _split_brain(a, b, survivor, loser)
    _resolve(survivor, loser)
    _settled(a, b, checks)
    for node in (a, b):
        assert node.api(op="read", key=f"split-{survivor.name}")["value"] == "T", node.name
        assert node.api(op="read", key=f"split-{loser.name}")["value"] is None, node.name
        assert node.api(op="read", key="base")["value"] == "0", node.name
    assert "VERIFY FAILED" not in a.log.read_text()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("tampered", ["beta", "alpha"])
def test_disks_that_differ_behind_drbds_back_are_found_by_the_verify_and_resynced(pair, tampered) -> None:
    """The invariant check: a handshake that finds the pair in sync has the disks compared (a
    digest in the follower's ack); a difference is logged loudly and exactly those keys resync."""
    a, b = pair
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    for i in range(3):
        assert a.api(op="write", key=f"k{i}", value=f"v{i}") == {"rc": 0}
    assert a.cmd("drbdadm", "secondary", "r0")["rc"] == 0
    for node in (a, b):
        node.stop(signal.SIGTERM)
    bad, good = (b, a) if tampered == "beta" else (a, b)
    (bad.disk / "data" / "k0").write_text("bit rot")
    (bad.disk / "data" / "k1").unlink()
    (bad.disk / "data" / "stray").write_text("written behind DRBD's back")
    # Both come back in sync by their metadata. The good side is up first and Primary: after a
    # handshake the Primary is the side that is right.
    good.start()
    assert good.cmd("drbdadm", "primary", "r0")["rc"] == 0
    bad.start()
    wait_for(lambda: verified(a)["failed"] == 1, what="the verify finds the difference")
    wait_for(lambda: in_sync(a, b) and verified(a)["ok"] == 1, what="resynced and verified")
    assert verified(a) == {"ok": 1, "failed": 1}
    assert same_disks(a, b)
    assert [bad.disk_file(k) for k in ("k0", "k1", "k2", "stray")] == ["v0", "v1", "v2", None]
    text = a.log.read_text()
    assert "VERIFY FAILED after handshake" in text and "3 keys differ (e.g. k0, k1, stray)" in text
    assert f"resyncing them {good.name} -> {bad.name}" in text


def _split_brain(a: Node, b: Node, survivor: Node, loser: Node) -> None:
    """Both sides write while cut (the loser also overwrites ``base``); healed: split brain."""
    _cut(a, b)
    assert loser.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert loser.api(op="write", key=f"split-{loser.name}", value="T") == {"rc": 0}
    assert loser.api(op="write", key="base", value="victim's") == {"rc": 0}
    assert survivor.api(op="write", key=f"split-{survivor.name}", value="T") == {"rc": 0}
    assert a.api(op="fault", kind="heal") == {"rc": 0}
    wait_for(lambda: conn(a) == "StandAlone" and conn(b) == "StandAlone", what="split brain")


def _resolve(survivor: Node, loser: Node) -> None:
    for argv in (("disconnect",), ("secondary",), ("connect", "--discard-my-data")):
        assert loser.cmd("drbdadm", *argv, "r0")["rc"] == 0, argv
    assert survivor.cmd("drbdadm", "disconnect", "r0")["rc"] == 0
    assert survivor.cmd("drbdadm", "connect", "r0")["rc"] == 0


@pytest.mark.timeout(40)
@pytest.mark.parametrize("fixture", ["fast_pair", "pair"])
@pytest.mark.parametrize("survivor_name, write_after", [("alpha", False), ("alpha", True), ("beta", True)])
def test_lost_push_that_ends_the_split_brain_resync_never_loses_the_survivors_writes(
        request, fixture, survivor_name, write_after) -> None:
    """Regression: the coordinator took the pair's new sync point (and cleared its bitmap) when it
    *sent* the push that ended the split brain's resync. That push lost and the cut noticed, the
    next handshake compared the follower's own records with the coordinator's premature ones: the
    survivor (coordinator, no writes since) looked unchanged and became SyncTarget of the victim,
    or (survivor = follower, which wrote on) both looked in sync and its later writes were dropped.
    ``fast_pair``: the resync ends in the handshake's own tick, so the lost push is the handshake's;
    ``pair``: it is the resync's final push."""
    a, b = request.getfixturevalue(fixture)
    checks = _settled(a, b, 0)
    survivor, loser = (a, b) if survivor_name == "alpha" else (b, a)
    assert survivor.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert survivor.api(op="write", key="base", value="0") == {"rc": 0}
    _split_brain(a, b, survivor, loser)
    # The coordinator's next push that ends a sync (the resync's end) is lost: the link is cut then.
    assert a.api(op="fault", kind="cut-at-sync") == {"rc": 0}
    _resolve(survivor, loser)
    wait_for(lambda: (s := a.api(op="state"))["cut"] and not s["cut_at_sync"], what="the push that ends it")
    wait_for(lambda: conn(a) != "Connected" and conn(b) != "Connected", what="both notice the cut")
    assert survivor.me()["role"] == "Primary"
    if write_after:
        assert survivor.api(op="write", key="after", value="A") == {"rc": 0}
    assert a.api(op="fault", kind="heal") == {"rc": 0}
    _settled(a, b, checks)
    for node in (a, b):
        assert node.api(op="read", key=f"split-{survivor.name}")["value"] == "T", node.name
        assert node.api(op="read", key=f"split-{loser.name}")["value"] is None, node.name
        assert node.api(op="read", key="base")["value"] == "0", node.name
        assert node.api(op="read", key="after")["value"] == ("A" if write_after else None), node.name
    assert survivor.me()["role"] == "Primary" and loser.me()["role"] == "Secondary"
    assert "VERIFY FAILED" not in a.log.read_text()


@pytest.mark.timeout(40)
@pytest.mark.parametrize("fixture", ["fast_pair", "pair"])
@pytest.mark.parametrize("lost", ["push", "ack"])
def test_lost_final_push_or_ack_of_a_resync_resyncs_again_on_reconnect(request, fixture, lost) -> None:
    """The resync's final push (or the follower's ack of it) is lost, the cut noticed, the Primary
    (coordinator) writes on: the next handshake resyncs everything the follower may lack. Before,
    the coordinator had already cleared its bitmap at the push: the next resync missed the keys."""
    a, b = request.getfixturevalue(fixture)
    checks = _settled(a, b, 0)
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert a.api(op="write", key="base", value="0") == {"rc": 0}
    _cut(a, b)
    for i in range(3):
        assert a.api(op="write", key=f"cut-{i}", value=f"c{i}") == {"rc": 0}
    side = a if lost == "push" else b  # the one whose link goes down at the push that ends the resync
    assert side.api(op="fault", kind="cut-at-sync") == {"rc": 0}
    assert a.api(op="fault", kind="heal") == {"rc": 0}
    wait_for(lambda: (s := side.api(op="state"))["cut"] and not s["cut_at_sync"], what="the push that ends it")
    wait_for(lambda: conn(a) != "Connected" and conn(b) != "Connected", what="both notice the cut")
    assert a.api(op="write", key="after", value="A") == {"rc": 0}
    assert side.api(op="fault", kind="heal") == {"rc": 0}
    _settled(a, b, checks)
    for node in (a, b):
        assert [node.api(op="read", key=k)["value"] for k in ("base", "cut-0", "cut-2", "after")] == \
            ["0", "c0", "c2", "A"], node.name
    assert "VERIFY FAILED" not in a.log.read_text()


# ---- fencing (hatui.lab.drbd.fence): the kit's policy, handlers run as programs -------------------


@pytest.fixture
def fenced_pair(tmp_path: Path):
    """A pair whose resource file says resource-and-stonith; fence-peer is a stub that exits with the
    code in ``fence.rc`` (and logs its call and DRBD's environment)."""
    handler = tmp_path / "fence-stub"
    handler.write_text(f'#!/bin/sh\necho "$1 $DRBD_RESOURCE $DRBD_PEER_NODE_ID" >>{tmp_path}/fence.calls\n'
                       f'exit "$(cat {tmp_path}/fence.rc)"\n')
    handler.chmod(0o755)
    (tmp_path / "fence.rc").write_text("5\n")
    res = tmp_path / "r0.res"
    res.write_text(f'resource r0 {{\n  net {{\n    fencing resource-and-stonith;\n  }}\n  handlers {{\n'
                   f'    fence-peer "{handler} fence";\n    unfence-peer "{handler} unfence";\n  }}\n}}\n')
    ports = {n: _free_port() for n in NAMES}
    nodes = [Node(tmp_path, name, peer, ports) for name, peer in (("alpha", "beta"), ("beta", "alpha"))]
    for node in nodes:
        node.env.drbd_conf = str(res)
        node.env.write(node.etc)
    try:
        for node in nodes:
            node.start()
        wait_for(lambda: in_sync(*nodes), what="initial connect")
        yield (*nodes, tmp_path)
    finally:
        for node in nodes:
            node.stop(signal.SIGKILL)


def test_fencing_suspends_io_until_the_handler_outdates_the_peer_or_resume_io(fenced_pair) -> None:
    a, b, tmp = fenced_pair
    assert "fencing         resource-and-stonith;" in a.cmd("drbdsetup", "show", "r0")["stdout"]
    assert 'fence-peer      "' in a.cmd("drbdadm", "dump", "r0")["stdout"]
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    assert a.api(op="write", key="k0", value="0") == {"rc": 0}
    _cut(a, b)
    wait_for(lambda: (tmp / "fence.calls").exists(), what="fence-peer ran")
    assert (tmp / "fence.calls").read_text().split() == ["fence", "r0", "1"]
    # exit 5 (unreachable): I/O stays suspended; writes are not acknowledged
    wait_for(lambda: "fence-peer" in a.log.read_text() and "exit 5" in a.log.read_text(), what="handler done")
    assert a.me()["suspended"] == "fencing"
    assert "r0 role:Primary suspended:fencing" in a.cmd("drbdadm", "status", "r0")["stdout"]
    assert json.loads(a.cmd("drbdsetup", "status", "--json")["stdout"])[0]["suspended"] is True
    assert a.api(op="write", key="k1", value="1")["rc"] != 0 and a.api(op="read", key="k1")["value"] is None
    # the operator resumes by hand
    assert a.cmd("drbdadm", "resume-io", "r0")["rc"] == 0
    assert a.me()["suspended"] is None and a.api(op="write", key="k1", value="1") == {"rc": 0}


def test_outdated_is_refused_where_drbd_refuses_it_persisted_and_cleared_by_resync(fenced_pair) -> None:
    a, b, tmp = fenced_pair
    assert a.cmd("drbdadm", "primary", "r0")["rc"] == 0
    r = b.cmd("drbdadm", "outdate", "r0")
    assert r["rc"] == 11 and "(-6) Refusing to be Outdated while Connected" in r["stderr"]
    (tmp / "fence.rc").write_text("4\n")
    _cut(a, b)
    r = a.cmd("drbdadm", "outdate", "r0")
    assert r["rc"] == 17 and "(-2) Need access to UpToDate data" in r["stderr"]
    assert b.cli("drbdadm", "outdate", "r0").returncode == 0  # what the handler does over SSH
    wait_for(lambda: a.me()["suspended"] is None, what="exit 4 resumes I/O")
    assert a.api(op="write", key="k1", value="1") == {"rc": 0}
    b.stop(signal.SIGKILL)  # Outdated survives a crash
    b.start()
    assert b.me()["disk"] == "Outdated"
    r = b.cmd("drbdadm", "primary", "r0")
    assert r["rc"] == 17 and "(-2) Need access to UpToDate data" in r["stderr"] and b.me()["role"] == "Secondary"
    assert a.api(op="fault", kind="heal") == {"rc": 0}
    wait_for(lambda: in_sync(a, b), timeout=20, what="resync clears Outdated")
    assert b.disk_file("k1") == "1" and b.me()["disk"] == "UpToDate"
    wait_for(lambda: "unfence" in (tmp / "fence.calls").read_text(), what="unfence-peer after the resync")


def test_node_keeps_a_checkout_or_venv_under_tmp_reachable(monkeypatch) -> None:
    from hatui.lab.host import netns, node_setup

    monkeypatch.setattr(node_setup, "HATUI_ROOT", "/tmp/x/hatui")
    monkeypatch.setattr(node_setup.sys, "prefix", "/tmp/x/hatui/.venv")
    monkeypatch.setattr(node_setup.sys, "exec_prefix", "/tmp/x/hatui/.venv")  # a checkout under /tmp itself
    assert node_setup.kept_paths("/tmp") == ["/tmp/x/hatui"]  # outermost only
    monkeypatch.setattr(node_setup, "HATUI_ROOT", "/srv/ha/hatui")
    with pytest.raises(netns.LabError, match="lies under /srv/ha, which every lab node mounts over"):
        node_setup.check_host_paths()


def test_a_checkout_or_lab_folder_whose_path_the_configs_cannot_carry_is_one_clear_error(monkeypatch) -> None:
    """keepalived.conf's script lines and authorized_keys' forced command take the kit's path as one word."""
    from hatui.lab.host import netns, node_setup

    monkeypatch.setattr(node_setup, "HATUI_ROOT", "/tmp/lab clone/hatui")
    with pytest.raises(netns.LabError, match=r"'/tmp/lab clone/hatui' \(hatui's checkout or its Python\) has "
                                             "characters the lab cannot put in keepalived.conf"):
        node_setup.check_host_paths()
    monkeypatch.setattr(node_setup, "HATUI_ROOT", "/tmp/lab-clone/hatui")
    node_setup.check_host_paths("/var/tmp/lab+1")
    with pytest.raises(netns.LabError, match=r"the lab's folder \(--dir\)"):
        node_setup.check_host_paths("/var/tmp/my lab")


def test_a_primary_never_becomes_sync_target_and_two_primaries_never_connect() -> None:
    """DRBD refuses both ("I shall become SyncTarget, but I am primary!"; allow-two-primaries no): the
    refusing side goes StandAlone. The chaos run found the emulator connecting a frozen Primary as
    SyncTarget after a VRRP split with a cut link: its I/O resumed while its peer served."""
    from hatui.lab.drbd.store import LabDrbdMachine

    m = LabDrbdMachine(("vm2", "vm12"))
    m.cut_link(immediate=True)
    assert m.primary("vm12").rc == 0 and m.write("vm12", "k", "new").rc == 0  # the peer took over and wrote
    m.heal_link()
    for t in (1, 2, 3):
        m.tick(float(t))
    assert m.node("vm2").conn == "StandAlone" and m.node("vm2").role == "Primary"
    assert m.node("vm12").conn in ("Unconnected", "Connecting") and m.node("vm12").want_connect
    assert any("I shall become SyncTarget, but I am primary!" in line for _, node, line in m.log if node == "vm2")
    assert m.read("vm2", "k") is None, "nothing was synced under the Primary's filesystem"
    # Demoted and told to connect again, it becomes SyncTarget as usual and gets the peer's writes.
    assert m.secondary("vm2").rc == 0 and m.connect("vm2").rc == 0
    for t in (4, 5, 6, 7, 8):
        m.tick(float(t))
    assert m.connected("vm2") and m.read("vm2", "k") == "new"
    # Two Primaries with the same data do not connect either.
    p = LabDrbdMachine(("vm2", "vm12"))
    p.cut_link(immediate=True)
    assert p.primary("vm12").rc == 0
    p.heal_link()
    for t in (1, 2, 3):
        p.tick(float(t))
    assert p.node("vm2").conn == p.node("vm12").conn == "StandAlone"


def test_process_tree_finds_the_named_processes_and_everything_under_them(monkeypatch) -> None:
    """What `lab fault hang` stops: sshd, its sessions and the commands they run; nothing else."""
    import subprocess as sp

    from hatui.lab.host import netns

    root = sp.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    other = sp.Popen(["sleep", "30"])
    try:
        deadline = time.monotonic() + 5
        kids: list[int] = []
        while len(kids) < 2 and time.monotonic() < deadline:
            kids = [int(p) for p in sp.run(["pgrep", "-P", str(root.pid)], capture_output=True,
                                           text=True).stdout.split()]
            time.sleep(0.05)
        monkeypatch.setattr(netns, "netns_pids", lambda name: [root.pid, other.pid, *kids])
        assert netns.process_tree("vm2", ("sh",)) == sorted([root.pid, *kids])
        assert netns.proc_parent(kids[0])[:2] == ("sleep", root.pid)
        assert netns.signal_pids([other.pid, 999999999], 0) == 1  # a gone pid is skipped
    finally:
        for p in (root, other):
            p.kill()
            p.wait()
