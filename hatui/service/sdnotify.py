"""systemd readiness (``Type=notify``) without a dependency: one datagram to ``$NOTIFY_SOCKET``.

The protocol is a text datagram of ``KEY=VALUE`` lines on the AF_UNIX socket systemd
names in ``$NOTIFY_SOCKET`` (a leading ``@`` is the abstract namespace). Outside systemd
the variable is unset and every call is a no-op, so ``hatui serve`` runs the same in a
terminal, a test or a unit.
"""

from __future__ import annotations

import os
import socket


def notify(*lines: str) -> bool:
    """Send ``READY=1``, ``STATUS=…``, ``RELOADING=1``, ``STOPPING=1``…; True when systemd got it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode("utf-8"))
    except OSError:
        return False  # readiness is a courtesy to systemd: never a reason to stop serving
    return True
