"""Plans: contents, order, exact commands, quoting, never --force."""

from __future__ import annotations

import dataclasses
import shlex

import pytest

from hatui.states import Role

from hatui.actions import PlanError, plan_failback, plan_failover, plan_resync
from hatui.actions.plan import Commands
from hatui.config import parse_config
from hatui.states import ConnectionState, Role
from tests import builders as b
from tests.unit.actions.support import FakeCluster


def test_failover_order_nodes_and_commands():
    snap = b.healthy()
    plan = plan_failover(snap, snap.config)
    assert (plan.kind, plan.source, plan.target, plan.confirm_node) == ("failover", "vm2", "vm12", "vm12")
    got = [(s.node, s.phase, s.command) for s in plan.steps]
    assert got == [
        ("vm2", "detect", "sudo -n systemctl stop airflow-dag-processor.service"),
        ("vm2", "detect", "sudo -n systemctl stop nfs-server.service"),
        ("vm2", "detect", "sudo -n umount /srv/ha"),
        ("vm2", "detect", "sudo -n drbdadm secondary r0"),
        ("vm12", "promote", "sudo -n drbdadm primary r0"),
        ("vm12", "mount", "sudo -n mount -t ext4 /dev/drbd0 /srv/ha"),
        ("vm12", "services", "sudo -n systemctl start nfs-server.service"),
        ("vm12", "services", "sudo -n systemctl start airflow-dag-processor.service"),
        ("vm2", "vip", "sudo -n systemctl stop keepalived.service"),
        ("vm2", "vip", "sudo -n systemctl start keepalived.service"),
        ("vm2", "available", "timeout 3 nc -z -w 2 192.168.83.200 2049"),
    ]
    assert [s.budget(snap.config) for s in plan.steps][:6] == [10, 10, 10, 10, 20, 25]
    assert plan.steps[8].point_of_no_return and plan.steps[8].undo is None
    assert all(s.undo is not None for s in plan.steps[:8])
    text = "\n".join(plan.describe())
    assert "$ sudo -n drbdadm primary r0" in text and "vm12: promote DRBD r0" in text


def test_failover_checks_follow_the_cluster():
    cluster = FakeCluster()
    plan = plan_failover(cluster.snapshot(), cluster.config)
    assert not plan.steps[0].check(cluster.snapshot())
    cluster.nodes["vm2"].units["airflow-dag-processor.service"] = False
    assert plan.steps[0].check(cluster.snapshot())
    assert not plan.steps[8].check(cluster.snapshot())  # VIP still on vm2


def test_failover_to_an_explicit_target_and_unknown_names():
    snap = b.healthy()
    assert plan_failover(snap, snap.config, target="vm12").source == "vm2"
    with pytest.raises(PlanError, match="no node named 'vm3'"):
        plan_failover(snap, snap.config, target="vm3")
    with pytest.raises(PlanError, match="already the active node"):
        plan_failover(snap, snap.config, target="vm2")


def test_failover_needs_a_target_when_the_active_node_is_ambiguous():
    # Both DRBD Primary: the active node (the Primary that serves) is ambiguous.
    a = b.node("vm2", active=True, peer="vm12")
    c = b.set_drbd(b.node("vm12", active=False, peer="vm2"), role=Role.PRIMARY)
    snap = b.cluster(a, c)
    with pytest.raises(PlanError, match="cannot tell which node is active") as err:
        plan_failover(snap, snap.config)
    assert "--to NODE" in str(err.value)


def test_failback_goes_to_the_preferred_node():
    a = b.node("vm2", active=False, peer="vm12")
    c = b.node("vm12", active=True, peer="vm2")
    snap = b.cluster(a, c)
    plan = plan_failback(snap, snap.config)
    assert (plan.kind, plan.source, plan.target) == ("failback", "vm12", "vm2")
    assert plan.steps[4].command == "sudo -n drbdadm primary r0" and plan.steps[4].node == "vm2"
    with pytest.raises(PlanError, match="already the active node"):
        plan_failback(b.healthy(), snap.config)


def test_recent_role_change_is_a_warning_with_its_own_code():
    snap = b.healthy()
    node = snap.nodes[0]  # the active node became MASTER 30 s ago (the standby's transitions do not count)
    recent = dataclasses.replace(node, vrrp=dataclasses.replace(node.vrrp, last_transition=snap.taken_at - 30))
    snap = b.cluster(recent, snap.nodes[1])
    plan = plan_failover(snap, snap.config, min_age=300)
    assert [w.code for w in plan.warnings] == ["recent-role-change"]
    assert "30s ago" in plan.warnings[0].message
    assert plan_failover(snap, snap.config, min_age=10).warnings == ()


def test_no_plan_ever_uses_force():
    snap = b.healthy()
    with pytest.raises(PlanError):
        Commands(snap.config).drbdadm("primary", "r0", "--force")
    for plan in (plan_failover(snap, snap.config), plan_resync("verify", snap, snap.config),
                 plan_resync("full", snap, snap.config)):
        assert all("--force" not in (s.command or "") for s in plan.steps)


