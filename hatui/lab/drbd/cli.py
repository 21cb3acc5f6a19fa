"""Front end of the lab's DRBD emulator: what ``drbdadm``/``drbdsetup`` run on a lab node.

Usage::

    python -m hatui.lab.drbd.cli drbdadm ARGS...      # e.g. drbdadm status r0, drbdadm primary r0
    python -m hatui.lab.drbd.cli drbdsetup ARGS...    # e.g. drbdsetup status --json, events2 --now
    python -m hatui.lab.drbd.cli write KEY VALUE      # application write through /dev/drbd0
    python -m hatui.lab.drbd.cli read KEY             # prints the value (exit 1 if never written)
    python -m hatui.lab.drbd.cli open | close         # the filesystem on top mounted / unmounted
    python -m hatui.lab.drbd.cli state                # the daemon's state as JSON
    python -m hatui.lab.drbd.cli fault block|unblock  # drop / allow the replication connection (tests)
    python -m hatui.lab.drbd.cli fault cut|heal       # the link silently loses everything / heals (tests)
    python -m hatui.lab.drbd.cli fault cut-at-sync    # ... from the next push that ends a sync (tests)

The lab's ``/usr/local/sbin/drbdadm`` and ``drbdsetup`` wrappers exec this with
their own name first. Each call sends one request to the node daemon
(:mod:`hatui.lab.drbd.daemon`) over its unix socket (2 s timeout) and exits
with the reply's exit code (``primary`` waits up to 40 s: with fencing it runs the
fence-peer handler first).

When the daemon is not running the node behaves like one without the DRBD
kernel module: ``drbdsetup`` prints ``Could not connect to 'drbd' generic
netlink family`` and exits 20; ``drbdadm`` prints the same (it runs
drbdsetup) followed by ``Command 'drbdsetup ...' terminated with exit code 20``
and exits 20. The other verbs print ``drbd_cli: DRBD emulator not running``
and exit 1.

Imports only the standard library and :mod:`hatui.lab.node_env`: it runs for
every drbdadm call hatui makes.
"""

from __future__ import annotations

import json
import socket
import sys

from hatui.lab.node_env import load_node_env

TIMEOUT = 2.0
# `drbdadm primary` on a disconnected node with fencing waits for the fence-peer handler, as DRBD's
# does (the daemon bounds a handler at 30 s: hatui.lab.drbd.fence.HELPER_TIMEOUT).
PRIMARY_TIMEOUT = 40.0
NO_MODULE = "Could not connect to 'drbd' generic netlink family\n"
USAGE = ("usage: drbd_cli {drbdadm ARGS...|drbdsetup ARGS...|write KEY VALUE|read KEY|open|close|state|"
         "fault block|unblock|cut|heal|cut-at-sync}\n")


class DaemonDown(Exception):
    pass


def request(path: str, obj: dict, timeout: float = TIMEOUT) -> dict:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps(obj).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf)
    except (OSError, ValueError) as exc:
        raise DaemonDown(str(exc)) from exc
    if not isinstance(reply, dict):
        raise DaemonDown("bad reply")
    return reply


def _drbd_down(prog: str, args: list[str]) -> int:
    sys.stderr.write(NO_MODULE)
    if prog == "drbdadm":
        pos = [a for a in args if not a.startswith("-")]
        verb = pos[0] if pos else "status"
        res = " ".join(pos[1:]) or "all"
        sys.stderr.write(f"Command 'drbdsetup {verb} {res}' terminated with exit code 20\n")
    return 20


def _build(args: list[str]) -> dict | None:
    verb, rest = args[0], args[1:]
    if verb in ("drbdadm", "drbdsetup"):
        return {"op": "cmd", "argv": [verb, *rest]}
    if verb == "write" and len(rest) == 2:
        return {"op": "write", "key": rest[0], "value": rest[1]}
    if verb == "read" and len(rest) == 1:
        return {"op": "read", "key": rest[0]}
    if verb in ("open", "close", "state") and not rest:
        return {"op": verb}
    if verb == "fault" and len(rest) == 1:
        return {"op": "fault", "kind": rest[0]}
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    req = _build(args) if args else None
    if req is None:
        sys.stderr.write(USAGE)
        return 2
    try:
        env = load_node_env()
        pos = [a for a in args[1:] if not a.startswith("-")]
        slow = req["op"] == "cmd" and pos[:1] == ["primary"]
        reply = request(env.drbd_socket, req, PRIMARY_TIMEOUT if slow else TIMEOUT)
    except (OSError, ValueError, KeyError, TypeError, DaemonDown):
        if req["op"] == "cmd":
            return _drbd_down(args[0], args[1:])
        sys.stderr.write("drbd_cli: DRBD emulator not running\n")
        return 1
    rc = reply.get("rc", 1)
    if req["op"] == "state":
        sys.stdout.write(json.dumps(reply, indent=1, sort_keys=True) + "\n")
    elif req["op"] == "read" and rc == 0:
        if reply.get("value") is None:
            sys.stderr.write(f"drbd_cli: no such key {args[1]}\n")
            return 1
        sys.stdout.write(str(reply["value"]) + "\n")
    sys.stdout.write(str(reply.get("stdout") or ""))
    sys.stderr.write(str(reply.get("stderr") or ""))
    return int(rc) if isinstance(rc, int) else 1


if __name__ == "__main__":
    raise SystemExit(main())
