"""Linux namespace plumbing for the lab: network, mount and UTS namespaces, veth, bridge.

Each node gets a named network namespace (``ip netns add``) plus a mount and a
UTS namespace kept alive by bind-mounting them onto files in
:data:`NS_DIR` (``unshare --mount=FILE``). ``ip netns exec`` would give every
command a *new* mount namespace, so nothing mounted on the node would last;
:func:`enter_argv` enters all three persistent namespaces with ``nsenter``
instead, so sshd, keepalived and the stand-ins on a node share one view of
``/run``, ``/tmp``, ``/srv/ha`` and its disk, private to that node.

Every function raises :class:`LabError` with the command's own message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

from hatui.errors import HatuiError
from hatui.lab.node_env import is_mountpoint

NS_DIR = Path("/run/hatui-lab-ns")


class LabError(HatuiError):
    """A lab operation failed; the message says which command and why."""


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 30.0, input: str | None = None) -> subprocess.CompletedProcess:
    """Run a host command (bounded); raise LabError with its stderr when it fails."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input)
    except FileNotFoundError:
        raise LabError(f"{argv[0]} is not installed (needed by the lab)") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)} did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(argv)}: {msg[-1] if msg else f'exit {proc.returncode}'}")
    return proc


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def mnt_file(name: str) -> Path:
    return NS_DIR / f"{name}.mnt"


def uts_file(name: str) -> Path:
    return NS_DIR / f"{name}.uts"


def _ensure_ns_dir() -> None:
    """NS_DIR must be a private mount for namespace bind mounts to be allowed in it."""
    NS_DIR.mkdir(parents=True, exist_ok=True)
    if not is_mountpoint(NS_DIR):
        run(["mount", "--bind", str(NS_DIR), str(NS_DIR)])
        run(["mount", "--make-private", str(NS_DIR)])


def create_node_namespaces(name: str, hostname: str) -> None:
    """Network namespace ``name`` plus persistent private mount and UTS namespaces."""
    if not netns_exists(name):
        run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    _ensure_ns_dir()
    for path in (mnt_file(name), uts_file(name)):
        if not is_mountpoint(path):
            path.touch()
    if not is_mountpoint(mnt_file(name)):
        run(["unshare", f"--mount={mnt_file(name)}", f"--uts={uts_file(name)}", "--propagation", "private",
             "hostname", hostname])


def enter_argv(name: str, argv: Sequence[str]) -> list[str]:
    """argv that runs ``argv`` inside node ``name`` (network, mount and UTS namespaces)."""
    if mnt_file(name).exists() and is_mountpoint(mnt_file(name)):
        return ["nsenter", f"--net=/run/netns/{name}", f"--mount={mnt_file(name)}", f"--uts={uts_file(name)}",
                "--", *argv]
    return ["ip", "netns", "exec", name, *argv]  # the client: network namespace only


