"""Rendered outputs have the shapes of the real fixtures (tests/fixtures)."""

from __future__ import annotations

from hatui.emulator import drbd_formats as drbd_fmt

from tests import TEST_FIXTURES

import json

import pytest

from hatui.demo import formats as fmt
from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.node_shell import NodeShell
from hatui.probes.script import Probe, build_script, split_sections

FIXTURES = TEST_FIXTURES


def fixture(name: str) -> object:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {path} not available")
    return json.loads(path.read_text())


# Keys real output has only sometimes: "link" names a veth peer (the fixture is
# from a namespace lab; a VM's virtio NIC has none).
OPTIONAL = {"link"}


def keys_deep(a: object, b: object, where: str = "$") -> None:
    """Every key of the fixture ``b`` exists in ``a`` with the same JSON type."""
    if isinstance(b, dict):
        assert isinstance(a, dict), where
        for k, v in b.items():
            if k in OPTIONAL and k not in a:
                continue
            assert k in a, f"{where}.{k} missing"
            keys_deep(a[k], v, f"{where}.{k}")
    elif isinstance(b, list) and b:
        assert isinstance(a, list) and a, where
        keys_deep(a[0], b[0], where + "[0]")
    elif isinstance(b, bool):
        assert isinstance(a, bool), where
    elif isinstance(b, (int, float)):
        assert isinstance(a, (int, float)) and not isinstance(a, bool), where
    elif isinstance(b, str):
        assert isinstance(a, str), where


def advance(sim: ClusterSim, seconds: float) -> None:
    end = sim.now + seconds
    while sim.now < end:
        sim.tick(sim.now + 0.05)


def test_drbd_status_json_matches_fixture() -> None:
    sim = ClusterSim()
    doc = json.loads(drbd_fmt.drbd_status_json(sim, "vm2"))
    keys_deep(doc, fixture("drbd9-status-json-established.json"))
    pd = doc[0]["connections"][0]["peer_devices"][0]
    assert pd["percent-in-sync"] == 100 and pd["replication-state"] == "Established"
    sim.fault("sync")
    advance(sim, 2)
    doc = json.loads(drbd_fmt.drbd_status_json(sim, "vm12"))
    pd = doc[0]["connections"][0]["peer_devices"][0]
    assert pd["replication-state"] == "SyncTarget" and pd["out-of-sync"] > 0 and pd["percent-in-sync"] < 100
    assert doc[0]["devices"][0]["disk-state"] == "Inconsistent"


def test_drbdadm_status_text_layouts() -> None:
    sim = ClusterSim(fencing="dont-care")  # layouts, not fencing: the Primary keeps writing when cut
    text = drbd_fmt.drbdadm_status(sim, "vm2")
    assert text.splitlines()[:3] == ["r0 role:Primary", "  disk:UpToDate client:no", "  vm12 role:Secondary"]
    sim.fault("sync")
    advance(sim, 2)
    line = drbd_fmt.drbdadm_status(sim, "vm2").splitlines()[3]
    assert line.startswith("    replication:SyncSource peer-disk:Inconsistent done:")
    sim.cut_link()
    advance(sim, 3)
    assert "  vm12 connection:Connecting" in drbd_fmt.drbdadm_status(sim, "vm2").splitlines()
    proc = drbd_fmt.proc_drbd(sim, "vm2")
    assert " 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r-----" in proc


def test_events2_ends_with_exists_dash() -> None:
    lines = drbd_fmt.drbd_events2_now(ClusterSim(), "vm2", statistics=True).splitlines()
    assert lines[-1] == "exists -"
    assert [ln.split()[1] for ln in lines[:4]] == ["resource", "connection", "device", "peer-device"]
    assert "out-of-sync:0" in lines[3]


def test_ip_and_keepalived_json_match_fixtures() -> None:
    sim = ClusterSim()
    ip = json.loads(fmt.ip_addr_json(sim, "vm2"))
    keys_deep(ip[1], fixture("ip-j-addr-vip.json")[0])  # type: ignore[index]
    vip = [a for a in ip[1]["addr_info"] if a.get("label") == "eth0:vip"]
    assert vip and vip[0]["local"] == "192.168.83.200" and vip[0]["secondary"] is True
    assert not [a for i in json.loads(fmt.ip_addr_json(sim, "vm12")) for a in i["addr_info"]
                if a["local"] == "192.168.83.200"]
    for name, fixture_name, state in (("vm2", "keepalived-json-master.json", 2),
                                      ("vm12", "keepalived-json-backup.json", 1)):
        doc = json.loads(fmt.keepalived_json(sim, name))
        keys_deep(doc, fixture(fixture_name))
        assert doc[0]["data"]["state"] == state and doc[0]["data"]["iname"] == "VI_1"