QUOTING = """
[cluster]
command_prefix = "sudo -n -u root"
[[nodes]]
name = "alpha"
host = "a.example"
[[nodes]]
name = "beta"
host = "b.example"
[vip]
address = "10.0.0.9/24"
interface = "eth0"
[[drbd]]
resource = "data+1"
device = "/dev/drbd1"
mount_point = "/srv/ha,data@x:1"
[[drbd]]
resource = "logs"
device = "/dev/drbd2"
mount_point = "/srv/logs"
fs_type = "xfs"
[services.nfs]
unit = "nfs-server@main.service"
[services.dag_processor]
unit = "dag:proc.service"
"""


def test_commands_are_quoted_words_from_config_values_with_the_prefix():
    cfg = parse_config(QUOTING)
    from hatui.actions.failover import switchover_steps

    steps = switchover_steps(cfg, "alpha", "beta")
    words = [shlex.split(s.command) for s in steps]
    assert all(w[:4] == ["sudo", "-n", "-u", "root"] for w in words[:-1])
    assert ["sudo", "-n", "-u", "root", "umount", "/srv/logs"] == words[2]  # reverse order: last mounted first
    assert ["sudo", "-n", "-u", "root", "umount", "/srv/ha,data@x:1"] == words[3]
    assert ["drbdadm", "secondary", "data+1"] == words[4][4:]
    assert ["mount", "-t", "xfs", "/dev/drbd2", "/srv/logs"] == words[9][4:]
    assert words[-1] == ["timeout", "3", "nc", "-z", "-w", "2", "10.0.0.9", "2049"]


def test_config_refuses_shell_syntax_before_any_plan():
    from hatui.errors import ConfigError

    with pytest.raises(ConfigError, match="mount_point"):
        parse_config(QUOTING.replace("/srv/logs", "/srv/logs; rm -rf /"))


def _standalone(snap_node, role=None):
    return b.set_drbd(snap_node, connection=ConnectionState.STANDALONE, role=role)


def test_reconnect_connects_the_standalone_side_then_waits_for_sync():
    snap = b.healthy()
    s = b.cluster(snap.nodes[0], _standalone(snap.nodes[1]))
    plan = plan_resync("reconnect", s, s.config)
    assert [(x.node, x.command) for x in plan.steps] == [
        ("vm12", "sudo -n drbdadm connect r0"), ("vm2", None), ("vm12", None)]
    assert plan.steps[-1].progress == "r0" and plan.target == "vm12"
    with pytest.raises(PlanError, match="nothing to reconnect"):
        plan_resync("reconnect", snap, snap.config)


def test_split_brain_plan_demotes_and_discards_on_the_victim_only():
    snap = b.healthy()
    a = _standalone(snap.nodes[0])
    v = _standalone(b.set_drbd(snap.nodes[1], role=Role.PRIMARY))
    s = b.cluster(a, v)
    with pytest.raises(PlanError, match="choose the victim"):
        plan_resync("split-brain", s, s.config)
    plan = plan_resync("split-brain", s, s.config, victim="vm12")
    assert plan.confirm_node == "vm12" and plan.source == "vm2"
    assert [(x.node, x.command) for x in plan.steps if x.command] == [
        ("vm12", "sudo -n drbdadm disconnect r0"), ("vm12", "sudo -n drbdadm secondary r0"),
        ("vm12", "sudo -n drbdadm connect --discard-my-data r0"),
        ("vm2", "sudo -n drbdadm disconnect r0"), ("vm2", "sudo -n drbdadm connect r0")]
    assert any("vm2: DRBD r0 Primary now" in e for e in plan.evidence)
    assert any("both were Primary" in e for e in plan.evidence)


def test_split_brain_on_the_serving_node_stops_and_unmounts_it_first():
    snap = b.healthy()
    s = b.cluster(_standalone(snap.nodes[0]), _standalone(b.set_drbd(snap.nodes[1], role=Role.PRIMARY)))
    plan = plan_resync("split-brain", s, s.config, victim="vm2")
    cmds = [x.command for x in plan.steps if x.node == "vm2" and x.command]
    assert cmds[:4] == ["sudo -n systemctl stop airflow-dag-processor.service",
                        "sudo -n systemctl stop nfs-server.service", "sudo -n umount /srv/ha",
                        "sudo -n drbdadm disconnect r0"]
    assert any("holds the VIP" in n for n in plan.notes)


def test_full_resync_invalidates_the_secondary_and_verify_runs_on_the_primary():
    snap = b.healthy()
    full = plan_resync("full", snap, snap.config)
    assert (full.steps[0].node, full.steps[0].command) == ("vm12", "sudo -n drbdadm invalidate r0")
    assert full.confirm_node == "vm12" and full.steps[0].point_of_no_return
    verify = plan_resync("verify", snap, snap.config)
    assert (verify.steps[0].node, verify.steps[0].command) == ("vm2", "sudo -n drbdadm verify r0")
    assert verify.steps[-1].progress == "r0"
    with pytest.raises(PlanError, match="unknown resync flow"):
        plan_resync("sideways", snap, snap.config)
