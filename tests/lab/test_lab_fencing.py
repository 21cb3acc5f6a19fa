"""Zero acknowledged writes lost when faults combine: DRBD fencing through the node kit, in the real lab.

Without fencing, cutting the replication link and then crashing the active node
lost every write acknowledged in between (64 in the issue's run). With the kit's
``fencing resource-and-stonith`` and ``hatui-fence-peer`` the active node
freezes I/O, outdates its peer over the public network by SSH, and only then
acknowledges writes alone; the Outdated peer refuses to take over. In a full
partition neither node can fence the other: the active node keeps I/O frozen
and, frozen, gives up the VIP (``hatui-check drbd`` fails, keepalived goes
FAULT); the other (assuming it dead, as DRBD does) takes over. The split brain
found at the heal holds no acknowledged write on the frozen side, which is the
victim of hatui's own ``resync split-brain``. Either way the client's
``--verify``, through the VIP, reads back every write it was told is on disk.

Shares the session's lab with test_lab.py; each test starts from whichever node is
active and leaves the pair healthy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.lab.conftest import active, healthy, root

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]


def until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def journal(lab, name: str, since: float) -> list[dict]:
    path = lab.files(name).sub("journal") / "journal.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in lines if float(e["ts"]) >= since]


def verify_every_ack(lab) -> dict:
    """The client's --verify through the VIP: every acknowledged record read back."""
    out = subprocess.run(["ip", "netns", "exec", "client", sys.executable, "-m", "hatui.lab.host.client", "--target",
                          "10.83.0.200:2049", "--verify", str(lab.client_log)], capture_output=True, text=True,
                         timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["lost"] == [] and out.returncode == 0, result
    return result


def start(lab_pair) -> tuple[str, str]:
    doc = lab_pair.wait_status(healthy, timeout=90, what="healthy before the faults")
    victim = active(doc)
    assert victim is not None
    survivor = next(n["name"] for n in doc["nodes"] if n["name"] != victim)
    lab_pair.lab.client_start(interval=0.05)
    time.sleep(1.5)
    return victim, survivor


def test_cut_link_then_crash_of_the_active_node_loses_no_acknowledged_write(lab_pair):
    lab = lab_pair.lab
    victim, survivor = start(lab_pair)
    t0 = time.time()
    lab_pair.fault("cut-link")
    # The active node froze I/O, its handler outdated the peer over the public network, I/O resumed.
    until(lambda: lab.local_drbd(survivor).get("disk") == "Outdated" and lab.local_drbd(victim).get("suspended")
          is None, 20, "the survivor outdated and the active node's I/O resumed")
    fence = [e for e in journal(lab, victim, t0) if e["step"] == "fence"]
    assert fence and fence[-1]["ok"] and "(exit 4)" in fence[-1]["detail"], fence
    time.sleep(4)  # the active node acknowledges writes the survivor does not have
    lab_pair.fault("crash", victim)
    t_crash = time.time()
    time.sleep(10)  # keepalived on the survivor: MASTER (the guard refuses) or FAULT (hatui-check drbd)
    me = lab.local_drbd(survivor)
    assert me["role"] == "Secondary" and me["disk"] == "Outdated", me
    promotes = [e for e in journal(lab, survivor, t_crash) if e["step"] == "promote"]
    assert all(not e["ok"] and "local disk is Outdated" in e["detail"] for e in promotes), promotes
    # The crashed node returns with the writes; the survivor resyncs from it; someone serves again.
    lab_pair.fault("restore", victim)
    lab_pair.fault("heal")
    lab_pair.wait_status(healthy, timeout=90, what="healthy after restore and heal")
    time.sleep(1)
    lab.client_stop()
    assert verify_every_ack(lab)["acked"] > 40


def test_partition_of_the_active_node_then_heal_loses_no_acknowledged_write(lab_pair, tmp_path):
    lab = lab_pair.lab
    victim, survivor = start(lab_pair)
    t0 = time.time()
    lab_pair.fault("partition", victim)
    # Nobody can reach the victim: its handler fails and I/O stays frozen (exit 1, not 5: DRBD would take
    # 5 on a Primary as "assumed dead" and resume I/O) ...
    until(lambda: lab.local_drbd(victim).get("suspended") == "fencing", 20, "the active node freezes I/O")
    until(lambda: any(e["step"] == "fence" and "(exit 1)" in e["detail"] for e in journal(lab, victim, t0)), 30,
          "the active node's fence-peer reports the peer unreachable and keeps I/O frozen")
    # ... so hatui-check drbd fails there: keepalived goes FAULT, the VIP leaves it, the kit releases.
    until(lambda: any(e["step"] == "release" and str(e["detail"]).startswith("FAULT")
                      for e in journal(lab, victim, t0)), 30, "the frozen node gives up MASTER (FAULT)")
    assert not holds_vip(victim)
    # The survivor cannot reach it either: its fence-peer exits 5 on a Secondary, DRBD assumes the
    # victim dead, and the survivor takes over. The victim acknowledged nothing meanwhile.
    until(lambda: any(e["step"] == "available" and e["ok"] for e in journal(lab, survivor, t0)), 30,
          "the survivor's takeover")
    assert lab.local_drbd(victim).get("suspended") == "fencing"
    lab_pair.fault("heal")
    # Healed: the victim's I/O is still frozen and it stays out of VRRP, so the survivor keeps the VIP.
    # Both wrote while apart (the victim only writes it never acknowledged), so DRBD may find a split brain.
    doc = lab_pair.wait_status(lambda d: "split-brain" in codes(d) or healthy(d), timeout=60,
                               what="split brain (or healthy) after the heal")
    assert doc["vip"]["holders"] == [survivor] and active(doc) == survivor, doc["vip"]
    assert verify_every_ack(lab)["acked"] > 20  # through the VIP, before anyone resolved anything
    if "split-brain" in codes(doc):
        assert root(doc)["code"] == "split-brain", doc["findings"]
        res = lab_pair.hatui("resync", "split-brain", "--victim", victim, "--confirm", victim,
                             env={"HATUI_STATE_DIR": str(tmp_path / "state")}, timeout=180)
        assert res.exit_code == 0, res.stdout + res.stderr
    doc = lab_pair.wait_status(healthy, timeout=90, what="healthy after the split brain was resolved")
    assert active(doc) == survivor and lab.local_drbd(victim).get("suspended") is None
    lab.client_stop()
    assert verify_every_ack(lab)["acked"] > 20


def codes(doc: dict) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def holds_vip(name: str) -> bool:
    out = subprocess.run(["ip", "-n", name, "-o", "addr", "show", "dev", "eth0"], capture_output=True, text=True)
    return " 10.83.0.200/" in out.stdout
