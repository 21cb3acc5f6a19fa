"""`hatui status --from DIR`: captured outputs (real fixtures and demo-rendered) → the same picture."""

from __future__ import annotations

from tests import TEST_FIXTURES

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hatui.snapshot.capture import section_name, snapshot_from_dir
from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.node_shell import NodeShell
from hatui.errors import ConfigError
from hatui.probes import catalog
from hatui.states import Severity
from tests.builders import EXAMPLE, config

FIXTURES = TEST_FIXTURES


def capture_from_sim(sim: ClusterSim, folder: Path) -> None:
    """Write what each probe prints on each simulated node, as an operator would capture it."""
    cfg = config()
    for name in sim.names:
        shell = NodeShell(sim, name)
        node_dir = folder / name
        node_dir.mkdir(parents=True)
        for probe in catalog.poll_probes(cfg, include_slow=False):
            out, err, rc = shell.run(probe.alternatives[0].replace("timeout -k 1 5 ", "").replace("sudo -n ", ""))
            node_dir.joinpath(probe.name + ".txt").write_text(out)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatui.cli", *args], capture_output=True, text=True, timeout=60)


def test_demo_rendered_capture_gives_a_healthy_verdict(tmp_path: Path) -> None:
    sim = ClusterSim()
    capture_from_sim(sim, tmp_path / "cap")
    (tmp_path / "cap" / "config.toml").write_text(EXAMPLE)
    result = cli("status", "--from", str(tmp_path / "cap"), "--json")
    doc = json.loads(result.stdout)
    assert result.returncode == 0, doc["findings"]
    assert doc["verdict"] == "OK" and doc["vip"]["holders"] == ["vm2"]
    human = cli("status", "--from", str(tmp_path / "cap"))
    assert "vm2" in human.stdout and "★ ACTIVE" in human.stdout


def test_capture_of_a_split_brain_is_critical(tmp_path: Path) -> None:
    sim = ClusterSim()
    sim.split_brain()
    for step in range(1, 200):
        sim.tick(step * 0.1)
    capture_from_sim(sim, tmp_path / "cap")
    snap = snapshot_from_dir(tmp_path / "cap", config())
    assert snap.verdict == Severity.CRITICAL
    assert "split-brain" in {f.code for f in snap.findings}


def test_real_fixtures_with_friendly_names(tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    for name, drbd, ka in (("vm2", "drbd9-status-json-established.json", "keepalived-json-master.json"),
                           ("vm12", "drbd9-status-syncsource.txt", "keepalived-json-backup.json")):
        (cap / name).mkdir(parents=True)
        shutil.copy(FIXTURES / drbd, cap / name / ("drbdsetup-status.json" if drbd.endswith("json") else "drbdadm-status.txt"))
        shutil.copy(FIXTURES / ka, cap / name / "keepalived.json")
    snap = snapshot_from_dir(cap, config())
    vm2, vm12 = snap.nodes
    assert vm2.drbd.source == "json" and vm12.drbd.source == "status-text"
    assert (str(vm2.vrrp.state), str(vm12.vrrp.state)) == ("MASTER", "BACKUP")
    assert snap.node("vm12").resource("r0").connections[0].peer_devices[0].sync_percent == pytest.approx(45.23)
    # probes with no file are "not reported": shown unknown, never assumed healthy
    assert snap.verdict != Severity.OK


def test_section_names_and_bad_dirs(tmp_path: Path) -> None:
    cfg = config()
    assert section_name("proc-drbd", cfg) == catalog.DRBD
    assert section_name("mount.r0.json", cfg) == "mount.r0"
    assert section_name("findmnt.json", cfg) == "mount.r0"
    assert section_name("systemctl-show.txt", cfg) == catalog.UNITS
    assert section_name("notes.md", cfg) is None
    with pytest.raises(ConfigError, match="not a directory"):
        snapshot_from_dir(tmp_path / "missing", cfg)
    (tmp_path / "cap" / "vm2").mkdir(parents=True)
    with pytest.raises(ConfigError, match="no folder 'vm12'"):
        snapshot_from_dir(tmp_path / "cap", cfg)
    result = cli("--config", "/nonexistent.toml", "status", "--from", str(tmp_path / "cap"))
    assert result.returncode == 3 and "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
