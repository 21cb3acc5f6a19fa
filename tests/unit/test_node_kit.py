"""The node kit (scripts/node): rendered configs, and the shell scripts against stub commands.

The scripts run for real (/bin/sh) with a fake PATH: small stubs for drbdadm,
systemctl, mount, umount, mountpoint, ip and nc that log their calls and answer
from state files, so a takeover and a release can be checked without root,
DRBD or systemd. The journal they write is read back with hatui's own parser
and turned into timing rows, as hatui does on a poll.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hatui.timelines.journal import journal_outcome, journal_timeline
from hatui.config import TimingConfig
from hatui.timelines.incident import Outcome
from hatui.lab.host import kit
from hatui.probes.journal import parse_journal

NOTIFY = kit.KIT_DIR / "hatui-notify"
CHECK = kit.KIT_DIR / "hatui-check"
NFS, DAG = "nfs-server.service", "airflow-dag-processor.service"

STUBS = {
    "drbdadm": r"""
echo "drbdadm $*" >>"$FAKE/calls.log"
case "$*" in *force*) echo "--force must never be used" >&2; exit 99 ;; esac
[ -f "$FAKE/down" ] && { echo "r0: no resources defined" >&2; exit 10; }
role=$(cat "$FAKE/role"); disk=$(cat "$FAKE/disk")
peer=$(cat "$FAKE/peer_role"); pdisk=$(cat "$FAKE/peer_disk")
case $1 in
  role) echo "$role" ;;
  dstate) echo "$disk/$pdisk" ;;
  status)
    echo "r0 role:$role$([ -f "$FAKE/suspended" ] && echo " suspended:$(cat "$FAKE/suspended")")"; echo "  disk:$disk"
    if [ "$peer" = none ]; then echo "  vm2 connection:Connecting"
    else echo "  vm2 role:$peer"; echo "    peer-disk:$pdisk"; fi ;;
  primary)
    [ -f "$FAKE/race.primary" ] && { echo Primary >"$FAKE/role"; echo "r0: State change failed: (-1) Multiple primaries not allowed by config" >&2; exit 11; }
    [ "$peer" = Primary ] && { echo "r0: State change failed: (-1) Multiple primaries not allowed by config" >&2; exit 11; }
    [ "$disk" = UpToDate ] || { echo "r0: State change failed: (-2) Need access to UpToDate data" >&2; exit 17; }
    echo Primary >"$FAKE/role" ;;
  secondary)
    [ -f "$FAKE/mounted" ] && { echo "r0: State change failed: (-12) Device is held open by someone" >&2; exit 11; }
    echo Secondary >"$FAKE/role" ;;
esac
""",
    "systemctl": r"""
echo "systemctl $*" >>"$FAKE/calls.log"
eval unit=\${$#}
case $1 in
  show) if [ -f "$FAKE/unit.$unit" ]; then echo ActiveState=active; else echo ActiveState=inactive; fi ;;
  start) [ -f "$FAKE/fail.$unit" ] && { cat "$FAKE/fail.$unit" >&2; exit 1; }; touch "$FAKE/unit.$unit" ;;
  stop) rm -f "$FAKE/unit.$unit" ;;
esac
""",
    "mount": r"""
echo "mount $*" >>"$FAKE/calls.log"
[ -f "$FAKE/fail.mount" ] && { cat "$FAKE/fail.mount" >&2; exit 32; }
[ -f "$FAKE/race.mount" ] && { touch "$FAKE/mounted"; echo "mount: /srv/ha: /dev/drbd0 already mounted on /srv/ha." >&2; exit 32; }
touch "$FAKE/mounted"
""",
    "umount": 'echo "umount $*" >>"$FAKE/calls.log"; rm -f "$FAKE/mounted"\n',
    "mountpoint": '[ -f "$FAKE/mounted" ]\n',
    "ip": r"""
