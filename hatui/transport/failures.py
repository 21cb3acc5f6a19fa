"""Why hatui could not talk to a node, and what the operator does next.

The transport catches a raw exception (asyncssh, socket, asyncio) and this
module turns it into a :class:`~hatui.errors.TransportError` with a
:class:`~hatui.errors.FailureKind`, a one-line message and a hint: the
operator's next step for that class, with the exact commands (port included).

Host keys get the most care, because "unknown" and "CHANGED" need opposite
reactions (first contact vs. possible man-in-the-middle) and asyncssh reports
both as the same ``HostKeyNotVerifiable``. After such a failure we look at
what the configured known_hosts holds for ``host``/``[host]:port`` (asyncssh's
own matcher, so hashed entries and patterns count) and fetch the key the
server presents (``asyncssh.get_server_host_key``, bounded by the connect
timeout) to print both fingerprints. Nothing here ever trusts a key: the hint
tells the operator how to check it out of band and how to add it by hand.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import shlex
import socket
from dataclasses import dataclass

import asyncssh

from hatui.errors import CommandTimeout, FailureKind, HostKeyError, TransportError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"

_TIMED_OUT_ERRNOS = {errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}
_DROPPED_ERRNOS = {errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE}
# ssh-keyscan -t names for the host key algorithms asyncssh reports.
_KEYSCAN_TYPE = {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa", "ssh-dss": "dsa"}

KnownHostsSource = str | list[str] | bytes


@dataclass(frozen=True)
class Target:
    """Where and as whom hatui connects to one node (after ~/.ssh/config is applied)."""

    name: str
    host: str
    port: int
    user: str
    identity_file: str | None
    known_hosts: KnownHostsSource
    connect_timeout: float

    @property
    def address(self) -> str:
        """``host:port``, the way messages name the node's sshd."""
        return f"{self.host}:{self.port}"

    @property
    def known_hosts_file(self) -> str:
        """The file the operator should edit (the first one asyncssh reads)."""
        if isinstance(self.known_hosts, str):
            return self.known_hosts
        if isinstance(self.known_hosts, list) and self.known_hosts:
            return self.known_hosts[0]
        return os.path.expanduser(DEFAULT_KNOWN_HOSTS)

    @property
    def known_hosts_pattern(self) -> str:
        """The known_hosts host field OpenSSH uses: ``host``, or ``[host]:port`` off port 22."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The SHA256 fingerprint, as ``ssh-keygen -l`` prints it."""
    return key.get_fingerprint("sha256")


def _keyscan_type(algorithm: str) -> str:
    if algorithm.startswith("ecdsa-"):
        return "ecdsa"
    return _KEYSCAN_TYPE.get(algorithm, algorithm.removeprefix("ssh-"))


def classify_os_error(exc: OSError) -> FailureKind:
    """The class of a socket-level failure to connect."""
    if isinstance(exc, socket.gaierror):
        return FailureKind.NAME_UNRESOLVED
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return FailureKind.REFUSED
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) or (
        exc.errno in _DROPPED_ERRNOS
    ):
        return FailureKind.DROPPED
    # ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, … and anything else on the path: the
    # node (or the way to it) does not answer.
    return FailureKind.TIMED_OUT


# ---- hints ---------------------------------------------------------------------------


def hint_for(kind: FailureKind, t: Target) -> str:
    """The operator's next step for ``kind`` (host-key hints come from :func:`host_key_hint`)."""
    if kind is FailureKind.AUTH_REJECTED:
        idf = t.identity_file or "not set: the agent and ~/.ssh/id_* are tried"
        agent = "set" if os.environ.get("SSH_AUTH_SOCK") else "not set"
        test = f"ssh -p {t.port}" + (f" -i {shlex.quote(t.identity_file)}" if t.identity_file else "")
        return (f"check the user ({t.user}), identity_file ({idf}) and the ssh-agent (SSH_AUTH_SOCK {agent}): "
                f"the key's .pub must be in ~{t.user}/.ssh/authorized_keys on {t.name}; "
                f"test with `{test} {t.user}@{t.host} true`")
    if kind is FailureKind.NAME_UNRESOLVED:
        return (f"check the host name of node {t.name} in the hatui config, then DNS and /etc/hosts "
                f"(`getent hosts {t.host}`)")
    if kind is FailureKind.REFUSED:
        return (f"the machine answers but nothing accepts SSH on port {t.port}: check that sshd runs on "
                f"{t.name} (`systemctl status ssh` on its console) and that port {t.port} is the right one")
    if kind is FailureKind.TIMED_OUT:
        return (f"{t.name} or the network path to it is down: check its power and console, "
                f"and the network (`ping {t.host}`, routes, firewall on port {t.port})")
    if kind is FailureKind.DROPPED:
        return (f"the connection to {t.address} broke: hatui reconnects on the next poll; if it repeats, check "
                f"{t.name} (rebooted? sshd restarted? OOM killer: `journalctl -k`) and the network")
    if kind is FailureKind.HUNG:
        return (f"{t.name} accepts SSH but does not finish commands: it may be overloaded or stuck on I/O "
                f"(a hung mount or disk); check its console, the load (`uptime`) and `dmesg` for hung tasks")
    return host_key_hint(kind, t, None, pinned=False)


