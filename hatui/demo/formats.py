"""Render one simulated node's state in the real tools' output formats (DRBD's own are in
:mod:`hatui.emulator.drbd_formats`, shared with the lab).

Every function returns exactly what the real command prints on stdout (shapes
checked against the fixtures in tests/fixtures and the tools' sources), so
hatui's parsers see no difference between the demo and a real node.
"""

from __future__ import annotations

import json
import time
from typing import Sequence

from hatui.emulator import tool_text
from hatui.demo.cluster_sim import ClusterSim
from hatui.emulator.drbd_machine import BACKING_KIB
from hatui.emulator.tool_text import systemd_timestamp

_FOREVER = 4294967295
_KA_STATE = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}


def _mac(index: int) -> str:
    return f"52:54:00:83:00:{index:02x}"


# ---- network and keepalived ---------------------------------------------------------


def ip_addr_json(sim: ClusterSim, name: str) -> str:
    """``ip -j addr``: lo and the service interface, the VIP as a labelled secondary."""
    node = sim.node(name)
    idx = sim.names.index(name) + 1
    vip_addr, vip_len = sim.vip.split("/")
    lo = {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "mtu": 65536,
          "qdisc": "noqueue", "operstate": "UNKNOWN", "group": "default", "txqlen": 1000,
          "link_type": "loopback", "address": "00:00:00:00:00:00", "broadcast": "00:00:00:00:00:00",
          "addr_info": [
              {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo",
               "valid_life_time": _FOREVER, "preferred_life_time": _FOREVER},
              {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host",
               "valid_life_time": _FOREVER, "preferred_life_time": _FOREVER}]}
    addrs: list[dict[str, object]] = [
        {"family": "inet", "local": node.address, "prefixlen": int(vip_len), "scope": "global",
         "label": sim.interface, "valid_life_time": _FOREVER, "preferred_life_time": _FOREVER}]
    if node.vip:
        addrs.append({"family": "inet", "local": vip_addr, "prefixlen": int(vip_len), "scope": "global",
                      "secondary": True, "label": f"{sim.interface}:vip",
                      "valid_life_time": _FOREVER, "preferred_life_time": _FOREVER})
    addrs.append({"family": "inet6", "local": f"fe80::5054:ff:fe83:{idx:x}", "prefixlen": 64, "scope": "link",
                  "valid_life_time": _FOREVER, "preferred_life_time": _FOREVER})
    eth = {"ifindex": 2, "ifname": sim.interface, "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
           "mtu": 1500, "qdisc": "fq_codel", "operstate": "UP", "group": "default", "txqlen": 1000,
           "link_type": "ether", "address": _mac(idx), "broadcast": "ff:ff:ff:ff:ff:ff", "addr_info": addrs}
    return json.dumps([lo, eth], separators=(",", ":")) + "\n"


def keepalived_json(sim: ClusterSim, name: str) -> str:
    """The file keepalived writes on its JSON signal (``/tmp/keepalived.json``)."""
    node = sim.node(name)
    ka = node.ka
    state = _KA_STATE.get(ka.state, 0)
    vip = f"{sim.vip} dev {sim.interface} scope global label {sim.interface}:vip" + (" set" if node.vip else "")
    data = {
        "iname": "VI_1", "dont_track_primary": 0, "skip_check_adv_addr": 0, "strict_mode": 0,
        "vmac_ifname": "", "ifp_ifname": sim.interface, "master_priority": ka.master_priority,
        "last_transition": round(ka.last_transition, 6), "garp_delay": 5, "garp_refresh": 0, "garp_rep": 5,
        "garp_refresh_rep": 1, "garp_lower_prio_delay": 5, "garp_lower_prio_rep": 5,
        "lower_prio_no_advert": 0, "higher_prio_send_advert": 0, "vrid": 83,
        "base_priority": node.priority, "effective_priority": node.priority, "vipset": node.vip,
        "promote_secondaries": False, "adver_int": int(sim.advert_int), "master_adver_int": int(sim.advert_int),
        "accept": 1, "nopreempt": True, "preempt_delay": 0, "state": state, "wantstate": state,
        "version": 2, "smtp_alert": False, "notify_deleted": False, "vips": [vip], "auth_type": 0,
    }
    stats = {
        "advert_rcvd": ka.advert_rcvd, "advert_sent": ka.advert_sent, "become_master": ka.become_master,
        "release_master": ka.release_master, "packet_len_err": 0, "advert_interval_err": 0, "ip_ttl_err": 0,
        "invalid_type_rcvd": 0, "addr_list_err": 0, "invalid_authtype": 0, "authtype_mismatch": 0,
        "auth_failure": 0, "pri_zero_rcvd": ka.pri_zero_rcvd, "pri_zero_sent": ka.pri_zero_sent,
    }
    # keepalived's JSON writer escapes "/" as "\/"; both are valid JSON.
    return json.dumps([{"data": data, "stats": stats}], separators=(",", ":")).replace("/", "\\/")


