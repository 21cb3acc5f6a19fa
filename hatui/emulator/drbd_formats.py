"""DRBD's own output formats, printed from the shared DRBD machine (demo and lab alike).

``drbdsetup status --json``, ``drbdadm status`` text (as drbd-utils 9 prints it
when stdout is not a terminal), ``/proc/drbd`` in DRBD 8.4 style, and the
``drbdsetup events2 --now`` initial dump. Each reads a :class:`MachineView`:
the machine and a wall clock, nothing of the demo's simulator or the lab's
daemon, so both answer hatui with the same text.
"""

from __future__ import annotations

import json
from typing import Protocol

from hatui.emulator.drbd_machine import CONNECTED, DrbdMachine


class MachineView(Protocol):
    """What the formats read: the DRBD machine and the node's wall clock."""

    drbd: DrbdMachine

    def wall(self) -> float: ...


def _num(value: float) -> float | int:
    """100 not 100.0: DRBD prints whole percentages without a fraction."""
    return int(value) if float(value).is_integer() else value


def drbd_status_json(sim: MachineView, name: str) -> str:
    """``drbdsetup status --json`` (DRBD 9), keys as the established fixture."""
    m, d, p = sim.drbd, sim.drbd.node(name), sim.drbd.peer(name)
    progress = m.sync_progress(name)
    peer_device: dict[str, object] = {
        "volume": 0, "replication-state": m.replication(name), "peer-disk-state": m.peer_disk(name),
        "peer-client": False, "resync-suspended": "no", "received": d.received_kib, "sent": d.sent_kib,
        "out-of-sync": m.out_of_sync_kib(name), "pending": 0, "unacked": 0,
        "has-sync-details": progress is not None, "has-online-verify-details": False,
        "percent-in-sync": _num(m.percent_in_sync(name)),
    }
    if progress is not None:
        verify = m.replication(name).startswith("Verify")
        peer_device["has-online-verify-details"] = verify
        peer_device["has-sync-details"] = not verify
    doc = [{
        "name": m.resource, "node-id": d.node_id, "role": d.role, "suspended": d.suspended is not None,
        "write-ordering": "flush",
        "devices": [{
            "volume": 0, "minor": m.minor, "disk-state": d.disk, "client": False, "quorum": True,
            "size": m.device_kib, "read": 0, "written": d.written_kib, "al-writes": 0, "bm-writes": 0,
            "upper-pending": 0, "lower-pending": 0,
        }],
        "connections": [{
            "peer-node-id": p.node_id, "name": p.name, "connection-state": d.conn, "congested": False,
            "peer-role": m.peer_role(name), "ap-in-flight": 0, "rs-in-flight": 0,
            "peer_devices": [peer_device],
        }],
    }]
    return json.dumps(doc, indent=2) + "\n"


def drbdadm_status(sim: MachineView, name: str) -> str:
    """``drbdadm status`` text as drbd-utils 9 prints it when stdout is not a tty."""
    m, d, p = sim.drbd, sim.drbd.node(name), sim.drbd.peer(name)
    susp = f" suspended:{d.suspended}" if d.suspended else ""
    lines = [f"{m.resource} role:{d.role}{susp}", f"  disk:{d.disk} client:no"]
    if d.conn != CONNECTED:
        lines.append(f"  {p.name} connection:{d.conn}")
    else:
        lines.append(f"  {p.name} role:{m.peer_role(name)}")
        fields = []
        repl = m.replication(name)
        if repl != "Established":
            fields.append(f"replication:{repl}")
        fields.append(f"peer-disk:{m.peer_disk(name)}")
        progress = m.sync_progress(name)
        if progress is not None:
            fields.append(f"done:{progress['done']:.2f}")
        fields.append("peer-client:no")
        lines.append("    " + " ".join(fields))
    return "\n".join(lines) + "\n\n"


def proc_drbd(sim: MachineView, name: str) -> str:
    """``cat /proc/drbd`` in DRBD 8.4 style (the oldest fallback source)."""
    m, d = sim.drbd, sim.drbd.node(name)
    repl = m.replication(name)
    if d.conn == CONNECTED:
        cs = "Connected" if repl == "Established" else repl
    else:
        cs = {"Connecting": "WFConnection", "Unconnected": "WFConnection"}.get(d.conn, d.conn)
    peer_role = m.peer_role(name)
    oos = m.out_of_sync_kib(name)
    out = [
        "version: 8.4.11 (api:1/proto:86-101)",
        f" {m.minor}: cs:{cs} ro:{d.role}/{peer_role} ds:{d.disk}/{m.peer_disk(name)} C {'s' if d.suspended else 'r'}-----",
        f"    ns:{d.sent_kib} nr:{d.received_kib} dw:{d.written_kib} dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 "
        f"ep:1 wo:f oos:{oos}",
    ]
    progress = m.sync_progress(name)
    if progress is not None:
        done = progress["done"]
        bar = int(done / 5)
        total_m = int(progress["total_kib"] // 1024)
        left_m = int(progress["left_kib"] // 1024)
        eta = int(progress["eta_s"])
        speed = f"{int(progress['speed_kib_s']):,}"
        label = "verified" if repl.startswith("Verify") else "sync'ed"
        out.append(f"\t[{'=' * bar}>{'.' * (19 - bar)}] {label}: {done:.1f}% ({left_m}/{total_m})M")
        out.append(f"\tfinish: {eta // 3600}:{eta // 60 % 60:02d}:{eta % 60:02d} speed: {speed} ({speed}) K/sec")
    return "\n".join(out) + "\n"


def drbd_events2_now(sim: MachineView, name: str, *, statistics: bool = False, timestamps: bool = False) -> str:
    """``drbdsetup events2 --now [--statistics] [--timestamps]``: the initial dump, ``exists -`` last."""
    return "\n".join(sim.drbd.events.dump(name, statistics=statistics, timestamps=timestamps, wall=sim.wall())) + "\n"
