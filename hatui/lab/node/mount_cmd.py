"""``mount``/``umount`` on a lab node: the emulated DRBD device, real mounts for the rest.

There is no kernel DRBD here, so ``/dev/drbd0`` does not exist as a block device.
Mounting it means what it means on a real node, seen from outside: the DRBD
device is opened (refused unless this node is Primary, with mount's own
"Wrong medium type" text) and the device's contents appear at the mount point.
The contents live as files on the node's backing disk (a real ext4 on a loop
device), so the mount is a real bind mount of that folder: ``findmnt`` shows a
real ext4 mount, files written through the DRBD emulator are really there, and
``umount`` fails with the kernel's "target is busy" while something uses it.

Anything that is not the DRBD device is passed to the real ``/usr/bin/mount``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from hatui.lab.drbd.api import request
from hatui.lab.node_env import is_mountpoint, load_node_env

REAL_MOUNT, REAL_UMOUNT = "/usr/bin/mount", "/usr/bin/umount"


def _positional(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-t", "-o", "--types", "--options"):
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


def mount(args: list[str]) -> int:
    env = load_node_env()
    pos = _positional(args)
    mp = env.mount_point.rstrip("/")
    if not pos or not ({env.device, mp} & {p.rstrip("/") for p in pos}):
        os.execv(REAL_MOUNT, [REAL_MOUNT, *args])
    if is_mountpoint(mp):
        sys.stderr.write(f"mount: {mp}: {env.device} already mounted on {mp}.\n")
        return 32
    reply = request(env.drbd_socket, {"op": "open"})
    if reply.get("rc") != 0:
        sys.stderr.write(reply.get("stderr") or f"mount: {mp}: mount(2) system call failed: Wrong medium type.\n")
        return 32
    os.makedirs(env.data_dir, exist_ok=True)
    done = subprocess.run([REAL_MOUNT, "--bind", env.data_dir, mp], capture_output=True, text=True)
    if done.returncode != 0:
        request(env.drbd_socket, {"op": "close"})
        sys.stderr.write(done.stderr)
        return 32
    return 0


def umount(args: list[str]) -> int:
    env = load_node_env()
    pos = _positional(args)
    mp = env.mount_point.rstrip("/")
    if not pos or pos[0].rstrip("/") not in (env.device, mp):
        os.execv(REAL_UMOUNT, [REAL_UMOUNT, *args])
    if not is_mountpoint(mp):
        sys.stderr.write(f"umount: {mp}: not mounted.\n")
        return 32
    done = subprocess.run([REAL_UMOUNT, mp], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return 32
    request(env.drbd_socket, {"op": "close"})
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("mount", "umount"):
        sys.stderr.write("usage: python -m hatui.lab.node.mount_cmd mount|umount ARGS...\n")
        return 2
    try:
        return mount(argv[1:]) if argv[0] == "mount" else umount(argv[1:])
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"{argv[0]}: {exc}\n")
        return 32


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