# ---- systemd, mounts, disks, NFS -------------------------------------------------------

def systemctl_show(sim: ClusterSim, name: str, props: Sequence[str], units: Sequence[str]) -> str:
    """``systemctl show -p A,B U1 U2``: KEY=VALUE blocks separated by a blank line."""
    known = set(sim.node(name).units)
    blocks = []
    for unit_name in units:
        if "." not in unit_name:
            unit_name += ".service"
        unit = sim.unit(name, unit_name) if unit_name in known else None
        values = {
            "Id": unit_name, "Names": unit_name, "Type": "simple", "Restart": "no",
            "LoadState": "loaded" if unit else "not-found",
            "ActiveState": "active" if unit and unit.active else "inactive",
            "SubState": "running" if unit and unit.active else "dead",
            "MainPID": str(unit.main_pid if unit else 0), "ExecMainPID": str(unit.main_pid if unit else 0),
            "ActiveEnterTimestamp": systemd_timestamp(unit.enter_wall if unit else None),
            "Description": unit_name, "UnitFileState": "enabled" if unit else "", "Result": "success",
        }
        blocks.append(tool_text.show_block(values, props))
    return tool_text.show_text(blocks)


def findmnt_json(sim: ClusterSim, name: str, columns: Sequence[str], mountpoint: str) -> tuple[str, int]:
    """``findmnt -J -o ... --mountpoint X``: nothing and exit 1 when not mounted."""
    node = sim.node(name)
    if not node.mounted or mountpoint.rstrip("/") != sim.mount_point:
        return "", 1
    values = {"target": sim.mount_point, "source": sim.device, "fstype": sim.fs_type,
              "options": "rw,relatime", "fsroot": "/", "size": None}
    cols = [c.lower() for c in columns] or ["target", "source", "fstype", "options"]
    entry = {c: values.get(c) for c in cols}
    return json.dumps({"filesystems": [entry]}, indent=3) + "\n", 0


def lsblk_json(sim: ClusterSim, name: str, columns: Sequence[str], devices: Sequence[str]) -> tuple[str, int]:
    """``lsblk -J -b -o NAME,PATH,... /dev/vdb``: the backing disk with drbd0 as its holder."""
    node = sim.node(name)
    cols = [c.lower() for c in columns] or ["name", "maj:min", "rm", "size", "ro", "type", "mountpoint"]

    def row(dev_name: str, path: str, size: int, mnt: str | None) -> dict[str, object]:
        values = {"name": dev_name, "path": path, "type": "disk", "size": size, "ro": False, "rm": False,
                  "state": None, "mountpoint": mnt, "mountpoints": [mnt], "maj:min": "252:16", "fstype": None}
        return {c: values.get(c) for c in cols}

    disk = row(sim.backing_disk.rsplit("/", 1)[-1], sim.backing_disk, BACKING_KIB * 1024, None)
    drbd = row(sim.device.rsplit("/", 1)[-1], sim.device, sim.drbd.device_kib * 1024,
               sim.mount_point if node.mounted else None)
    disk["children"] = [drbd]
    for dev in devices:
        if dev not in (sim.backing_disk, sim.device):
            return "", 32
    return json.dumps({"blockdevices": [disk]}, indent=3) + "\n", 0


def exportfs_v(sim: ClusterSim, name: str) -> str:
    """``exportfs -v``: nothing while the NFS server is down (layout in :func:`hatui.emulator.tool_text.exportfs_v`)."""
    node = sim.node(name)
    if not node.units[sim.nfs_unit].active:
        return ""
    return tool_text.exportfs_v(sim.exports)


def date_output(wall: float, fmt: str | None) -> str:
    """``date`` with the few formats hatui uses (+%s.%N, +%s, default)."""
    if fmt is None:
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(wall)) + "\n"
    nanos = f"{int((wall % 1) * 1e9):09d}"
    text = fmt.lstrip("+").replace("%s", str(int(wall))).replace("%N", nanos)
    return time.strftime(text, time.gmtime(wall)) + "\n"