def node_run(name: str, argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
    """Run a command inside a node and wait for it."""
    return run(enter_argv(name, argv), **kw)


def node_spawn(name: str, argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None) -> int:
    """Start a long-running program inside a node, detached from us; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(enter_argv(name, argv), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, env={**os.environ, **(env or {})})
    return proc.pid


def delete_node_namespaces(name: str) -> None:
    """Kill everything in the namespaces, then remove them (quietly if already gone)."""
    kill_netns_processes(name)
    for path in (mnt_file(name), uts_file(name)):
        unmount_all(path)
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # still held by a stacked mount: removed with NS_DIR below
    if netns_exists(name):
        run(["ip", "netns", "del", name], check=False)


def unmount_all(path: str | os.PathLike) -> None:
    """Lazily unmount ``path`` until nothing is mounted there (mounts can be stacked)."""
    for _ in range(8):
        if not is_mountpoint(path):
            return
        run(["umount", "-l", str(path)], check=False)


def remove_ns_dir() -> None:
    """Detach NS_DIR with every namespace file under it (lazy unmount is recursive), then remove it."""
    if not NS_DIR.exists():
        return
    unmount_all(NS_DIR)
    for p in NS_DIR.iterdir():
        try:
            p.unlink()
        except OSError:
            pass
    try:
        NS_DIR.rmdir()
    except OSError:
        pass


def netns_pids(name: str) -> list[int]:
    if not netns_exists(name):
        return []
    out = run(["ip", "netns", "pids", name], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def proc_parent(pid: int) -> tuple[str, int, str] | None:
    """(comm, ppid, state letter) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return text[text.index("(") + 1:text.rindex(")")], int(fields[1]), fields[0]


def process_tree(name: str, comms: tuple[str, ...]) -> list[int]:
    """Processes of node ``name`` named one of ``comms`` (sshd …), with all their descendants."""
    info = {pid: proc_parent(pid) for pid in netns_pids(name)}
    info = {pid: i for pid, i in info.items() if i is not None}
    roots = {pid for pid, (comm, _, _) in info.items() if comm in comms}
    out = []
    for pid in info:
        p, seen = pid, 0
        while p in info and seen < 64:
            if p in roots:
                out.append(pid)
                break
            p, seen = info[p][1], seen + 1
    return sorted(out)


def signal_pids(pids: Sequence[int], sig: int) -> int:
    """Send ``sig`` to each pid that still exists; returns how many got it."""
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except ProcessLookupError:
            pass
    return sent


def kill_netns_processes(name: str, *, timeout: float = 3.0) -> int:
    """SIGKILL every process in the network namespace (a node crash); returns how many."""
    pids = netns_pids(name)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while netns_pids(name) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(pids)


def link_exists(dev: str, netns: str | None = None) -> bool:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["link", "show", dev]
    return run(argv, check=False).returncode == 0


def ensure_bridge(bridge: str, addr: str) -> None:
    if not link_exists(bridge):
        run(["ip", "link", "add", bridge, "type", "bridge"])
    if addr.split("/")[0] not in run(["ip", "-o", "addr", "show", "dev", bridge]).stdout:
        run(["ip", "addr", "add", addr, "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])


def veth_to_bridge(host_dev: str, netns: str, ns_dev: str, addr: str, bridge: str) -> None:
    """A veth pair: ``host_dev`` on the bridge, ``ns_dev`` with ``addr`` inside ``netns``."""
    if not link_exists(ns_dev, netns):
        if link_exists(host_dev):
            run(["ip", "link", "del", host_dev])
        tmp = f"{host_dev}-p"[:15]
        run(["ip", "link", "add", host_dev, "type", "veth", "peer", "name", tmp])
        run(["ip", "link", "set", tmp, "netns", netns])
        run(["ip", "-n", netns, "link", "set", tmp, "name", ns_dev])
        run(["ip", "-n", netns, "addr", "add", addr, "dev", ns_dev])
    run(["ip", "link", "set", host_dev, "master", bridge])
    run(["ip", "link", "set", host_dev, "up"])
    run(["ip", "-n", netns, "link", "set", ns_dev, "up"])


def veth_between(ns_a: str, addr_a: str, ns_b: str, addr_b: str, dev: str) -> None:
    """A direct veth pair named ``dev`` in both namespaces (the replication link)."""
    if not link_exists(dev, ns_a):
        tmp_a, tmp_b = f"hl-{ns_a}-{dev}"[:15], f"hl-{ns_b}-{dev}"[:15]
        run(["ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b])
        for tmp, ns, addr in ((tmp_a, ns_a, addr_a), (tmp_b, ns_b, addr_b)):
            run(["ip", "link", "set", tmp, "netns", ns])
            run(["ip", "-n", ns, "link", "set", tmp, "name", dev])
            run(["ip", "-n", ns, "addr", "add", addr, "dev", dev])
    for ns in (ns_a, ns_b):
        run(["ip", "-n", ns, "link", "set", dev, "up"])


def set_link(netns: str, dev: str, up: bool) -> None:
    run(["ip", "-n", netns, "link", "set", dev, "up" if up else "down"])


def link_is_up(netns: str, dev: str) -> bool:
    """The link carries traffic: set up here and with a carrier (a veth whose far end is down has none)."""
    out = run(["ip", "-n", netns, "-o", "link", "show", dev], check=False).stdout
    flags = out.partition("<")[2].partition(">")[0].split(",")
    return "state UP" in out or ("UP" in flags and "NO-CARRIER" not in flags)
