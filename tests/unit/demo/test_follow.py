"""The demo shell's commands that keep running: which command lines stream, and what they stream."""

from __future__ import annotations

import json

import pytest

from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.node_shell import NodeShell
from hatui.probes.catalog import NODE_JOURNAL_PATH as JOURNAL


@pytest.fixture
def shell() -> NodeShell:
    return NodeShell(ClusterSim(), "vm12")


@pytest.mark.parametrize("command", [
    "drbdsetup events2 --now", "drbdsetup events2 --now --statistics all", "drbdsetup events2 r9",
    "drbdsetup events2 --bogus", "drbdsetup status", "drbdsetup events2 | head -n 3",
    "drbdsetup events2 && echo x", f"tail -n 5 {JOURNAL}", "tail -F /etc/hostname", f"tail -n +3 -F {JOURNAL}",
    "sh -c 'drbdsetup events2'", "",
])
def test_one_shot_commands_do_not_stream(shell: NodeShell, command: str) -> None:
    assert shell.follow(command) is None


@pytest.mark.parametrize("command", [
    "drbdsetup events2", "drbdsetup events2 all", "drbdsetup events2 --timestamps --statistics r0",
    "sudo -n drbdsetup events2 --full all 2>&1", "LC_ALL=C timeout 3600 /usr/sbin/drbdsetup events2 -s",
])
def test_events2_without_now_streams_dump_then_changes(shell: NodeShell, command: str) -> None:
    follow = shell.follow(command)
    assert follow is not None
    assert follow.first.endswith("exists -\n") and follow.first.count("\n") == 5
    assert follow.take() == ""
    shell.sim.drbd.disconnect("vm12")
    lines = follow.take().splitlines()
    assert "change connection name:r0 peer-node-id:0 conn-name:vm2 connection:StandAlone" in lines[0]
    assert lines[0].startswith("change ") != ("--timestamps" in command)
    assert follow.take() == ""  # each line once
    follow.close()
    assert shell.sim.drbd.events.subscribers == 0


def test_full_prints_every_field_on_each_change(shell: NodeShell) -> None:
    follow = shell.follow("drbdsetup events2 --full")
    shell.sim.drbd.disconnect("vm12")
    resource_or_conn = follow.take().splitlines()[0]
    assert resource_or_conn == ("change connection name:r0 peer-node-id:0 conn-name:vm2 connection:StandAlone "
                                "role:Unknown congested:no ap-in-flight:0 rs-in-flight:0")
    shell.sim.drbd.secondary("vm2")
    shell.sim.drbd.primary("vm12", force=True)
    assert follow.take().splitlines()[0] == "change resource name:r0 role:Primary suspended:no write-ordering:flush"
    follow.close()


def test_tail_follows_the_kit_journal(shell: NodeShell) -> None:
    sim = shell.sim
    sim.record("vm12", "older", "one")
    sim.record("vm12", "old", "two")
    assert [json.loads(x)["step"] for x in shell.follow(f"tail -n 1 -F {JOURNAL}").first.splitlines()] == ["old"]
    follow = shell.follow(f"sudo -n tail -n0 -F --retry {JOURNAL}")
    assert follow.first == ""
    sim.record("vm12", "promote", "drbdadm primary r0")
    sim.record("vm2", "elsewhere", "not this node's journal")
    entries = [json.loads(x) for x in follow.take().splitlines()]
    assert [(e["node"], e["step"]) for e in entries] == [("vm12", "promote")]
    assert follow.take() == ""
    sim.record("vm12", "mount", "/srv")
    assert json.loads(follow.take())["step"] == "mount"
