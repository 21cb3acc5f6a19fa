"""asyncssh transport: one persistent connection per node, every command bounded.

Why asyncssh and nothing else: it is asyncio-native (the poller and the TUI
share one loop), reads ``~/.ssh/config`` (ProxyJump, IdentityFile, Port …) and
``~/.ssh/known_hosts``, and talks to the agent. Host keys are always checked:
hatui passes the configured known_hosts file or lets asyncssh use the user's
default one; it never disables checking.

Failure semantics the rest of hatui relies on:
- every command has a timeout (:class:`CommandTimeout`), connects too;
- a connection that drops mid-command makes asyncssh return ``exit_status``
  None with empty output: that is a :class:`TransportError`, never "the command
  failed", and the connection is reset so the next call reconnects;
- after a failed connect, the next attempt waits an exponential backoff; calls
  made during the backoff fail at once with the last error instead of hanging.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass

import asyncssh

from hatui.config import ClusterConfig, NodeConfig
from hatui.errors import CommandTimeout, HostKeyError, TransportError

# OpenSSH allows 10 sessions per connection; stay well below it.
MAX_CHANNELS_PER_NODE = 4
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class CommandResult:
    """A command that ran to completion on a node."""

    command: str
    exit_status: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class NodeTransport:
    """The SSH connection to one node."""

    def __init__(self, node: NodeConfig, cluster: ClusterConfig) -> None:
        self.node = node
        self.name = node.name
        self.command_timeout = cluster.command_timeout
        self.connect_timeout = cluster.connect_timeout
        self._conn: asyncssh.SSHClientConnection | None = None
        self._connect_lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(MAX_CHANNELS_PER_NODE)
        self._backoff = 0.0
        self._retry_at = 0.0
        self.last_error: str | None = None

    def _connect_options(self) -> dict[str, object]:
        node = self.node
        options: dict[str, object] = {
            "keepalive_interval": 5,
            "keepalive_count_max": 3,
            "connect_timeout": self.connect_timeout,
        }
        if node.port is not None:
            options["port"] = node.port
        if node.user is not None:
            options["username"] = node.user
        if node.identity_file is not None:
            options["client_keys"] = [os.path.expanduser(node.identity_file)]
        if node.known_hosts is not None:
            options["known_hosts"] = os.path.expanduser(node.known_hosts)
        return options

    def _where(self) -> str:
        port = f":{self.node.port}" if self.node.port else ""
        user = f"{self.node.user}@" if self.node.user else ""
        return f"{user}{self.node.host}{port}"

    async def connect(self) -> asyncssh.SSHClientConnection:
        """Return the open connection, connecting (with backoff) if needed."""
        async with self._connect_lock:
            if self._conn is not None and not self._conn.is_closed():
                return self._conn
            now = time.monotonic()
            if now < self._retry_at:
                wait = self._retry_at - now
                raise TransportError(self.name, f"{self.last_error} (next retry in {wait:.0f}s)")
            try:
                self._conn = await asyncio.wait_for(
                    asyncssh.connect(self.node.host, **self._connect_options()),
                    self.connect_timeout + 1,
                )
            except Exception as exc:  # noqa: BLE001 - every failure becomes one line
                error = self._explain_connect_failure(exc)
                self.last_error = str(error.reason)
                self._backoff = min(BACKOFF_MAX, max(BACKOFF_FIRST, self._backoff * 2))
                self._retry_at = time.monotonic() + self._backoff
                raise error from None
            self._backoff = 0.0
            self._retry_at = 0.0
            self.last_error = None
            return self._conn

    def reset_backoff(self) -> None:
        """Let the next call try to connect at once (an operator asked to refresh now)."""
        self._backoff = 0.0
        self._retry_at = 0.0

    def _explain_connect_failure(self, exc: BaseException) -> TransportError:
        where = self._where()
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            kh = self.node.known_hosts or "~/.ssh/known_hosts"
            return HostKeyError(
                self.name,
                f"host key of {where} is not trusted ({exc.reason}); it is unknown or has CHANGED. "
                f"Verify the fingerprint out of band, then add it to {kh} "
                f"(e.g. `ssh {where.split(':')[0]}` once, or `ssh-keygen -R` for a changed key)",
            )
        if isinstance(exc, asyncssh.PermissionDenied):
            return TransportError(
                self.name, f"authentication failed for {where} (check user, identity_file, ssh-agent)"
            )
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return TransportError(self.name, f"connect to {where} timed out after {self.connect_timeout:g}s")
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc) or type(exc).__name__
            return TransportError(self.name, f"cannot connect to {where}: {reason}")
        if isinstance(exc, asyncssh.Error):
            return TransportError(self.name, f"SSH error from {where}: {exc.reason}")
        return TransportError(self.name, f"cannot connect to {where}: {type(exc).__name__}: {exc}")

    def _reset(self, reason: str) -> None:
        self.last_error = reason
        if self._conn is not None:
            self._conn.abort()
            self._conn = None

    async def run(self, command: str, *, timeout: float | None = None, input: str | None = None) -> CommandResult:
        """Run ``command`` (already quoted) on the node, bounded by ``timeout``.

        Returns the result whatever the exit status; raises
        :class:`TransportError` when the node could not be asked or did not
        answer (connect failure, drop mid-command, timeout).
        """
        limit = self.command_timeout if timeout is None else timeout
        started = time.monotonic()
        conn = await self.connect()
        async with self._channels:
            try:
                proc = await asyncio.wait_for(
                    conn.create_process(command, encoding="utf-8", errors="replace"), limit
                )
            except (asyncio.TimeoutError, TimeoutError):
                self._reset("opening a session timed out")
                raise CommandTimeout(self.name, f"no session opened within {limit:g}s") from None
            except (asyncssh.Error, OSError) as exc:
                self._reset(f"connection lost: {exc}")
                raise TransportError(self.name, f"connection lost ({type(exc).__name__}: {exc})") from None
            try:
                if input is not None:
                    proc.stdin.write(input)
                proc.stdin.write_eof()
                remaining = max(0.01, limit - (time.monotonic() - started))
                completed = await asyncio.wait_for(proc.wait(check=False), remaining)
            except (asyncio.TimeoutError, TimeoutError):
                proc.close()
                raise CommandTimeout(self.name, f"command did not finish within {limit:g}s") from None
            except (asyncssh.Error, OSError, BrokenPipeError) as exc:
                self._reset(f"connection lost mid-command: {exc}")
                raise TransportError(self.name, "connection lost mid-command") from None
        return self._result(command, completed, time.monotonic() - started)

    def _result(self, command: str, completed: asyncssh.SSHCompletedProcess, duration: float) -> CommandResult:
        status = completed.exit_status
        if status is None and completed.exit_signal:
            # The remote process was killed by a signal: a real, completed result.
            name = completed.exit_signal[0]
            signum = getattr(signal, f"SIG{name}", None)
            status = 128 + int(signum) if signum is not None else 255
        if status is None:
            # asyncssh's way of saying the channel closed under us (see module doc).
            self._reset("connection dropped mid-command")
            raise TransportError(self.name, "connection dropped mid-command (no exit status)")
        return CommandResult(command, status, _text(completed.stdout), _text(completed.stderr), duration)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            try:
                await asyncio.wait_for(self._conn.wait_closed(), 2)
            except (asyncio.TimeoutError, TimeoutError, asyncssh.Error, OSError):
                pass
            self._conn = None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