def host_key_hint(kind: FailureKind, t: Target, algorithm: str | None, *, pinned: bool) -> str:
    """Out-of-band check first, then the exact command to (re)trust the key; never automatic."""
    typ = _keyscan_type(algorithm) if algorithm else "ed25519"
    kh = shlex.quote(t.known_hosts_file)
    scan = f"ssh-keyscan -p {t.port} -t {typ} {t.host}"
    compare = (f"compare `{scan} | ssh-keygen -lf -` with `ssh-keygen -lf /etc/ssh/ssh_host_{typ}_key.pub` "
               f"run on {t.name}'s own console")
    if kind is FailureKind.HOST_KEY_UNKNOWN:
        return f"first contact: {compare}; only if they match, `{scan} >> {kh}`"
    text = (f"possible man-in-the-middle, or {t.name} was reinstalled: do not connect until you know; {compare}; "
            f"only if the new key is right, `ssh-keygen -R {shlex.quote(t.known_hosts_pattern)} -f {kh}` "
            f"then `{scan} >> {kh}`")
    return text + " and restart hatui (it keeps refusing a key that changed while it runs)" if pinned else text


# ---- classification ----------------------------------------------------------------


def transport_error(kind: FailureKind, t: Target, message: str) -> TransportError:
    """A :class:`TransportError` of ``kind`` with its standard hint (HUNG gives :class:`CommandTimeout`)."""
    cls = CommandTimeout if kind is FailureKind.HUNG else TransportError
    return cls(t.name, message, kind=kind, hint=hint_for(kind, t))


def connect_error(exc: BaseException, t: Target) -> TransportError:
    """Classify a failure to connect that is not about the host key."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return transport_error(FailureKind.AUTH_REJECTED, t, f"{t.user}@{t.address} rejected authentication")
    if isinstance(exc, asyncssh.KeyImportError):
        return transport_error(FailureKind.AUTH_REJECTED, t, f"cannot use identity_file {t.identity_file}: {exc}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return transport_error(FailureKind.TIMED_OUT, t,
                               f"no SSH answer from {t.address} within {t.connect_timeout:g}s")
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename and t.identity_file and os.path.expanduser(t.identity_file) == exc.filename:
            return transport_error(FailureKind.AUTH_REJECTED, t, f"cannot read identity_file {exc.filename}: {reason}")
        if exc.filename and str(exc.filename) in _files(t.known_hosts):
            return HostKeyError(t.name, f"cannot read known_hosts {exc.filename}: {reason}",
                                kind=FailureKind.HOST_KEY_UNKNOWN,
                                hint=f"fix known_hosts of node {t.name} in the hatui config, or create the file; "
                                     + host_key_hint(FailureKind.HOST_KEY_UNKNOWN, t, None, pinned=False))
        kind = classify_os_error(exc)
        message = {
            FailureKind.NAME_UNRESOLVED: f"cannot resolve host name {t.host} ({reason})",
            FailureKind.REFUSED: f"{t.address} refused the connection",
            FailureKind.DROPPED: f"{t.address} dropped the connection while connecting ({reason})",
        }.get(kind, f"{t.address} is unreachable ({reason})")
        return transport_error(kind, t, message)
    if isinstance(exc, asyncssh.ConnectionLost):
        return transport_error(FailureKind.DROPPED, t, f"{t.address} closed the connection during the SSH handshake")
    if isinstance(exc, asyncssh.Error):
        # Something answers on the port but the SSH handshake failed (not sshd, broken sshd).
        err = transport_error(FailureKind.REFUSED, t, f"SSH handshake with {t.address} failed: {exc.reason}")
        err.hint = (f"something answers on port {t.port} but not as a working sshd: check the port of node "
                    f"{t.name} in the hatui config and sshd's log on {t.name}")
        return err
    # Not a network condition hatui knows: unclassified (the health layer treats it as unreachable).
    return TransportError(t.name, f"cannot connect to {t.address}: {type(exc).__name__}: {exc}")


def _files(source: KnownHostsSource) -> list[str]:
    if isinstance(source, str):
        return [source]
    return [str(f) for f in source] if isinstance(source, list) else []


def is_host_key_failure(exc: BaseException) -> bool:
    """asyncssh refused the server's host key (or found no host key type it may accept)."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return True
    return isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" in str(exc.reason).lower()


