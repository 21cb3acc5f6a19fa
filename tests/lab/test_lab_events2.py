"""``drbdsetup events2`` in the lab stays open as the real one does, read over the node's real sshd."""

from __future__ import annotations

import json
import signal
import time

from hatui.lab.host import topology
from tests.lab.conftest import healthy
from tests.line_reader import LineReader

STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 "


def followers(lab_pair, node: str) -> int:
    out = lab_pair.drbd(node, "state")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["events2_followers"]


def ssh(lab_pair, node: str, command: str) -> LineReader:
    """``command`` on ``node`` the way hatui reaches it: its key, its known_hosts, strict host-key checking."""
    lab = lab_pair.lab
    return LineReader(["ssh", "-F", "/dev/null", "-T", "-i", str(lab.dir / "id_ed25519"),
                       "-o", f"UserKnownHostsFile={lab.dir / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                       f"root@{topology.node(node).public_ip}", command])


def test_events2_over_ssh_prints_the_connection_loss_when_the_link_is_cut(lab_pair):
    lab_pair.wait_status(healthy, what="healthy before the cut")
    ev = ssh(lab_pair, "vm12", "drbdsetup events2 --timestamps r0")
    try:
        ev.until(STAMP + r"exists -$", timeout=15)
        assert any(" exists connection name:r0 peer-node-id:0 conn-name:vm2 connection:Connected " in line
                   for line in ev.lines), ev.lines
        lab_pair.fault("cut-link")
        try:
            # DRBD notices by its ping timeout (1 s); the line comes as the state changes, not at a poll.
            ev.until(STAMP + r"change connection name:r0 peer-node-id:0 conn-name:vm2 connection:(?!Connected)",
                     timeout=10)
        finally:
            lab_pair.fault("heal-link")
        ev.until(STAMP + r"change connection name:r0 peer-node-id:0 conn-name:vm2 connection:Connected", timeout=30)
        assert followers(lab_pair, "vm12") == 1
    finally:
        ev.proc.send_signal(signal.SIGTERM)  # ssh goes away: sshd closes the session, the stream ends
        ev.stop()
    deadline = time.monotonic() + 10
    while followers(lab_pair, "vm12") != 0:
        assert time.monotonic() < deadline, "the events2 stream was not unsubscribed when its SSH session ended"
        time.sleep(0.2)
    lab_pair.wait_status(healthy, timeout=60, what="healthy after the link is back")
