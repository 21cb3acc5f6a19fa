"""Client side of the DRBD emulator's local API (a unix socket at ``env.drbd_socket``).

One JSON request line per connection, one JSON reply line::

    {"op":"write","key":K,"value":V}  -> {"rc":0} | {"rc":1,"stderr":"..."}   (acked once replicated: protocol C)
    {"op":"read","key":K}             -> {"rc":0,"value":V|null}

Keys are ``[A-Za-z0-9._-]+`` (e.g. ``rec-000123``, ``dag-heartbeat``). The one
streaming request (``follow``: a JSON header line, then text) is opened with
:func:`open_stream`. Stdlib only: the stand-ins and the drbd CLI import this on
every call.
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


def _exchange(socket_path: str, obj: dict[str, Any], timeout: float) -> tuple[socket.socket, dict[str, Any], bytes]:
    """Connect, send one request object, read the reply's first line: (socket, that object, bytes after it)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    buf = b""
    try:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as exc:  # includes socket.timeout, FileNotFoundError, ConnectionRefusedError
        sock.close()
        raise DrbdApiError(f"DRBD API at {socket_path}: {exc}") from exc
    head, _, rest = buf.partition(b"\n")
    try:
        reply = json.loads(head)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        sock.close()
        raise DrbdApiError(f"DRBD API at {socket_path}: bad reply {buf[:200]!r}")
    return sock, reply, rest


def request(socket_path: str, obj: dict[str, Any], timeout: float = 2.0) -> dict[str, Any]:
    """Send one request object, return the reply object; raises :class:`DrbdApiError` on any failure."""
    sock, reply, _ = _exchange(socket_path, obj, timeout)
    sock.close()
    return reply


def open_stream(socket_path: str, obj: dict[str, Any], timeout: float = 2.0) -> tuple[dict[str, Any], socket.socket,
                                                                                      bytes]:
    """A streaming request: (the header object, the socket to read the text from, text already read).

    The socket is blocking (no timeout) and the caller's to close; raises :class:`DrbdApiError`
    when the daemon cannot be reached or its header is not a JSON object.
    """
    sock, header, rest = _exchange(socket_path, obj, timeout)
    sock.settimeout(None)
    return header, sock, rest


def write(env: Any, key: str, value: str, timeout: float = 2.0) -> dict[str, Any]:
    """Write one key through the node's device; the reply (``rc`` 0 only once the peer has it too)."""
    return request(env.drbd_socket, {"op": "write", "key": key, "value": value}, timeout)


def read(env: Any, key: str, timeout: float = 2.0) -> dict[str, Any]:
    """Read one key from the node's device; the reply (``value`` None when the key was never written)."""
    return request(env.drbd_socket, {"op": "read", "key": key}, timeout)
