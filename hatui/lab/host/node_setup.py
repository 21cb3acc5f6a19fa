"""Build one lab node: its files, its private mounts, its boot and its "crash".

A node's host-side folder ``LAB_DIR/<node>/`` holds everything the node sees at
fixed in-node paths (see :mod:`hatui.lab.node_env`)::

    etc/      -> /etc/hatui-lab    node.json, sshd_config, host key, authorized_keys, keepalived.conf,
                                   drbd.res (the kit's fencing policy and handlers)
    kit/      -> /etc/hatui        the node kit's kit.conf, fencing key and the peer's host key
    journal/  -> /var/lib/hatui    the node kit's journal.jsonl
    run/      -> /run              sshd's privsep dir, pid files, /run/hatui-lab (sockets, unit state, logs)
    bashrc    -> /root/.bashrc     empty: the host's shell start-up (bash sources it for every
                                   command sshd runs) is not the node's
    tmp/      -> /tmp              keepalived's JSON dump (never shared between the two keepalived daemons)
    disk.img  -> loop device, ext4 -> /var/lib/hatui-lab-disk (the DRBD backing disk)
    LAB_DIR/bin -> /usr/local/sbin the stand-in commands (drbdadm, drbdsetup, systemctl, exportfs, mount, umount)

The mount points on the host side (``/etc/hatui-lab`` …) are empty folders the
lab creates if missing and removes again on ``lab down``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hatui.lab.host import netns, topology
from hatui.lab.node_env import RUN_DIR, NodeEnv, UnitSpec

DISK_MIB = 256  # a sparse image: the host's disk holds only what is written
BYTES_PER_INODE = 2048  # the emulator keeps a file per block key: a 120-round chaos run writes ~20k of them
PY = sys.executable
HATUI_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding the hatui package

# in-node path -> host subfolder of LAB_DIR/<node> (bind mounts)
BINDS = {
    "/etc/hatui-lab": "etc",
    "/etc/hatui": "kit",
    "/var/lib/hatui": "journal",
    "/run": "run",
    "/tmp": "tmp",
}
LATE_BINDS = ("/run", "/tmp")  # bound last: LAB_DIR may live below one of them
DISK_MOUNT = "/var/lib/hatui-lab-disk"
MOUNT_POINT = "/srv/ha"
BIN_MOUNT = "/usr/local/sbin"
HOST_MOUNT_POINTS = ("/etc/hatui-lab", "/etc/hatui", "/var/lib/hatui", DISK_MOUNT, MOUNT_POINT)
BACKING_DISK = "/run/hatui-lab/vdb"  # the loop device, bind-mounted so both nodes show it at one path

WRAPPERS = {
    "drbdadm": "hatui.lab.drbd.cli drbdadm",
    "drbdsetup": "hatui.lab.drbd.cli drbdsetup",
    "systemctl": "hatui.lab.node.systemctl",
    "exportfs": "hatui.lab.node.exportfs",
    "mount": "hatui.lab.node.mount_cmd mount",
    "umount": "hatui.lab.node.mount_cmd umount",
}
# The stand-ins whose read-only calls the node's resident answerer takes (hatui.lab.node.answerer): the ones
# the poll runs every cycle. mount/umount always run their program.
ANSWERED = ("drbdadm", "drbdsetup", "systemctl", "exportfs")


def host_paths() -> list[str]:
    """What the node's programs need from the host: hatui's checkout and this Python (venv and base)."""
    paths = {HATUI_ROOT, sys.prefix, sys.exec_prefix, sys.base_prefix, os.path.dirname(os.path.realpath(PY))}
    return sorted(os.path.realpath(p) for p in paths)


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# What a path the node's configs carry may contain: keepalived's script lines, authorized_keys'
# forced command and the mount commands take it as one unquoted word (the kit validates the same way).
PLAIN_PATH = re.compile(r"/[A-Za-z0-9_./@+-]{0,250}")


def check_host_paths(lab_dir: str | os.PathLike | None = None) -> None:
    """One clear error when hatui or its Python lies where every node mounts something else, or when
    it (or the lab's folder) has a path the node's configs cannot carry."""
    hidden = [*HOST_MOUNT_POINTS, BIN_MOUNT, "/root/.bashrc"]
    for path in host_paths():
        for folder in hidden:
            if _under(path, folder):
                raise netns.LabError(f"{path} (hatui's checkout or its Python) lies under {folder}, which every lab "
                                     "node mounts over: run hatui from a checkout and virtualenv elsewhere")
    for path, what in [*((p, "hatui's checkout or its Python") for p in host_paths()),
                       *([(os.path.abspath(lab_dir), "the lab's folder (--dir)")] if lab_dir else [])]:
        if not PLAIN_PATH.fullmatch(path):
            raise netns.LabError(f"{path!r} ({what}) has characters the lab cannot put in keepalived.conf and "
                                 "authorized_keys (only letters, digits and _ . / @ + -): use another path")


def kept_paths(target: str) -> list[str]:
    """Host paths below ``target`` (/tmp, /run) the node must still see once its own ``target`` is bound
    there (outermost only: a checkout and its venv below one folder are kept once)."""
    inside = sorted(p for p in host_paths() if _under(p, target) and p != target)
    return [p for i, p in enumerate(inside) if not any(_under(p, q) for q in inside[:i])]


def write_wrappers(bin_dir: Path) -> None:
    """The node's stand-in commands: small sh wrappers around this Python's modules.

    hatui runs several of them in every poll. The :data:`ANSWERED` ones first offer the call to the
    node's resident answerer (one ``nc -U``; :mod:`hatui.lab.node.answerer` says which calls it takes
    and why) and print its answer; any other call, or no answer, starts the program: Python without
    ``site`` (-S: no site-packages scan, ~10 ms less each) with hatui's own folder on the path (they need
    nothing beyond the standard library and ``hatui.lab``).
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, module in WRAPPERS.items():
        path = bin_dir / name
        ask = ""
        if name in ANSWERED:
            ask = (f"_a=$(printf '%s\\0' {name} \"$@\" | nc -N -w 3 -U \"${{HATUI_LAB_RUN:-{RUN_DIR}}}/answer.sock\""
                   " 2>/dev/null)\n"
                   "case $_a in *'# hatui-answer') eval \"$_a\" ;; esac\n")
        path.write_text(f"#!/bin/sh\n# hatui lab stand-in for {name}\n{ask}"
                        f"PYTHONPATH={shlex.quote(HATUI_ROOT)} exec {PY} -S -m {module} \"$@\"\n")
        path.chmod(0o755)


