"""asyncssh transport: one persistent connection per node, every command bounded.

Why asyncssh and nothing else: it is asyncio-native (the poller and the TUI
share one loop), reads ``~/.ssh/config`` (ProxyJump, IdentityFile, Port …) and
``~/.ssh/known_hosts``, and talks to the agent. Host keys are always checked:
hatui passes the configured known_hosts file or the user's default one (even
when ``~/.ssh/config`` says ``UserKnownHostsFile none``); it never disables
checking and never accepts a key by itself.

Failure semantics the rest of hatui relies on:
- every failure is a :class:`TransportError` with a ``kind``
  (:class:`~hatui.errors.FailureKind`) and a ``hint``, the operator's next
  step (:mod:`hatui.transport.failures` classifies and words them);
- every command has a timeout (:class:`CommandTimeout`, kind HUNG), connects too;
- a connection that drops mid-command makes asyncssh return ``exit_status``
  None with empty output: that is DROPPED, never "the command failed", and the
  connection is reset so the next call reconnects;
- after a failed connect, the next attempt waits an exponential backoff; calls
  made during the backoff fail at once with the last error (same kind and
  hint) instead of hanging;
- the host key verified on the first connect of this run is pinned: a later
  connect that sees another key is refused (HOST_KEY_CHANGED) even if
  known_hosts was edited meanwhile, until hatui restarts. A key that changes
  under a running console is exactly what a man-in-the-middle looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import math
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncssh

from hatui.config import ClusterConfig, NodeConfig
from hatui.errors import FailureKind, HatuiError, TransportError
from hatui.transport.failures import (
    DEFAULT_KNOWN_HOSTS,
    KnownHostsSource,
    Target,
    connect_error,
    fingerprint,
    host_key_error,
    is_host_key_failure,
    pinned_changed,
    transport_error,
)

# OpenSSH allows 10 sessions per connection; stay well below it: 4 for commands,
# 2 more for long-lived streams (which must never starve the poll of a channel).
MAX_CHANNELS_PER_NODE = 4
MAX_STREAMS_PER_NODE = 2
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


class StreamEnded(HatuiError):
    """A stream's command ended (or never started): ``exit_status`` (None: no status) and its stderr."""

    def __init__(self, node: str, command: str, exit_status: int | None, stderr: str) -> None:
        first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
        why = f"exit status {exit_status}" if exit_status is not None else "no exit status"
        super().__init__(f"{node}: {command.split()[0] if command.split() else command!r} ended ({why})"
                         + (f": {first}" if first else ""))
        self.exit_status = exit_status
        self.stderr = stderr
        self.first_error_line = first


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
        self._streams = asyncio.Semaphore(MAX_STREAMS_PER_NODE)
        self._backoff = 0.0
        self._retry_at = 0.0
        self.connection_serial = 0  # counts connections opened: what was learnt on one is not kept past it
        self.last_failure: TransportError | None = None
        # The host key verified on this run's first connect: any other key later is refused.
        self.pinned_key: asyncssh.SSHKey | None = None
        self._target = self._configured_target()

    @property
    def retry_in(self) -> float | None:
        """Seconds until the next connect attempt after a failed one (None: not waiting)."""
        if self.last_failure is None or (self._conn is not None and not self._conn.is_closed()):
            return None
        left = self._retry_at - time.monotonic()
        return left if left > 0 else None

    @property
    def last_error(self) -> str | None:
        """The last failure's message (None once a connect succeeds)."""
        return self.last_failure.reason if self.last_failure is not None else None

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

    def _configured_target(self) -> Target:
        node = self.node
        try:
            user = node.user or getpass.getuser()
        except (KeyError, OSError):
            user = f"uid{os.getuid()}"
        known = os.path.expanduser(node.known_hosts or DEFAULT_KNOWN_HOSTS)
        return Target(node.name, node.host, node.port or 22, user, node.identity_file, known,
                      self.connect_timeout)

    def _effective_target(self, options: dict[str, object]) -> Target:
        """Port, user and known_hosts as asyncssh will use them (``~/.ssh/config`` applied).

        Host keys are always checked: a config that says ``UserKnownHostsFile
        none`` gets the default file instead of no checking at all.
        """
        opts = asyncssh.SSHClientConnectionOptions(host=self.node.host, **options)
        known: KnownHostsSource
        if isinstance(opts.known_hosts, (str, list)) and opts.known_hosts:
            known = opts.known_hosts if isinstance(opts.known_hosts, str) else [str(f) for f in opts.known_hosts]
        else:
            default = os.path.expanduser(DEFAULT_KNOWN_HOSTS)
            known = default if os.access(default, os.R_OK) else b""
        return Target(self.name, self.node.host, int(opts.port or 22), str(opts.username), self.node.identity_file,
                      known, self.connect_timeout)

    def _trusted(self, source: KnownHostsSource) -> object:
        """What asyncssh checks the host key against: known_hosts, narrowed to the pinned key once pinned."""
        if self.pinned_key is None:
            return source
        pinned = fingerprint(self.pinned_key)

        def match(host: str, addr: str, port: int | None) -> tuple[list, list, list]:
            keys, cas, revoked, *_ = asyncssh.match_known_hosts(source, host, addr, port)
            return [k for k in keys if fingerprint(k) == pinned], list(cas), list(revoked)

        return match

    async def connect(self) -> asyncssh.SSHClientConnection:
        """Return the open connection, connecting (with backoff) if needed.

        Raises :class:`TransportError` with a ``kind`` and a ``hint``; during
        the backoff after a failure, the same error again (same kind and hint).
        """
        async with self._connect_lock:
            if self._conn is not None and not self._conn.is_closed():
                return self._conn
            now = time.monotonic()
            if now < self._retry_at and self.last_failure is not None:
                last = self.last_failure
                wait = math.ceil(self._retry_at - now)
                raise type(last)(self.name, f"{last.reason} (next retry in {wait}s)", kind=last.kind,
                                 hint=last.hint) from None
            try:
                self._conn = await self._open()
                self.connection_serial += 1
            except TransportError as error:
                self.last_failure = error
                self._backoff = min(BACKOFF_MAX, max(BACKOFF_FIRST, self._backoff * 2))
                self._retry_at = time.monotonic() + self._backoff
                raise
            self._backoff = 0.0
            self._retry_at = 0.0
            self.last_failure = None
            return self._conn

    async def _open(self) -> asyncssh.SSHClientConnection:
        options = self._connect_options()
        try:
            self._target = self._effective_target(options)
        except Exception as exc:  # noqa: BLE001 - an unreadable key or config is one classified line
            self._target = self._configured_target()
            raise connect_error(exc, self._target) from None
        target = self._target
        options["known_hosts"] = self._trusted(target.known_hosts)
        try:
            conn = await asyncio.wait_for(asyncssh.connect(self.node.host, **options), self.connect_timeout + 1)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one classified line
            if is_host_key_failure(exc):
                raise await host_key_error(target, self.pinned_key) from None
            raise connect_error(exc, target) from None
        key = conn.get_server_host_key()
        if key is not None and self.pinned_key is None:
            self.pinned_key = key
        elif key is not None and self.pinned_key is not None and fingerprint(key) != fingerprint(self.pinned_key):
            conn.abort()  # before any command: this may not be our node
            raise pinned_changed(target, self.pinned_key, key)
        return conn

    def reset_backoff(self) -> None:
        """Let the next call try to connect at once (an operator asked to refresh now)."""
        self._backoff = 0.0
        self._retry_at = 0.0

    def _reset(self, error: TransportError) -> TransportError:
        """Forget the connection (the next call reconnects) and return ``error`` to raise."""
        self.last_failure = error
        if self._conn is not None:
            self._conn.abort()
            self._conn = None
        return error

    async def run(self, command: str, *, timeout: float | None = None, input: str | None = None) -> CommandResult:
        """Run ``command`` (already quoted) on the node, bounded by ``timeout``.

        Returns the result whatever the exit status; raises
        :class:`TransportError` when the node could not be asked or did not
        answer: a connect failure (its own kind), a drop mid-command
        (DROPPED), or no answer in time (:class:`CommandTimeout`, HUNG).
        """
        limit = self.command_timeout if timeout is None else timeout
        started = time.monotonic()
        conn = await self.connect()
        t = self._target
        async with self._channels:
            try:
                proc = await asyncio.wait_for(
                    conn.create_process(command, encoding="utf-8", errors="replace"), limit
                )
            except (asyncio.TimeoutError, TimeoutError):
                raise self._reset(transport_error(
                    FailureKind.HUNG, t, f"no answer within {limit:g}s (no session opened)")) from None
            except (asyncssh.Error, OSError) as exc:
                raise self._reset(transport_error(
                    FailureKind.DROPPED, t, f"connection to {t.address} lost ({_why(exc)})")) from None
            try:
                if input is not None:
                    proc.stdin.write(input)
                proc.stdin.write_eof()
                remaining = max(0.01, limit - (time.monotonic() - started))
                completed = await asyncio.wait_for(proc.wait(check=False), remaining)
            except (asyncio.TimeoutError, TimeoutError):
                proc.close()
                error = transport_error(FailureKind.HUNG, t, f"no answer within {limit:g}s (the command did not finish)")
                self.last_failure = error
                raise error from None
            except (asyncssh.Error, OSError) as exc:
                raise self._reset(transport_error(
                    FailureKind.DROPPED, t, f"connection to {t.address} lost mid-command ({_why(exc)})")) from None
        return self._result(command, completed, time.monotonic() - started)

    async def stream(self, command: str, *, start_timeout: float | None = None) -> AsyncIterator[str]:
        """Run ``command`` (already quoted) and yield its stdout line by line as it comes.

        Opening the channel is bounded by ``start_timeout`` (default: the
        command timeout); the lines themselves may take as long as they like.
        Ends when the command ends: normally on exit status 0, otherwise with
        :class:`StreamEnded` (exit status and stderr: command not found,
        permission denied …). A connect failure or a channel that cannot be
        opened raises :class:`TransportError` like :meth:`run`. Closing the
        iterator (or cancelling its reader) closes the channel. A stream never
        resets the shared connection: the poll finds a dead one by itself.
        """
        limit = self.command_timeout if start_timeout is None else start_timeout
        conn = await self.connect()
        t = self._target
        async with self._streams:
            try:
                proc = await asyncio.wait_for(conn.create_process(command, encoding="utf-8", errors="replace"), limit)
            except (asyncio.TimeoutError, TimeoutError):
                raise transport_error(FailureKind.HUNG, t, f"no stream within {limit:g}s (no session opened)") from None
            except (asyncssh.Error, OSError) as exc:
                raise transport_error(FailureKind.DROPPED, t, f"connection to {t.address} lost ({_why(exc)})") from None
            try:
                proc.stdin.write_eof()
                async for line in proc.stdout:
                    if line:  # the reader's last, empty line is EOF
                        yield line.rstrip("\n")
                completed = await asyncio.wait_for(proc.wait(check=False), limit)
            except (asyncio.TimeoutError, TimeoutError):
                raise StreamEnded(self.name, command, None, "") from None
            except (asyncssh.Error, OSError) as exc:
                raise transport_error(FailureKind.DROPPED, t, f"stream lost ({_why(exc)})") from None
            finally:
                if proc.exit_status is None:
                    with contextlib.suppress(asyncssh.Error, OSError, ValueError):
                        proc.terminate()  # sshd passes it on (OpenSSH ≥ 7.9): no follower lingers on the node
                proc.close()
        if completed.exit_status != 0:
            raise StreamEnded(self.name, command, completed.exit_status, _text(completed.stderr))

    def _result(self, command: str, completed: asyncssh.SSHCompletedProcess, duration: float) -> CommandResult:
        status = completed.exit_status
        if status is None and completed.exit_signal:
            # The remote process was killed by a signal: a real, completed result.
            name = completed.exit_signal[0]
            signum = getattr(signal, f"SIG{name}", None)
            status = 128 + int(signum) if signum is not None else 255
        if status is None:
            # asyncssh's way of saying the channel closed under us (see module doc).
            t = self._target
            raise self._reset(transport_error(
                FailureKind.DROPPED, t, f"connection to {t.address} dropped mid-command (no exit status)"))
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


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