def test_systemd_mount_disk_nfs_formats() -> None:
    sim = ClusterSim()
    props = ["Id", "LoadState", "ActiveState", "SubState", "MainPID", "ActiveEnterTimestamp"]
    out = fmt.systemctl_show(sim, "vm12", props, ["nfs-server.service", "airflow-dag-processor.service"])
    blocks = out.rstrip("\n").split("\n\n")
    assert len(blocks) == 2
    first = dict(line.split("=", 1) for line in blocks[0].splitlines())
    assert set(first) == set(props) and first["ActiveState"] == "inactive" and first["MainPID"] == "0"
    found, rc = fmt.findmnt_json(sim, "vm2", ["TARGET", "SOURCE", "FSTYPE", "OPTIONS"], "/srv/ha")
    assert rc == 0 and json.loads(found)["filesystems"][0]["source"] == "/dev/drbd0"
    assert fmt.findmnt_json(sim, "vm12", ["TARGET"], "/srv/ha") == ("", 1)
    cols = ["NAME", "PATH", "TYPE", "SIZE", "RO", "STATE", "MOUNTPOINT"]
    disk = json.loads(fmt.lsblk_json(sim, "vm2", cols, ["/dev/vdb"])[0])["blockdevices"][0]
    assert disk["size"] == 2 * 1024**3 and disk["children"][0]["mountpoint"] == "/srv/ha"
    assert fmt.exportfs_v(sim, "vm2") == ("/srv/ha/export\t<world>(sync,wdelay,hide,no_subtree_check,fsid=1,"
                                          "sec=sys,rw,secure,root_squash,no_all_squash)\n")
    assert fmt.exportfs_v(sim, "vm12") == ""


def test_node_shell_answers_the_poll_script() -> None:
    sim = ClusterSim()
    probes = [
        Probe("drbd", ("drbdsetup status --json", "drbdadm status")),
        Probe("ka", ("_ka_json",)),
        Probe("pcs", ("pgrep -l -x 'pacemakerd|corosync'",)),
        Probe("missing", ("no-such-tool --x", "false")),
        Probe("mnt", ("sudo -n timeout -k 1 5 findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS --mountpoint /srv/ha",)),
    ]
    script = build_script(probes, nonce="00ff", prefix=("sudo", "-n"))
    out, _err, rc = NodeShell(sim, "vm12").run(script)
    assert rc == 0
    sections = split_sections(out, "00ff")
    assert sections["drbd"].rc == 0 and json.loads(sections["drbd"].text)[0]["role"] == "Secondary"
    assert sections["ka"].rc == 0 and json.loads(sections["ka"].text)[0]["data"]["state"] == 1
    assert sections["pcs"].rc == 1 and sections["pcs"].text == ""
    assert sections["missing"].rc == 1
    assert sections["mnt"].rc == 1 and sections["mnt"].text == ""
    sim.vrrp.stop_keepalived("vm12")
    sections = split_sections(NodeShell(sim, "vm12").run(script)[0], "00ff")
    assert sections["ka"].rc == 3
    assert sections["ka"].text == "keepalived pid file /run/keepalived.pid not readable"


@pytest.mark.parametrize(
    ("command", "rc", "needle"),
    [
        ("drbdadm primary r0", 11, "(-1) Multiple primaries not allowed by config"),
        ("sudo -n drbdadm status r9", 10, "'r9' not defined in your config (for this host)."),
        ("frobnicate", 127, "sh: 1: frobnicate: not found"),
        ("false || echo fallback", 0, "fallback"),
        ("systemctl is-active nfs-server.service", 3, "inactive"),
        ("mount /dev/drbd0 /srv/ha", 32, "Wrong medium type"),
        ("date +%s.%N 2>/dev/null", 0, "."),
        ("hatui-sim read export/README", 0, "hatui demo share"),
    ],
)
def test_simple_commands(command: str, rc: int, needle: str) -> None:
    out, err, code = NodeShell(ClusterSim(), "vm12").run(command)
    assert code == rc
    assert needle in out + err