@dataclass
class NodeFiles:
    """Host-side paths of one node."""

    lab_dir: Path
    name: str

    @property
    def root(self) -> Path:
        return self.lab_dir / self.name

    def sub(self, key: str) -> Path:
        return self.root / key

    @property
    def disk_image(self) -> Path:
        return self.root / "disk.img"

    @property
    def lab_run(self) -> Path:
        """/run/hatui-lab as seen from the host."""
        return self.sub("run") / "hatui-lab"

    def log(self, name: str) -> Path:
        return self.lab_run / "log" / name


def node_env_for(node: topology.LabNode, names: tuple[str, str]) -> NodeEnv:
    peer = topology.peer(node.name)
    fast = {"PYTHONPATH": HATUI_ROOT}  # with -S: standard library and hatui only, quicker to start
    units = {
        "nfs-server.service": UnitSpec(argv=(PY, "-S", "-m", "hatui.lab.node.nfs_standin"), env=fast,
                                       description="NFS server (lab stand-in)", ready_file="/run/hatui-lab/nfs.ready"),
        "airflow-dag-processor.service": UnitSpec(argv=(PY, "-S", "-m", "hatui.lab.node.dag_standin"), env=fast,
                                                  description="Airflow DAG processor (lab stand-in)",
                                                  ready_file="/run/hatui-lab/dag.ready"),
        # --vrrp: only the VRRP subsystem (the LVS checker needs ip_vs, which the lab does not use).
        "keepalived.service": UnitSpec(argv=("/usr/sbin/keepalived", "--dont-fork", "--vrrp", "--log-console",
                                             "-f", "/etc/hatui-lab/keepalived.conf", "-p", "/run/keepalived.pid",
                                             "-r", "/run/keepalived_vrrp.pid"),
                                       description="Keepalive Daemon (LVS and VRRP)", pid_file="/run/keepalived.pid"),
    }
    return NodeEnv(node=node.name, peer=peer.name, nodes=names, drbd_conf="/etc/hatui-lab/drbd.res",
                   repl_listen=f"{node.repl_ip}:{topology.REPL_PORT}", repl_peer=f"{peer.repl_ip}:{topology.REPL_PORT}",
                   disk_dir=DISK_MOUNT, mount_point=MOUNT_POINT, exports=(MOUNT_POINT,), units=units)


