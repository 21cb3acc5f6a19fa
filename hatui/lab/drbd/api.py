"""Client side of the DRBD emulator's local API (a unix socket at ``env.drbd_socket``).

One JSON request line per connection, one JSON reply line::

    {"op":"write","key":K,"value":V}  -> {"rc":0} | {"rc":1,"stderr":"..."}   (acked once replicated: protocol C)
    {"op":"read","key":K}             -> {"rc":0,"value":V|null}

Keys are ``[A-Za-z0-9._-]+`` (e.g. ``rec-000123``, ``dag-heartbeat``). Stdlib only:
the stand-ins and the drbd CLI import this on every call.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

KEY_RE = re.compile(r"[A-Za-z0-9._-]+")


class DrbdApiError(OSError):
    """The API could not be reached or answered something that is not a JSON object.

    An OSError, so callers that catch OSError (socket trouble) also catch a bad reply.
    """


def valid_key(key: str) -> bool:
    """True when ``key`` is a legal block key (also a safe file name: no '/', not '.' or '..')."""
    return bool(KEY_RE.fullmatch(key)) and key not in (".", "..")


def request(socket_path: str, obj: dict[str, Any], timeout: float = 2.0) -> dict[str, Any]:
    """Send one request object, return the reply object; raises :class:`DrbdApiError` on any failure."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
    except OSError as exc:  # includes socket.timeout, FileNotFoundError, ConnectionRefusedError
        raise DrbdApiError(f"DRBD API at {socket_path}: {exc}") from exc
    try:
        reply = json.loads(buf.split(b"\n", 1)[0])
    except ValueError as exc:
        raise DrbdApiError(f"DRBD API at {socket_path}: bad reply {buf[:200]!r}") from exc
    if not isinstance(reply, dict):
        raise DrbdApiError(f"DRBD API at {socket_path}: bad reply {buf[:200]!r}")
    return reply


def write(env: Any, key: str, value: str, timeout: float = 2.0) -> dict[str, Any]:
    """Write one key through the node's device; the reply (``rc`` 0 only once the peer has it too)."""
    return request(env.drbd_socket, {"op": "write", "key": key, "value": value}, timeout)


def read(env: Any, key: str, timeout: float = 2.0) -> dict[str, Any]:
    """Read one key from the node's device; the reply (``value`` None when the key was never written)."""
    return request(env.drbd_socket, {"op": "read", "key": key}, timeout)
