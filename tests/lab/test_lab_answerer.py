"""The lab node's answerer takes the poll's read-only calls, and says what the programs say."""

from __future__ import annotations

import json
import sys

from hatui.lab.host import netns
from hatui.lab.host.node_setup import HATUI_ROOT
from hatui.probes.systemd import parse_systemctl_show
from tests.lab.conftest import healthy

PROPS = "Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp"
UNITS = ("keepalived.service", "nfs-server.service", "airflow-dag-processor.service")


def in_node(node: str, script: str) -> str:
    out = netns.node_run(node, ["sh", "-c", script], check=False, timeout=20)
    assert out.returncode == 0, out.stderr
    return out.stdout


def program(node: str, module: str, *args: str) -> str:
    """The stand-in's Python program itself, as the wrapper runs it when the answerer does not answer."""
    out = netns.node_run(node, ["env", f"PYTHONPATH={HATUI_ROOT}", sys.executable, "-S", "-m", *module.split(),
                                *args], check=False, timeout=20)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_answerer_answers_the_polls_reads_as_the_programs_do(lab_pair):
    lab_pair.wait_status(healthy, what="a healthy pair")
    for node in ("vm2", "vm12"):
        reply = in_node(node, "printf 'drbdsetup\\0status\\0--json\\0' | nc -N -w 3 -U /run/hatui-lab/answer.sock")
        assert reply.rstrip().endswith("exit 0 # hatui-answer"), reply[-200:]
        # The same facts through the wrapper (answered) and through the program (statistics move between
        # the two calls: the client writes all the time).
        answered = json.loads(in_node(node, "drbdsetup status --json"))
        direct = json.loads(program(node, "hatui.lab.drbd.cli drbdsetup", "status", "--json"))
        assert [(r["name"], r["role"], [c["connection-state"] for c in r["connections"]]) for r in answered] == \
               [(r["name"], r["role"], [c["connection-state"] for c in r["connections"]]) for r in direct]
        shown = parse_systemctl_show(in_node(node, f"systemctl show -p {PROPS} {' '.join(UNITS)}")).units
        mine = parse_systemctl_show(program(node, "hatui.lab.node.systemctl", "show", "-p", PROPS, *UNITS)).units
        assert [(u.unit, u.active, u.main_pid) for u in shown] == [(u.unit, u.active, u.main_pid) for u in mine]
        assert in_node(node, "exportfs -v") == program(node, "hatui.lab.node.exportfs", "-v")
    # A call that changes state is never the answerer's: it runs the program (and refuses here as DRBD does).
    assert in_node("vm2", "printf 'drbdadm\\0primary\\0r0\\0' | nc -N -w 3 -U /run/hatui-lab/answer.sock") == ""