def prepare_disk(files: NodeFiles) -> str | None:
    """A 256 MiB ext4 image on a loop device (made once); returns the loop device.

    One inode per 2 KiB (~130k): the DRBD emulator stores each block key as a
    file, and a 64 MiB default ext4 ran out of inodes after ~19k client records
    (round ~97 of a 120-round chaos run: "No space left on device").

    None where this machine has no loop devices (some containers): the backing
    disk is then a plain folder on the host's filesystem (``lab status`` says so).
    """
    if not os.path.exists("/dev/loop-control"):
        return None
    try:
        if not files.disk_image.exists():
            with open(files.disk_image, "wb") as f:
                f.truncate(DISK_MIB * 1024 * 1024)
            netns.run(["mkfs.ext4", "-q", "-F", "-i", str(BYTES_PER_INODE), "-L", f"hatui-{files.name}",
                       str(files.disk_image)], timeout=60)
        return netns.run(["losetup", "--find", "--show", str(files.disk_image)]).stdout.strip()
    except netns.LabError:
        files.disk_image.unlink(missing_ok=True)
        return None


def setup_mounts(files: NodeFiles, loop_dev: str | None, bin_dir: Path) -> None:
    """Inside the node's mount namespace: the bind mounts above, the disk, the stand-in commands."""
    for sub in BINDS.values():
        files.sub(sub).mkdir(parents=True, exist_ok=True)
    for path in HOST_MOUNT_POINTS:
        Path(path).mkdir(parents=True, exist_ok=True)
    def bind(target: str, source: Path | str) -> str:
        # The marker tells our own bind from a mount the host already had at that path.
        keep = kept_paths(target)
        if not keep:
            return (f"mountpoint -q {target} && [ -e {target}/.hatui-lab-bound ] || mount --bind {source} {target}\n"
                    f"touch {target}/.hatui-lab-bound")
        # hatui's checkout or Python lies below target (e.g. a clone in /tmp): bind each into the
        # node's folder first (in the node's namespace only) and bring them along (--rbind), so the
        # node's programs still find the interpreter and the code at the host's paths.
        lines = [f"if ! {{ mountpoint -q {target} && [ -e {target}/.hatui-lab-bound ]; }}; then"]
        for path in keep:
            inner = shlex.quote(f"{source}/{os.path.relpath(path, target)}")
            lines += [f"  mkdir -p {inner}", f"  mountpoint -q {inner} || mount --bind {shlex.quote(path)} {inner}"]
        lines += [f"  mount --rbind {source} {target}", "fi", f"touch {target}/.hatui-lab-bound"]
        return "\n".join(lines)

    # Order matters: /run and /tmp last, so a LAB_DIR below them stays reachable while binding.
    lines = ["set -e", f"mountpoint -q {BIN_MOUNT} && [ -e {BIN_MOUNT}/drbdadm ] || mount --bind {bin_dir} {BIN_MOUNT}"]
    lines += [bind(target, files.sub(sub)) for target, sub in BINDS.items() if target not in LATE_BINDS]
    if loop_dev:
        lines.append(f"mountpoint -q {DISK_MOUNT} || /usr/bin/mount {loop_dev} {DISK_MOUNT}")
    else:
        files.sub("disk").mkdir(parents=True, exist_ok=True)
        lines.append(bind(DISK_MOUNT, files.sub("disk")))
    lines += [f"mkdir -p {DISK_MOUNT}/data", bind("/run", files.sub("run")), "mkdir -p /run/sshd /run/hatui-lab/log"]
    if loop_dev:
        lines += [f"[ -e {BACKING_DISK} ] || touch {BACKING_DISK}",
                  f"mountpoint -q {BACKING_DISK} || /usr/bin/mount --bind {loop_dev} {BACKING_DISK}"]
    if os.path.exists("/root/.bashrc"):
        (files.root / "bashrc").touch()
        lines.append(f"mountpoint -q /root/.bashrc || mount --bind {files.root / 'bashrc'} /root/.bashrc")
    lines += [bind("/tmp", files.sub("tmp")), f"hostname {files.name}"]
    netns.node_run(files.name, ["sh", "-c", "\n".join(lines)])