echo "2: eth0    inet 10.83.0.12/24 brd 10.83.0.255 scope global eth0\       valid_lft forever preferred_lft forever"
[ -f "$FAKE/vip" ] && echo "2: eth0    inet 10.83.0.200/24 scope global secondary eth0:vip\       valid_lft forever preferred_lft forever"
exit 0
""",
    "nc": 'echo "nc $*" >>"$FAKE/calls.log"; [ -f "$FAKE/unit.nfs-server.service" ]\n',
}


class Node:
    """A fake node: stub commands on PATH, state files, kit.conf and journal in tmp."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin, self.fake, self.state = root / "bin", root / "fake", root / "state"
        self.journal_path = root / "lib" / "journal.jsonl"  # its folder does not exist yet
        for d in (self.bin, self.fake):
            d.mkdir()
        for name, body in STUBS.items():
            path = self.bin / name
            path.write_text("#!/bin/sh\n" + body)
            path.chmod(0o755)
        self.conf = root / "kit.conf"
        self.conf.write_text(kit.render_kit_conf(
            node="vm12", vip="10.83.0.200/24", vip_interface="eth0", journal=str(self.journal_path),
            state_dir=str(self.state), step_timeout=3, promote_wait=1))
        self.set(role="Secondary", disk="UpToDate", peer_role="none", peer_disk="DUnknown")
        (self.fake / "vip").touch()
        (self.fake / "calls.log").touch()

    def set(self, **files: str) -> None:
        for name, value in files.items():
            (self.fake / name).write_text(value + "\n")

    def get(self, name: str) -> str:
        return (self.fake / name).read_text().strip()

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}:/usr/bin:/bin", "FAKE": str(self.fake), "HATUI_KIT_CONF": str(self.conf),
                "LC_ALL": "C"}

    def notify(self, state: str, priority: int = 100) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(["/bin/sh", str(NOTIFY), "INSTANCE", "VI_1", state, str(priority)], env=self.env,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out

    def check(self, what: str) -> int:
        return subprocess.run(["/bin/sh", str(CHECK), what], env=self.env, capture_output=True, timeout=10).returncode

    def calls(self) -> list[str]:
        lines = (self.fake / "calls.log").read_text().splitlines()
        assert not any("--force" in line or "force" in line.split() for line in lines), lines
        return lines

    def changes(self) -> list[str]:
        """Only the calls that change something (no show/status/role queries)."""
        keep = ("drbdadm primary", "drbdadm secondary", "mount ", "umount", "systemctl start", "systemctl stop")
        return [c for c in self.calls() if c.startswith(keep)]

    def lines(self) -> list[dict[str, object]]:
        text = self.journal_path.read_text() if self.journal_path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]  # every line must be valid JSON

    def steps(self) -> list[tuple[str, bool]]:
        return [(str(e["step"]), bool(e["ok"])) for e in self.lines()]


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return Node(tmp_path)


# ---- rendering ----------------------------------------------------------------------------

def _conf(**over: object) -> str:
    args: dict[str, object] = dict(node="vm2", priority=110, instance="VI_1", interface="eth0", vip="10.83.0.200/24",
                                   vip_label="vip", vrid=83, advert_int=1, kit_dir="/opt/hatui-kit")
    args.update(over)
    return kit.render_keepalived_conf(**args)  # type: ignore[arg-type]


