"""``hatui lab up|down|status|fault``: the network-namespace pair with real sshd and keepalived.

``up`` builds the pair (see :mod:`hatui.lab.host.topology` for the network and
:mod:`hatui.lab.host.node_setup` for a node), boots both nodes and lets keepalived
and the node kit elect vm2 and bring its stack up on their own, then writes a
hatui config (``LAB_DIR/config.toml``) and known_hosts for it. Everything the
lab makes is listed in ``LAB_DIR/lab.json`` as it is made, so ``down`` can
remove it all even after a failed ``up``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import time
from pathlib import Path

from hatui.lab.host import netns, topology
from hatui.lab.host.netns import LabError
from hatui.lab.host.node_setup import (BACKING_DISK, HOST_MOUNT_POINTS, PY, NodeFiles, boot, check_host_paths,
                                       node_env_for, prepare_disk, reboot_cleanup, setup_mounts, sshd_config, wait_for,
                                       write_wrappers)

DEFAULT_DIR = Path("/var/lib/hatui-lab")
NAMES = tuple(n.name for n in topology.NODES)
REQUIRED = ("ip", "nsenter", "unshare", "losetup", "mkfs.ext4", "/usr/sbin/sshd", "/usr/sbin/keepalived")


def lab_dir(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get("HATUI_LAB_DIR") or DEFAULT_DIR)


def check_host() -> None:
    """Root on Linux with the tools the lab needs, or one clear error."""
    if platform.system() != "Linux":
        raise LabError("the lab needs Linux network namespaces (this is " + platform.system() + ")")
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, veth, loop devices): run it with sudo")
    missing = [t for t in REQUIRED if shutil.which(t) is None and not os.access(t, os.X_OK)]
    if missing:
        raise LabError("missing: " + ", ".join(missing) + " (apt-get install iproute2 util-linux e2fsprogs "
                       "openssh-server keepalived)")


class Lab:
    """One lab instance rooted at ``LAB_DIR``."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.dir = lab_dir(directory)
        self.state_file = self.dir / "lab.json"

    # ---- state ---------------------------------------------------------------------------

    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _remember(self, key: str, value) -> None:
        state = self.state()
        state[key] = value
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def remember_hung(self, name: str, pids: list[int]) -> None:
        """The processes ``hatui lab fault hang`` stopped on ``name`` (unhang continues them)."""
        hung = self.state().get("hung") or {}
        hung[name] = sorted(set(hung.get(name, [])) | set(pids))
        self._remember("hung", hung)

    def forget_hung(self, name: str) -> list[int]:
        hung = self.state().get("hung") or {}
        pids = hung.pop(name, [])
        self._remember("hung", hung)
        return pids

    def files(self, name: str) -> NodeFiles:
        return NodeFiles(self.dir, name)

    @property
    def config_path(self) -> Path:
        return self.dir / "config.toml"

    def is_up(self) -> bool:
        return self.state().get("up", False) and all(netns.netns_exists(n) for n in NAMES)

    # ---- up ------------------------------------------------------------------------------

    def up(self, *, log=print) -> Path:
        """Build and boot the pair; returns the hatui config path. Idempotent when already up."""
        check_host()
        check_host_paths(self.dir)
        if self.is_up():
            log(f"lab already up: {self.config_path}")
            return self.config_path
        for name in (*NAMES, topology.CLIENT_NS):
            if netns.netns_exists(name) and not self.state():
                raise LabError(f"a network namespace named {name} exists and is not the lab's: remove it first "
                               f"(ip netns del {name})")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._remember("created_dirs", [p for p in HOST_MOUNT_POINTS if not Path(p).exists()])
        self._remember("namespaces", [*NAMES, topology.CLIENT_NS])
        log("network: bridge, namespaces vm2 vm12 client, replication link")
        netns.ensure_bridge(topology.BRIDGE, topology.BRIDGE_ADDR)
        for node in topology.NODES:
            netns.create_node_namespaces(node.name, node.name)
            netns.veth_to_bridge(node.host_veth, node.netns, "eth0", node.public_addr, topology.BRIDGE)
        netns.run(["ip", "netns", "add", topology.CLIENT_NS], check=False)
        netns.run(["ip", "-n", topology.CLIENT_NS, "link", "set", "lo", "up"])
        netns.veth_to_bridge("hl-client", topology.CLIENT_NS, "eth0", topology.CLIENT_ADDR, topology.BRIDGE)
        a, b = topology.NODES
        netns.veth_between(a.netns, a.repl_addr, b.netns, b.repl_addr, "eth1")
        keys = self._keys()
        bin_dir = self.dir / "bin"
        write_wrappers(bin_dir)
        loops = {}
        for node in topology.NODES:
            files = self.files(node.name)
            self._write_node_files(node, files, keys)
            loop = prepare_disk(files)
            if loop:
                loops[node.name] = loop
            self._remember("loops", loops)
            setup_mounts(files, loops.get(node.name), bin_dir)
            reboot_cleanup(files)
        log("boot: DRBD emulator and sshd on both nodes")
        for node in topology.NODES:
            boot(self.files(node.name), start_keepalived=False)
        self.wait_drbd_connected()
        # vm2 first: keepalived elects it, and the node kit promotes, mounts and starts the services.
        log("keepalived on vm2: election and takeover by the node kit")
        netns.node_run(a.name, ["systemctl", "start", "keepalived.service"], timeout=20)
        self.wait_serving(a.name, timeout=30)
        netns.node_run(b.name, ["systemctl", "start", "keepalived.service"], timeout=20)
        self._write_config(keys, with_disk=len(loops) == len(NAMES))
        self._remember("up", True)
        log(f"lab up: hatui --config {self.config_path} status")
        return self.config_path

    def _keys(self) -> dict[str, str]:
        """Client key, one host key and one fencing key per node (made once); public parts returned."""
        out = {"client": _key_pair(self.dir / "id_ed25519", "hatui-lab client")}
        for node in topology.NODES:
            out[node.name] = _key_pair(self.files(node.name).sub("etc") / "ssh_host_ed25519_key",
                                       f"hatui-lab {node.name}")
            # The node's fencing key (kit/ is /etc/hatui on the node): the peer lets it run
            # hatui-fence-peer --serve and nothing else.
            out[f"fence-{node.name}"] = _key_pair(self.files(node.name).sub("kit") / "fence_ed25519",
                                                  f"hatui-fence {node.name}")
        return out

    def _write_node_files(self, node: topology.LabNode, files: NodeFiles, keys: dict[str, str]) -> None:
        from hatui.lab.host import kit

        etc = files.sub("etc")
        etc.mkdir(parents=True, exist_ok=True)
        node_env_for(node, NAMES).write(etc)
        peer = topology.peer(node.name)
        (etc / "authorized_keys").write_text(keys["client"] + "\n" +
                                             kit.authorized_fence_key(keys[f"fence-{peer.name}"], kit.KIT_DIR))
        (etc / "drbd.res").write_text(kit.render_drbd_fencing(resource="r0", kit_dir=kit.KIT_DIR))
        (etc / "sshd_config").write_text(sshd_config(node))
        (etc / "keepalived.conf").write_text(kit.render_keepalived_conf(
            node=node.name, priority=node.priority, instance=topology.INSTANCE, interface=topology.VIP_INTERFACE,
            vip=topology.VIP, vip_label=topology.VIP_LABEL, vrid=topology.VRID, advert_int=topology.ADVERT_INT,
            kit_dir=str(kit.KIT_DIR), unicast_src=node.public_ip, unicast_peer=peer.public_ip))
        kit_dir = files.sub("kit")
        kit_dir.mkdir(parents=True, exist_ok=True)
        (kit_dir / "kit.conf").write_text(kit.render_kit_conf(
            node=node.name, resource="r0", device="/dev/drbd0", mount_point="/srv/ha", fs_type="ext4",
            nfs_unit="nfs-server.service", dag_unit="airflow-dag-processor.service", vip=topology.VIP,
            vip_interface=topology.VIP_INTERFACE, journal="/var/lib/hatui/journal.jsonl", nfs_port=2049,
            step_timeout=10, fence_peer=peer.public_ip, fence_key="/etc/hatui/fence_ed25519",
            fence_known_hosts="/etc/hatui/fence_known_hosts", fence_resources="r0"))
        (kit_dir / "fence_known_hosts").write_text(f"{peer.public_ip} {keys[peer.name]}\n")

    def _write_config(self, keys: dict[str, str], *, with_disk: bool = True) -> None:
        q = json.dumps
        lines = [
            "# hatui config for the network-namespace lab (written by `hatui lab up`)",
            "[cluster]", 'name = "lab"', "poll_interval = 1.0", "command_timeout = 10.0", "connect_timeout = 3.0",
            'command_prefix = ""', 'preferred_node = "vm2"', "",
        ]
        for node in topology.NODES:
            lines += ["[[nodes]]", f"name = {q(node.name)}", f"host = {q(node.public_ip)}", "port = 22",
                      'user = "root"', f"identity_file = {q(str(self.dir / 'id_ed25519'))}",
                      f"known_hosts = {q(str(self.dir / 'known_hosts'))}", ""]
        lines += ["[vip]", f"address = {q(topology.VIP)}", f"interface = {q(topology.VIP_INTERFACE)}", "",
                  "[keepalived]", f"instance = {q(topology.INSTANCE)}", 'unit = "keepalived.service"',
                  'pid_file = "/run/keepalived.pid"', 'json_file = "/tmp/keepalived.json"', "",
                  "[[drbd]]", 'resource = "r0"', 'device = "/dev/drbd0"', 'mount_point = "/srv/ha"',
                  'fs_type = "ext4"', *([f"backing_disk = {q(BACKING_DISK)}"] if with_disk else []), "",
                  "[services.nfs]", 'unit = "nfs-server.service"', 'exports = ["/srv/ha"]', "",
                  "[services.dag_processor]", 'unit = "airflow-dag-processor.service"', ""]
        self.config_path.write_text("\n".join(lines))
        known = "".join(f"{n.public_ip} {keys[n.name]}\n" for n in topology.NODES)
        (self.dir / "known_hosts").write_text(known)

    # ---- waiting on the pair -------------------------------------------------------------------

    def drbd_state(self, name: str) -> dict:
        """The node's DRBD emulator state (its ``state`` op), {} when it does not answer."""
        from hatui.lab.drbd.api import request

        try:
            return request(str(self.files(name).lab_run / "drbd.sock"), {"op": "state"}, timeout=2.0)
        except (OSError, ValueError):
            return {}

    def local_drbd(self, name: str) -> dict:
        """The node's own DRBD fields (role, disk, connection …) as its emulator reports them."""
        st = self.drbd_state(name)
        return (st.get("nodes") or {}).get(name, {})

    def wait_drbd_connected(self, timeout: float = 20) -> None:
        wait_for(lambda: all(self.local_drbd(n).get("connection") == "Connected" for n in NAMES), timeout,
                 "DRBD did not connect between vm2 and vm12 (see LAB_DIR/<node>/run/hatui-lab/log/drbd.log)")

    def wait_serving(self, name: str, timeout: float = 30) -> None:
        ready = self.files(name).lab_run / "nfs.ready"
        wait_for(ready.exists, timeout, f"{name} did not take over: see its journal "
                 f"{self.files(name).sub('journal') / 'journal.jsonl'} and keepalived log")

    # ---- down ------------------------------------------------------------------------------------

    def down(self, *, log=print) -> None:
        """Remove every namespace, link, loop device, mount and process the lab made."""
        check_host()
        state = self.state()
        self.client_stop()
        for name in state.get("namespaces") or self._orphans():
            netns.delete_node_namespaces(name)
        loops = set((state.get("loops") or {}).values())
        for name in NAMES:  # and any loop device on this lab's images that the state file missed (a killed run)
            image = self.files(name).disk_image
            if image.exists():
                listed = netns.run(["losetup", "-j", str(image)], check=False).stdout
                loops.update(line.split(":", 1)[0] for line in listed.splitlines() if line.startswith("/dev/"))
        for dev in sorted(loops):
            netns.run(["losetup", "-d", dev], check=False)
        for dev in ("hl-vm2", "hl-vm12", "hl-client", topology.BRIDGE):
            if netns.link_exists(dev):
                netns.run(["ip", "link", "del", dev], check=False)
        netns.remove_ns_dir()
        for path in state.get("created_dirs", []):
            try:
                Path(path).rmdir()
            except OSError:
                pass
        if self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
        log("lab down: namespaces, links, loop devices, processes and files removed")

    @staticmethod
    def _orphans() -> list[str]:
        """Without lab.json, only namespaces that carry the lab's marks count as ours."""
        names = [n for n in NAMES if netns.is_mountpoint(netns.mnt_file(n))]
        if netns.link_exists("hl-client"):
            names.append(topology.CLIENT_NS)
        return names

    # ---- client ----------------------------------------------------------------------------------

    @property
    def client_log(self) -> Path:
        return self.dir / "client" / "client.jsonl"

    def client_start(self, *, interval: float = 0.05, log: Path | None = None, start_seq: int = 1) -> int:
        """Start the client in the client namespace (writes records through the VIP).

        ``log`` (default :attr:`client_log`, emptied first) and ``start_seq`` let a
        caller keep one log per run with record numbers that never repeat (the chaos run).
        """
        self.client_stop()
        log = log or self.client_log
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        vip = topology.VIP.split("/")[0]
        pid = netns.node_spawn(topology.CLIENT_NS, [PY, "-m", "hatui.lab.host.client", "--target", f"{vip}:2049",
                                                    "--interval", str(interval), "--out", str(log),
                                                    "--start-seq", str(start_seq)],
                               log=self.dir / "client" / "client.stderr")
        self._remember("client_pid", pid)
        return pid

    def client_stop(self) -> None:
        pid = self.state().get("client_pid")
        if not pid:
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.05)
        self._remember("client_pid", None)


def _running(pid: int) -> bool:
    """The process still runs: a zombie does not (when it is our own child, it is reaped here)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    info = netns.proc_parent(pid)
    return info is not None and info[2] != "Z"


def _key_pair(path: Path, comment: str) -> str:
    """An ed25519 key at ``path`` (private, mode 600) and ``path.pub``, made if missing; the public line."""
    import asyncssh

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
        key.write_private_key(str(path))
        path.chmod(0o600)
        key.write_public_key(str(path) + ".pub")
    return Path(str(path) + ".pub").read_text().strip()