def sshd_config(node: topology.LabNode) -> str:
    return "\n".join([
        "# hatui lab: real OpenSSH sshd for one node (root login with the lab's key only)",
        "Port 22",
        f"ListenAddress {node.public_ip}",
        "HostKey /etc/hatui-lab/ssh_host_ed25519_key",
        "PidFile /run/sshd.pid",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AuthorizedKeysFile /etc/hatui-lab/authorized_keys",
        "SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "MaxSessions 30",
        "MaxStartups 30:30:60",
        "LogLevel ERROR",
        "",
    ])


def reboot_cleanup(files: NodeFiles) -> None:
    """What a reboot forgets: the mount on /srv/ha, /tmp, unit state, pid files, sockets."""
    netns.node_run(files.name, ["sh", "-c", f"! mountpoint -q {MOUNT_POINT} || /usr/bin/umount -l {MOUNT_POINT}"],
                   check=False)
    for sub in ("hatui-lab/units", "hatui-lab/nfs.ready", "hatui-lab/dag.ready", "hatui-lab/drbd.sock",
                "hatui-lab/answer.sock",
                "hatui-lab/nfs-exports", "hatui-kit"):  # hatui-kit: the node kit's takeover marker
        path = files.sub("run") / sub
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for pattern in ("*.pid",):
        for p in files.sub("run").glob(pattern):
            p.unlink(missing_ok=True)
    for p in files.sub("tmp").iterdir():
        if p.is_file():
            p.unlink(missing_ok=True)


def boot(files: NodeFiles, *, start_keepalived: bool = True) -> None:
    """Start the node's programs as its boot would: DRBD, sshd, keepalived (services stay to the kit)."""
    name = files.name
    netns.node_spawn(name, [PY, "-m", "hatui.lab.drbd.daemon"], log=files.log("drbd.log"))
    try:
        wait_for(lambda: (files.lab_run / "drbd.sock").exists(), 10, "")
    except netns.LabError:
        raise netns.LabError(f"{name}: the DRBD emulator did not start: {last_line(files.log('drbd.log'))} "
                             f"(see {files.log('drbd.log')})") from None
    # The answerer of the poll's read-only stand-in calls (hatui.lab.node.answerer); until it listens the
    # stand-ins start their Python programs, so nothing waits for it.
    netns.node_spawn(name, [PY, "-m", "hatui.lab.node.answerer"], log=files.log("answerer.log"))
    netns.node_spawn(name, ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/hatui-lab/sshd_config"], log=files.log("sshd.log"))
    wait_for(lambda: (files.sub("run") / "sshd.pid").exists(), 10, f"{name}: sshd did not start "
             f"(see {files.log('sshd.log')})")
    if start_keepalived:
        netns.node_run(name, ["systemctl", "start", "keepalived.service"], timeout=20)


def last_line(path: Path) -> str:
    """The last non-empty line of a log (what went wrong, usually), or a note that there is none."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    return lines[-1][:300] if lines else "no output"


def wait_for(check, timeout: float, message: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError):
            pass
        time.sleep(step)
    raise netns.LabError(message)