def _active(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_keepalived_conf_has_the_seed_layout() -> None:
    for name, prio in (("vm2", 110), ("vm12", 100)):
        lines = _active(_conf(node=name, priority=prio))
        for want in ("state BACKUP", "nopreempt", f"priority {prio}", f"router_id {name}", "advert_int 1",
                     "virtual_router_id 83", "enable_script_security", "script_user root", "interface eth0",
                     "10.83.0.200/24 dev eth0 label eth0:vip", 'notify "/opt/hatui-kit/hatui-notify"',
                     'script "/opt/hatui-kit/hatui-check nfs"', 'script "/opt/hatui-kit/hatui-check dag"',
                     'script "/opt/hatui-kit/hatui-check drbd"', "chk_nfs", "chk_dag", "chk_drbd",
                     "garp_master_refresh 2"):  # clients that learnt the VIP from the other node follow within 2 s
            assert want in lines, want
        assert not any(line.startswith("weight") for line in lines)  # a failing check must mean FAULT
        assert not any(line.startswith(("unicast_src_ip", "unicast_peer", "state MASTER")) for line in lines)


def test_keepalived_conf_unicast_block() -> None:
    lines = _active(_conf(unicast_src="10.83.0.2", unicast_peer="10.83.0.12"))
    i = lines.index("unicast_src_ip 10.83.0.2")
    assert lines[i + 1:i + 4] == ["unicast_peer {", "10.83.0.12", "}"]


@pytest.mark.parametrize("bad", [
    {"node": "vm2; reboot"}, {"node": 'vm2"\n}'}, {"priority": 255}, {"priority": 0}, {"vip": "300.1.1.1/24"},
    {"vip": "10.0.0.1/24 dev lo"}, {"interface": "eth0 label x"}, {"vip_label": "a-very-long-label"},
    {"vrid": 256}, {"advert_int": "1; x"}, {"kit_dir": "relative/path"}, {"kit_dir": "/opt/my kit"},
    {"unicast_src": "10.83.0.2"}, {"unicast_src": "10.83.0.2", "unicast_peer": "peer.example"},
    {"unicast_src": "10.83.0.2", "unicast_peer": "10.83.0.2"},
])
def test_keepalived_conf_rejects_unsafe_values(bad: dict[str, object]) -> None:
    with pytest.raises(kit.KitError):
        _conf(**bad)


def test_kit_conf_renders_validated_shell(tmp_path: Path) -> None:
    text = kit.render_kit_conf(node="vm12", vip="10.83.0.200/24", vip_interface="eth0", step_timeout=7)
    conf = tmp_path / "kit.conf"
    conf.write_text(text)
    out = subprocess.run(["/bin/sh", "-c", f'. "{conf}"; echo "$NODE|$RESOURCE|$VIP|$STEP_TIMEOUT|$JOURNAL"'],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip() == "vm12|r0|10.83.0.200/24|7|/var/lib/hatui/journal.jsonl"
    for bad in ({"node": "$(reboot)"}, {"mount_point": "/srv/ha'; reboot; '"}, {"nfs_unit": "nfs server"},
                {"vip": "not-an-ip"}, {"nfs_port": 70000}, {"journal": "/var/lib/../../etc/passwd"},
                {"colour": "blue"}):
        with pytest.raises(kit.KitError):
            kit.render_kit_conf(**{"node": "vm12", "vip": "10.83.0.200/24", "vip_interface": "eth0", **bad})
    with pytest.raises(kit.KitError, match="needs vip"):
        kit.render_kit_conf(node="vm12", vip_interface="eth0")


def test_example_kit_conf_is_plain_shell() -> None:
    example = kit.KIT_DIR / "hatui-kit.conf.example"
    out = subprocess.run(["/bin/sh", "-n", str(example)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_rendered_conf_passes_keepalived_config_test(tmp_path: Path) -> None:
    keepalived = "/usr/sbin/keepalived"
    if not os.access(keepalived, os.X_OK):
        pytest.skip("keepalived not installed")
    if os.geteuid() != 0:
        pytest.skip("keepalived --config-test checks script security as root")
    conf = tmp_path / "keepalived.conf"
    conf.write_text(_conf(kit_dir=kit.KIT_DIR, unicast_src="10.83.0.2", unicast_peer="10.83.0.12"))
    out = subprocess.run([keepalived, "--config-test", "-f", str(conf)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr


# ---- hatui-notify: MASTER -------------------------------------------------------------------

def test_takeover_on_a_healthy_secondary(node: Node) -> None:
    node.notify("MASTER", 100)
    assert node.changes() == ["drbdadm primary r0", "mount -t ext4 /dev/drbd0 /srv/ha",
                              f"systemctl start {NFS}", f"systemctl start {DAG}"]
    assert node.steps() == [(s, True) for s in ("detect", "vip", "promote", "mount", "nfs", "dag", "available")]
    lines = node.lines()
    assert lines[0]["detail"] == "keepalived VI_1: MASTER (priority 100)" and lines[0]["node"] == "vm12"
    assert [e["ts"] for e in lines] == sorted(e["ts"] for e in lines)
    assert re.match(r'\{"ts": \d{10}\.\d{6,9}, ', node.journal_path.read_text())  # sub-second epoch
    assert not (node.state / "takeover").exists()  # the marker is gone afterwards

    entries = parse_journal(node.journal_path.read_text())
    rows = journal_timeline(entries, TimingConfig(), priority=100)
    assert [r.phase for r in rows] == ["detect", "vip", "promote", "mount", "services", "services", "available"]
    assert rows[0].t_start == pytest.approx(3.609375, abs=1e-6)  # T+0 = detect - master-down interval
    assert all(r.status == "ok" for r in rows)
    assert rows[2].description == "drbdadm primary r0"


def test_takeover_is_idempotent_on_an_active_node(node: Node) -> None:
    node.notify("MASTER")
    before = node.changes()
    node.notify("MASTER")
    assert node.changes()[len(before):] == []  # nothing done twice, not even a no-op start
    assert node.steps()[-5:] == [("promote", True), ("mount", True), ("nfs", True), ("dag", True), ("available", True)]
    details = [str(e["detail"]) for e in node.lines()[-5:-1]]
    assert details == ["already Primary (r0)", "already mounted: /srv/ha", f"already active: {NFS}",
                       f"already active: {DAG}"]


def test_after_a_planned_switchover_the_kit_finds_everything_done(node: Node) -> None:
    """hatui promoted, mounted and started the services before moving the VIP: every step is ok, "already"."""
    node.set(role="Primary", peer_role="Secondary", peer_disk="UpToDate")
    for name in ("mounted", f"unit.{NFS}", f"unit.{DAG}"):
        (node.fake / name).touch()
    node.notify("MASTER")
    assert node.changes() == []
    assert node.steps() == [(s, True) for s in ("detect", "vip", "promote", "mount", "nfs", "dag", "available")]
    entries = parse_journal(node.journal_path.read_text())
    outcomes = [journal_outcome(e) for e in entries]
    assert outcomes[2:6] == [Outcome.ALREADY] * 4 and Outcome.FAILED not in outcomes


def test_a_step_done_by_someone_else_meanwhile_is_success(node: Node) -> None:
    """The race with hatui's own switchover: drbdadm primary / mount fail because it is already so."""
    (node.fake / "race.primary").touch()
    (node.fake / "race.mount").touch()
    node.notify("MASTER")
    assert node.steps() == [(s, True) for s in ("detect", "vip", "promote", "mount", "nfs", "dag", "available")]
    kit = {str(e["step"]): str(e["detail"]) for e in node.lines()}
    assert kit["promote"] == "already Primary (r0)" and kit["mount"] == "already mounted: /srv/ha"


@pytest.mark.parametrize("disk", ["Outdated", "Inconsistent"])
def test_takeover_refused_when_local_disk_is_not_uptodate(node: Node, disk: str) -> None:
    node.set(disk=disk)
    node.notify("MASTER")
    assert node.changes() == []
    assert node.steps() == [("detect", True), ("vip", True), ("promote", False)]
    assert node.lines()[-1]["detail"].startswith(f"refused: local disk is {disk}, not UpToDate: ")
    assert node.get("role") == "Secondary"


def test_takeover_refused_while_peer_is_primary_within_the_bound(node: Node) -> None:
    node.set(peer_role="Primary", peer_disk="UpToDate")
    started = time.monotonic()
    node.notify("MASTER")
    assert time.monotonic() - started < 4  # PROMOTE_WAIT=1 plus a little
    assert node.changes() == []  # not even an attempt at drbdadm primary
    last = node.lines()[-1]
    assert (last["step"], last["ok"]) == ("promote", False)
    assert str(last["detail"]).startswith("refused: peer is Primary (would be two primaries)")


def test_takeover_waits_for_a_peer_that_is_being_demoted(node: Node) -> None:
    node.conf.write_text(node.conf.read_text().replace("PROMOTE_WAIT='1'", "PROMOTE_WAIT='4'"))
    node.set(peer_role="Primary", peer_disk="UpToDate")
    timer = threading.Timer(0.7, lambda: node.set(peer_role="Secondary"))
    timer.start()
    try:
        node.notify("MASTER")
    finally:
        timer.cancel()
    assert node.changes()[0] == "drbdadm primary r0"
    assert ("available", True) in node.steps()


def test_failed_step_stops_the_takeover_and_journals_valid_json(node: Node) -> None:
    nasty = 'mount: /srv/ha: wrong fs type, bad option "x\\y"\n\tsecond line with a tab'
    (node.fake / "fail.mount").write_text(nasty)
    node.notify("MASTER")
    assert node.changes() == ["drbdadm primary r0", "mount -t ext4 /dev/drbd0 /srv/ha"]  # no service started
    last = node.lines()[-1]  # json.loads in lines() proves every line is valid JSON
    assert (last["step"], last["ok"]) == ("mount", False)
    assert 'bad option "x\\y"' in str(last["detail"]) and "second line with a tab" in str(last["detail"])
    rows = journal_timeline(parse_journal(node.journal_path.read_text()), TimingConfig())
    assert rows[-1].status == "failed"


def test_quotes_in_every_field_stay_valid_json(node: Node) -> None:
    node.conf.write_text(node.conf.read_text() + "NODE='vm\"12\\x'\n")
    (node.fake / f"fail.{NFS}").write_text('Job for nfs-server.service failed: "see \\ journalctl"\r\n\x01end')
    node.notify("MASTER")
    lines = node.lines()
    assert lines[0]["node"] == 'vm"12\\x'
    assert lines[-1]["step"] == "nfs" and 'failed: "see \\ journalctl"' in str(lines[-1]["detail"])


# ---- hatui-notify: BACKUP / FAULT / STOP -----------------------------------------------------

@pytest.mark.parametrize("state", ["BACKUP", "FAULT", "STOP"])
def test_release_in_reverse_order_and_idempotent(node: Node, state: str) -> None:
    node.notify("MASTER")
    start = len(node.changes())
    node.notify(state)
    assert node.changes()[start:] == [f"systemctl stop {DAG}", f"systemctl stop {NFS}", "umount /srv/ha",
                                      "drbdadm secondary r0"]
    last = node.lines()[-1]
    assert (last["step"], last["ok"]) == ("release", True)
    assert last["detail"] == f"{state}: stop {DAG}, stop {NFS}, umount, secondary"
    assert node.get("role") == "Secondary" and not (node.fake / "mounted").exists()

    start = len(node.changes())
    node.notify(state)  # already released: nothing to do, and it says so
    assert node.changes()[start:] == []
    assert node.lines()[-1]["detail"] == f"{state}: nothing to release (already standby)"


def test_release_reports_a_step_that_fails(node: Node) -> None:
    node.notify("MASTER")
    (node.bin / "umount").write_text('#!/bin/sh\necho "umount $*" >>"$FAKE/calls.log"\n'
                                     'echo "umount: /srv/ha: target is busy." >&2; exit 32\n')
    node.notify("BACKUP")
    last = node.lines()[-1]
    assert last["ok"] is False
    assert "umount FAILED (exit 32: umount: /srv/ha: target is busy.)" in str(last["detail"])
    assert "secondary FAILED" in str(last["detail"]) and "(-12)" in str(last["detail"])


def test_a_later_notify_supersedes_a_waiting_one(node: Node) -> None:
    """keepalived fires MASTER then BACKUP quickly: only the latest state is acted on, one at a time."""
    node.state.mkdir()
    with open(node.state / "notify.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as if an earlier handler were still running
        env = node.env
        args = ["/bin/sh", str(NOTIFY), "INSTANCE", "VI_1"]
        first = subprocess.Popen([*args, "MASTER", "100"], env=env)
        _wait_for(lambda: (node.state / "latest").exists() and "MASTER" in (node.state / "latest").read_text())
        second = subprocess.Popen([*args, "BACKUP", "100"], env=env)
        _wait_for(lambda: "BACKUP" in (node.state / "latest").read_text())
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert first.wait(timeout=20) == 0 and second.wait(timeout=20) == 0
    assert node.changes() == []  # MASTER skipped, BACKUP found nothing to release
    details = [str(e["detail"]) for e in node.lines()]
    assert "MASTER skipped: keepalived has since reported BACKUP" in details
    assert "BACKUP: nothing to release (already standby)" in details


def _wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_unexpected_arguments_are_journaled_not_acted_on(node: Node) -> None:
    node.notify('BO"GUS\nnext\\line')  # a newline, a quote and a backslash straight into the detail
    assert node.changes() == []
    assert node.steps() == [("notify", False)]
    assert node.lines()[0]["detail"] == 'unexpected call: hatui-notify INSTANCE VI_1 BO"GUS\nnext\\line 100'
    out = subprocess.run(["/bin/sh", str(NOTIFY), "GROUP", "G1", "MASTER", "100"], env=node.env, timeout=10)
    assert out.returncode == 0 and node.steps() == [("notify", False)]  # sync groups: nothing to do


def test_available_fails_when_nfs_does_not_answer(node: Node) -> None:
    node.conf.write_text(node.conf.read_text().replace("STEP_TIMEOUT='3'", "STEP_TIMEOUT='1'"))
    (node.bin / "nc").write_text("#!/bin/sh\nexit 1\n")
    (node.fake / "vip").unlink()  # and keepalived's VIP is not where kit.conf says
    node.notify("MASTER")
    assert node.steps() == [("detect", True), ("vip", False), ("promote", True), ("mount", True), ("nfs", True),
                            ("dag", True), ("available", False)]
    assert "10.83.0.200 127.0.0.1" in str(node.lines()[-1]["detail"])


# ---- hatui-check ------------------------------------------------------------------------------

def test_drbd_check_needs_an_uptodate_local_disk(node: Node) -> None:
    assert node.check("drbd") == 0
    for disk in ("Outdated", "Inconsistent", "Diskless"):
        node.set(disk=disk)
        assert node.check("drbd") == 1, disk
    node.set(disk="UpToDate")
    (node.fake / "down").touch()
    assert node.check("drbd") == 1


def test_drbd_check_gives_up_the_vip_once_frozen_io_cannot_be_fenced(node: Node) -> None:
    """A Primary with suspended I/O acknowledges nothing: it keeps the VIP only while fence-peer runs."""
    node.set(role="Primary", disk="UpToDate", suspended="fencing")
    assert node.check("drbd") == 1
    node.state.mkdir(exist_ok=True)
    marker = node.state / "fence-peer.r0"
    marker.write_text(f"{int(time.time())}\n")  # the handler is outdating the peer (a cut link: a second or two)
    assert node.check("drbd") == 0
    marker.write_text(f"{int(time.time()) - 60}\n")  # left behind by a killed handler: no grace forever
    assert node.check("drbd") == 1
    marker.unlink()
    (node.fake / "suspended").unlink()  # resumed: healthy again
    assert node.check("drbd") == 0


def test_service_checks_are_role_aware(node: Node) -> None:
    # Standby: services stopped is healthy ...
    (node.fake / "vip").unlink()
    assert node.check("nfs") == 0 and node.check("dag") == 0
    # ... but not while holding the VIP with no Primary behind it (a refused takeover): give it up.
    (node.fake / "vip").touch()
    assert node.check("nfs") == 1 and node.check("dag") == 1
    # Active with both running: healthy.
    node.notify("MASTER")
    assert node.check("nfs") == 0 and node.check("dag") == 0
    # Active with NFS down: NFS fails, DAG still fine.
    (node.fake / f"unit.{NFS}").unlink()
    assert node.check("nfs") == 1 and node.check("dag") == 0
    # During a takeover (fresh marker) the half-started node is given grace.
    node.state.mkdir(exist_ok=True)
    (node.state / "takeover").write_text(f"{int(time.time())}\n")
    assert node.check("nfs") == 0
    # A marker left behind by a killed takeover does not hide a failure forever.
    (node.state / "takeover").write_text(f"{int(time.time()) - 3600}\n")
    assert node.check("nfs") == 1
    assert node.check("bogus") == 1


def test_kit_dir_is_in_the_checkout() -> None:
    assert kit.require_kit_dir() == kit.KIT_DIR
    for name in ("hatui-notify", "hatui-check"):
        assert os.access(kit.KIT_DIR / name, os.X_OK), name
    assert shutil.which("flock") and shutil.which("timeout")


# ---- hatui-fence-peer (DRBD's fence-peer handler) with stub ssh / drbdadm ----------------------------

FENCE = kit.KIT_DIR / "hatui-fence-peer"


def _fence_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A node for the handler: kit.conf, journal, and stub ssh/drbdadm answering from files in tmp."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "ssh").write_text('#!/bin/sh\necho "ssh $*" >>"$FAKE/calls.log"\n'
                               'cat "$FAKE/state/fence-peer.r0" >>"$FAKE/marker.log" 2>/dev/null\n'
                               'cat "$FAKE/ssh.out" 2>/dev/null; exit "$(cat "$FAKE/ssh.rc")"\n')
    # "drbdadm role" answers from $FAKE/role (fails without it) and is not logged as a call.
    (stubs / "drbdadm").write_text('#!/bin/sh\n[ "$1" = role ] && { cat "$FAKE/role" 2>/dev/null; exit $?; }\n'
                                   'echo "drbdadm $*" >>"$FAKE/calls.log"\n'
                                   'n=$(wc -l <"$FAKE/calls.log"); rc=$(sed -n "${n}p" "$FAKE/drbdadm.rcs")\n'
                                   '[ -n "$rc" ] || rc=$(tail -n 1 "$FAKE/drbdadm.rcs")\n'
                                   '[ "$rc" = 0 ] || echo "r0: State change failed: refused ($rc)" >&2; exit "$rc"\n')
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    conf = tmp_path / "kit.conf"
    conf.write_text(kit.render_kit_conf(node="vm2", vip="10.83.0.200/24", vip_interface="eth0",
                                        journal=str(tmp_path / "journal.jsonl"), fence_peer="10.83.0.12",
                                        fence_serve_wait=3, state_dir=str(tmp_path / "state")))  # date +%s: whole seconds
    return {"PATH": f"{stubs}:/usr/bin:/bin", "FAKE": str(tmp_path), "HATUI_KIT_CONF": str(conf), **extra}


def _fence(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict], list[str]]:
    out = subprocess.run(["/bin/sh", str(FENCE), *args], env=env, capture_output=True, text=True, timeout=20)
    lines = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
    calls = (tmp_path / "calls.log").read_text().splitlines() if (tmp_path / "calls.log").exists() else []
    return out.returncode, lines, calls


@pytest.mark.parametrize("ssh_rc, role, expected", [
    (4, "Primary", 4), (3, "Primary", 3), (6, "Primary", 6), (7, "Primary", 7),
    # Unreachable: 5 only on a Secondary (DRBD then assumes the peer dead and may promote this node). On a
    # Primary DRBD would take 5 as "assumed dead" too and resume I/O: 1 keeps it frozen. Unknown role: 1.
    (255, "Secondary", 5), (1, "Secondary", 5), (124, "Secondary", 5),
    (255, "Primary", 1), (124, "Primary", 1), (255, None, 1),
])
def test_fence_peer_reaches_the_peer_by_ssh_and_maps_exit_codes(tmp_path: Path, ssh_rc: int, role: str | None,
                                                                 expected: int) -> None:
    env = _fence_env(tmp_path, DRBD_RESOURCE="r0")
    (tmp_path / "ssh.rc").write_text(f"{ssh_rc}\n")
    if role:
        (tmp_path / "role").write_text(role + "\n")
    rc, lines, calls = _fence(tmp_path, env, "fence")
    assert rc == expected
    [call] = calls
    assert "root@10.83.0.12 outdate r0" in call  # the public address, DRBD's resource
    assert "BatchMode=yes" in call and "StrictHostKeyChecking=yes" in call and "-i /etc/hatui/fence_ed25519" in call
    assert lines[-1]["step"] == "fence" and lines[-1]["ok"] is (expected == 4)
    assert lines[-1]["detail"].endswith(f"(exit {expected})")
    assert ("I/O resumes" in lines[-1]["detail"]) is (expected in (4, 7))
    assert ("I/O stays frozen" in lines[-1]["detail"]) is (expected in (1, 3, 6))
    # While it ran, its marker told hatui-check that the frozen I/O is being dealt with; gone now.
    assert (tmp_path / "marker.log").read_text().strip().isdigit()
    assert not (tmp_path / "state" / "fence-peer.r0").exists()


@pytest.mark.parametrize("role, expected", [("Secondary", 5), ("Primary", 1)])
def test_fence_peer_without_a_configured_peer_is_unreachable(tmp_path: Path, role: str, expected: int) -> None:
    env = _fence_env(tmp_path)
    (tmp_path / "role").write_text(role + "\n")
    conf = Path(env["HATUI_KIT_CONF"])
    conf.write_text(conf.read_text().replace("FENCE_PEER='10.83.0.12'", "FENCE_PEER=''"))
    rc, lines, calls = _fence(tmp_path, env, "fence")
    assert rc == expected and calls == [] and "FENCE_PEER not set" in lines[-1]["detail"]


@pytest.mark.parametrize("rcs, expected", [("0", 4), ("5", 3), ("17", 6), ("20", 5), ("11\n11\n0", 4)])
def test_serve_outdates_only_through_drbdadm_and_maps_its_refusals(tmp_path: Path, rcs: str, expected: int) -> None:
    env = _fence_env(tmp_path, SSH_ORIGINAL_COMMAND="outdate r0", SSH_CLIENT="10.83.0.2 40000 22")
    (tmp_path / "drbdadm.rcs").write_text(rcs + "\n")
    rc, lines, calls = _fence(tmp_path, env, "--serve")
    assert rc == expected
    assert set(calls) == {"drbdadm outdate r0"}  # retried while still connected (11), nothing else run
    assert "10.83.0.2" in lines[-1]["detail"] and lines[-1]["ok"] is (expected == 4)


@pytest.mark.parametrize("command", ["outdate r1", "primary r0", "outdate r0; rm -rf /", "outdate", "sh -c id",
                                     "outdate -r0", ""])
def test_serve_refuses_anything_but_outdate_or_unfence_of_its_resources(tmp_path: Path, command: str) -> None:
    env = _fence_env(tmp_path, SSH_ORIGINAL_COMMAND=command, SSH_CLIENT="10.83.0.2 40000 22")
    (tmp_path / "drbdadm.rcs").write_text("0\n")
    rc, lines, calls = _fence(tmp_path, env, "--serve")
    assert rc == 1 and calls == [] and "refused" in lines[-1]["detail"] and lines[-1]["ok"] is False


def test_unfence_tells_the_peer_and_authorized_key_is_forced(tmp_path: Path) -> None:
    env = _fence_env(tmp_path, DRBD_RESOURCE="r0")
    (tmp_path / "ssh.rc").write_text("0\n")
    rc, lines, calls = _fence(tmp_path, env, "unfence")
    assert rc == 0 and calls[-1].endswith("root@10.83.0.12 unfence r0")
    line = kit.authorized_fence_key("ssh-ed25519 AAAAC3Nza hatui-fence vm2", "/opt/kit")
    assert line.startswith('command="/opt/kit/hatui-fence-peer --serve",no-pty,no-port-forwarding,')
    with pytest.raises(kit.KitError):
        kit.authorized_fence_key('ssh-ed25519 AAAA" evil', "/opt/kit")
    res = kit.render_drbd_fencing(resource="r0", kit_dir="/opt/kit")
    assert "fencing resource-and-stonith;" in res and 'fence-peer "/opt/kit/hatui-fence-peer fence";' in res
