"""``hatui lab status``: what the lab made and what runs in it, from the host's side."""

from __future__ import annotations

import json
from pathlib import Path

from hatui.lab.host import netns, topology
from hatui.lab.host.faults import BLACKHOLE_MAC
from hatui.lab.host.lab import NAMES, Lab

PROGRAMS = {"sshd": "sshd", "keepalived": "keepalived", "drbd": "hatui.lab.drbd.daemon",
            "answerer": "hatui.lab.node.answerer",
            "nfs": "hatui.lab.node.nfs_standin", "dag": "hatui.lab.node.dag_standin"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def node_report(lab: Lab, name: str) -> dict:
    """Links, programs running, DRBD and mount facts of one node."""
    running = {key: False for key in PROGRAMS}
    for pid in netns.netns_pids(name):
        line = _cmdline(pid)
        for key, needle in PROGRAMS.items():
            if needle in line:
                running[key] = True
    loops = lab.state().get("loops") or {}
    local = lab.local_drbd(name)
    neigh = netns.run(["ip", "-n", name, "neigh", "show", "dev", "eth0"], check=False).stdout
    return {
        "name": name,
        "links": {dev: netns.link_is_up(name, dev) for dev in ("eth0", "eth1")},
        "vrrp_blocked": BLACKHOLE_MAC in neigh,
        "running": running,
        "drbd": {k: local.get(k) for k in ("role", "disk", "connection", "replication", "out_of_sync_kib")},
        "disk": (f"real ext4 on loop device {loops[name]}" if name in loops else
                 "emulated: a folder on the host's filesystem (this machine has no loop devices)"),
        "mount": "real bind mount of the emulated DRBD device's folder (on that disk) at /srv/ha",
    }


def report(lab: Lab) -> dict:
    up = lab.is_up()
    doc = {"up": up, "dir": str(lab.dir), "config": str(lab.config_path) if up else None,
           "bridge": netns.link_exists(topology.BRIDGE), "nodes": [], "client": None}
    if not up:
        return doc
    doc["nodes"] = [node_report(lab, n) for n in NAMES]
    pid = lab.state().get("client_pid")
    doc["client"] = {"running": bool(pid) and Path(f"/proc/{pid}").exists(), "log": str(lab.client_log)}
    return doc


def render(doc: dict) -> str:
    if not doc["up"]:
        return f"lab is down ({doc['dir']})"
    lines = [f"lab up: {doc['dir']}", f"  hatui --config {doc['config']} status", ""]
    for n in doc["nodes"]:
        links = " ".join(f"{dev}:{'up' if up else 'DOWN'}" for dev, up in n["links"].items())
        progs = " ".join(f"{k}{'✔' if v else '✖'}" for k, v in n["running"].items())
        d = n["drbd"]
        drbd = f"{d.get('role')}/{d.get('disk')} {d.get('connection')} {d.get('replication')}" if d.get("role") else "no answer"
        lines.append(f"{n['name']:<5} {links}{'  VRRP BLOCKED' if n['vrrp_blocked'] else ''}")
        lines.append(f"      running: {progs}")
        lines.append(f"      DRBD (emulated, replication over eth1): {drbd}")
        lines.append(f"      disk: {n['disk']}")
        lines.append(f"      mount: {n['mount']}")
    c = doc["client"]
    lines.append(f"client: {'running' if c and c['running'] else 'stopped'} (log {c['log'] if c else '-'})")
    return "\n".join(lines)


def as_json(doc: dict) -> str:
    return json.dumps(doc, indent=2)
