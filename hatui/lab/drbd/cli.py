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

``drbdsetup events2`` without ``--now`` stays open as the real one does: the
initial dump, then each change as it happens (the daemon's ``follow`` request,
:mod:`hatui.lab.drbd.follow`), until whoever reads it goes away: stdout closed
(EPIPE, or the pipe's reader gone: exit 0) or SIGTERM/SIGINT (exit 143/130), in
each case without a traceback; closing the connection unsubscribes it. If the
daemon stops meanwhile it exits 1 (``drbd_cli: DRBD emulator stopped``).

Imports only the standard library, :mod:`hatui.lab.drbd.api` and
:mod:`hatui.lab.node_env`: it runs for every drbdadm call hatui makes.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from hatui.lab.drbd.api import DrbdApiError, open_stream, request
from hatui.lab.node_env import load_node_env

TIMEOUT = 2.0
# `drbdadm primary` on a disconnected node with fencing waits for the fence-peer handler, as DRBD's
# does (the daemon bounds a handler at 30 s: hatui.lab.drbd.fence.HELPER_TIMEOUT).
PRIMARY_TIMEOUT = 40.0
NO_MODULE = "Could not connect to 'drbd' generic netlink family\n"
USAGE = ("usage: drbd_cli {drbdadm ARGS...|drbdsetup ARGS...|write KEY VALUE|read KEY|open|close|state|"
         "fault block|unblock|cut|heal|cut-at-sync}\n")


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
    if verb == "drbdsetup" and [a for a in rest if not a.startswith("-")][:1] == ["events2"] and "--now" not in rest:
        return {"op": "follow", "argv": [verb, *rest]}
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
        if req["op"] == "follow":
            return _follow(env.drbd_socket, req)
        pos = [a for a in args[1:] if not a.startswith("-")]
        slow = req["op"] == "cmd" and pos[:1] == ["primary"]
        reply = request(env.drbd_socket, req, PRIMARY_TIMEOUT if slow else TIMEOUT)
    except (OSError, ValueError, KeyError, TypeError):  # DrbdApiError is an OSError
        if req["op"] in ("cmd", "follow"):
            return _drbd_down(args[0], args[1:])
        sys.stderr.write("drbd_cli: DRBD emulator not running\n")
        return 1
    return _print_reply(req, reply, args)


def _print_reply(req: dict, reply: dict, args: list[str]) -> int:
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


class _Stop(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _stop(signum: int, frame: object) -> None:
    raise _Stop(128 + signum)


def _follow(socket_path: str, req: dict) -> int:
    """``drbdsetup events2`` that stays open: copy the daemon's stream to stdout until either end goes away."""
    header, sock, data = open_stream(socket_path, req, TIMEOUT)
    with sock:
        if not header.get("follow"):  # refused (e.g. no such resource): an ordinary reply
            return _print_reply(req, header, req["argv"])
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop)
        out = sys.stdout.fileno()
        poll = select.poll()
        poll.register(sock, select.POLLIN)
        poll.register(out, 0)  # only POLLERR/POLLHUP: the reader of our stdout went away
        try:
            while True:
                while data:
                    data = data[os.write(out, data):]
                for fd, events in poll.poll():
                    if fd == out and events & (select.POLLERR | select.POLLHUP):
                        return 0
                    if fd == sock.fileno():
                        data = sock.recv(65536)
                        if not data:
                            raise ConnectionResetError
        except BrokenPipeError:  # our stdout (the daemon's end is only read)
            return 0
        except ConnectionError:
            sys.stderr.write("drbd_cli: DRBD emulator stopped\n")
            return 1
        except _Stop as stop:
            return stop.code
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)


if __name__ == "__main__":
    raise SystemExit(main())