async def _resolve(host: str, port: int, timeout: float) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
        return str(infos[0][4][0])
    except (OSError, asyncio.TimeoutError, TimeoutError, IndexError):
        return host


async def known_keys(t: Target) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], str | None]:
    """The host keys and revoked keys known_hosts holds for the target, and why it could not be read."""
    addr = await _resolve(t.host, t.port, t.connect_timeout)
    try:
        keys, _cas, revoked, *_ = asyncssh.match_known_hosts(
            t.known_hosts, t.host, addr, None if t.port == 22 else t.port)
    except (OSError, ValueError) as exc:
        return [], [], getattr(exc, "strerror", None) or str(exc)
    unique = {fingerprint(k): k for k in keys}  # a host matched by name and address is listed twice
    return list(unique.values()), list(revoked), None


async def presented_key(t: Target, prefer: list[asyncssh.SSHKey]) -> tuple[asyncssh.SSHKey | None, str]:
    """The key the server presents now (the known key types first), or why it could not be fetched."""
    attempts: list[list[str] | tuple[()]] = []
    if prefer:
        attempts.append(list(dict.fromkeys(a.decode() for k in prefer for a in k.sig_algorithms)))
    attempts.append(())
    why = "no key presented"
    for algs in attempts:
        try:
            key = await asyncio.wait_for(
                asyncssh.get_server_host_key(t.host, t.port, server_host_key_algs=algs), t.connect_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            why = f"no answer within {t.connect_timeout:g}s"
            continue
        except (OSError, asyncssh.Error) as exc:
            why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
            continue
        if key is not None:
            return key, ""
    return None, why


async def host_key_error(t: Target, pinned: asyncssh.SSHKey | None) -> HostKeyError:
    """Tell an unknown host key from a CHANGED one, with both fingerprints when they can be had."""
    known, revoked, unreadable = await known_keys(t)
    old = [pinned] if pinned is not None else known
    new, why = await presented_key(t, old)
    new_fp = fingerprint(new) if new is not None else None
    alg = new.get_algorithm() if new is not None else (old[0].get_algorithm() if old else None)
    shown = f"{new.get_algorithm()} {new_fp}" if new is not None else f"a key hatui could not fetch ({why})"
    kh = t.known_hosts_file
    if pinned is not None and new is not None and new_fp != fingerprint(pinned):
        kind = FailureKind.HOST_KEY_CHANGED
        message = (f"host key of {t.address} CHANGED while hatui runs: it presents {shown}, "
                   f"hatui verified {fingerprint(pinned)} earlier; refusing until hatui restarts")
    elif new is not None and any(fingerprint(k) == new_fp for k in revoked):
        kind = FailureKind.HOST_KEY_CHANGED
        message = f"host key of {t.address} is REVOKED in {kh}: it presents {shown}"
    elif known:
        kind = FailureKind.HOST_KEY_CHANGED
        olds = ", ".join(f"{k.get_algorithm()} {fingerprint(k)}" for k in known)
        message = f"host key of {t.address} has CHANGED: it presents {shown}, {kh} has {olds}"
    else:
        kind = FailureKind.HOST_KEY_UNKNOWN
        where = f"{kh} (unreadable: {unreadable})" if unreadable else kh
        message = f"host key of {t.address} is unknown (not trusted): it presents {shown}, not in {where}"
    hint = host_key_hint(kind, t, alg, pinned=pinned is not None and kind is FailureKind.HOST_KEY_CHANGED)
    return HostKeyError(t.name, message, kind=kind, hint=hint)


def pinned_changed(t: Target, pinned: asyncssh.SSHKey, seen: asyncssh.SSHKey) -> HostKeyError:
    """The connection succeeded with a key other than the one verified earlier in this run."""
    message = (f"host key of {t.address} CHANGED while hatui runs: it presents {seen.get_algorithm()} "
               f"{fingerprint(seen)}, hatui verified {fingerprint(pinned)} earlier; refusing until hatui restarts")
    hint = host_key_hint(FailureKind.HOST_KEY_CHANGED, t, seen.get_algorithm(), pinned=True)
    return HostKeyError(t.name, message, kind=FailureKind.HOST_KEY_CHANGED, hint=hint)
