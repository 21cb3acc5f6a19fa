"""The transport classifies every connection failure, against real in-process SSH servers.

Every server here is asyncssh on 127.0.0.1; nothing leaves loopback (the one
name lookup is answered by the test's own getaddrinfo). HOME points at an
empty directory and SSH_AUTH_SOCK is unset, so the tester's ~/.ssh and agent
never take part.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import hmac
import os
import socket
from pathlib import Path

import asyncssh
import pytest
import pytest_asyncio

from hatui.config import ClusterConfig, NodeConfig
from hatui.errors import CommandTimeout, FailureKind, HostKeyError, TransportError
from hatui.transport.failures import classify_os_error
from hatui.transport import NodeTransport

USER = "ops"


def fp(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


class _Server(asyncssh.SSHServer):
    def __init__(self, node: Node) -> None:
        self._node = node

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._node.conns.add(conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == USER and key.public_data == self._node.client_key.public_data


async def answer(process: asyncssh.SSHServerProcess) -> None:
    """`echo ok`, `hang` (never answers) and `drop` (cuts the connection mid-command)."""
    command = process.command or ""
    if command == "hang":
        await asyncio.sleep(3600)
    elif command == "drop":
        process.stdout.write("partial")
        await asyncio.sleep(0.05)
        process.channel.get_connection().abort()
        return
    process.stdout.write("ok\n")
    process.exit(0)


class Node:
    """One in-process sshd: a host key, a client key it accepts, a port."""

    def __init__(self, tmp: Path, host_key: asyncssh.SSHKey) -> None:
        self.tmp, self.host_key = tmp, host_key
        self.client_key = new_key()
        self.identity = tmp / "id_ed25519"
        self.identity.write_bytes(self.client_key.export_private_key())
        self.identity.chmod(0o600)
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.write_text("")
        self.port = 0
        self.conns: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self, host_key: asyncssh.SSHKey | None = None) -> None:
        self.host_key = host_key or self.host_key
        self._acceptor = await asyncssh.listen(
            "127.0.0.1", self.port, server_factory=lambda: _Server(self), server_host_keys=[self.host_key],
            process_factory=answer, encoding="utf-8")
        self.port = self._acceptor.get_port()

    async def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for conn in list(self.conns):
            conn.abort()
        self.conns.clear()

    def trust(self, *keys: asyncssh.SSHKey, hashed: bool = False) -> None:
        """Write known_hosts with ``keys`` for ``[127.0.0.1]:port``."""
        pattern = f"[127.0.0.1]:{self.port}"
        if hashed:
            salt = os.urandom(20)
            digest = hmac.new(salt, pattern.encode(), hashlib.sha1).digest()
            pattern = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
        self.known_hosts.write_text("".join(
            f"{pattern} {k.export_public_key().decode().split()[0]} {k.export_public_key().decode().split()[1]}\n"
            for k in keys))

    def transport(self, *, host: str = "127.0.0.1", port: int | None = None, identity: Path | None = None,
                  connect_timeout: float = 3.0, command_timeout: float = 3.0) -> NodeTransport:
        node = NodeConfig(name="vm1", host=host, port=port or self.port, user=USER,
                          identity_file=str(identity or self.identity), known_hosts=str(self.known_hosts))
        return NodeTransport(node, ClusterConfig(connect_timeout=connect_timeout, command_timeout=command_timeout))


@pytest.fixture(autouse=True)
def no_personal_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest_asyncio.fixture
async def node(tmp_path: Path):
    n = Node(tmp_path, new_key())
    await n.start()
    n.trust(n.host_key)
    try:
        yield n
    finally:
        await n.stop()


async def failure(transport: NodeTransport, command: str = "echo ok", **kw: object) -> TransportError:
    try:
        with pytest.raises(TransportError) as info:
            await transport.run(command, **kw)
    finally:
        await transport.close()
    err = info.value
    assert err.kind is not None and err.hint and "\n" not in str(err) and "\n" not in err.hint
    return err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- it works, and the first key is pinned -------------------------------------------


@pytest.mark.asyncio
async def test_runs_a_command_and_remembers_the_verified_host_key(node: Node) -> None:
    t = node.transport()
    result = await t.run("echo ok")
    await t.close()
    assert (result.exit_status, result.stdout) == (0, "ok\n")
    assert t.pinned_key is not None and fp(t.pinned_key) == fp(node.host_key)


# ---- host keys -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_unknown_host_key_names_the_fingerprint_and_how_to_add_it(node: Node) -> None:
    node.known_hosts.write_text("")
    err = await failure(node.transport())
    assert isinstance(err, HostKeyError) and err.kind is FailureKind.HOST_KEY_UNKNOWN
    assert f"127.0.0.1:{node.port}" in err.reason and fp(node.host_key) in err.reason
    assert f"ssh-keyscan -p {node.port} -t ed25519 127.0.0.1 | ssh-keygen -lf -" in err.hint
    assert f">> {node.known_hosts}" in err.hint and "ssh-keygen -R" not in err.hint


@pytest.mark.asyncio
async def test_changed_host_key_shows_old_and_new_fingerprints(node: Node) -> None:
    old = new_key()
    node.trust(old)
    err = await failure(node.transport())
    assert isinstance(err, HostKeyError) and err.kind is FailureKind.HOST_KEY_CHANGED
    assert fp(node.host_key) in err.reason and fp(old) in err.reason and "CHANGED" in err.reason
    assert f"ssh-keygen -R '[127.0.0.1]:{node.port}' -f {node.known_hosts}" in err.hint
    assert f"ssh-keyscan -p {node.port} -t ed25519 127.0.0.1" in err.hint


@pytest.mark.asyncio
async def test_changed_host_key_is_found_in_a_hashed_known_hosts_entry(node: Node) -> None:
    old = new_key()
    node.trust(old, hashed=True)
    err = await failure(node.transport())
    assert err.kind is FailureKind.HOST_KEY_CHANGED and fp(old) in err.reason


@pytest.mark.asyncio
async def test_an_entry_for_another_port_does_not_make_the_key_changed(node: Node) -> None:
    node.known_hosts.write_text(f"[127.0.0.1]:{node.port + 1} {new_key().export_public_key().decode()}")
    err = await failure(node.transport())
    assert err.kind is FailureKind.HOST_KEY_UNKNOWN


@pytest.mark.asyncio
async def test_missing_known_hosts_file_is_a_host_key_problem(node: Node) -> None:
    node.known_hosts.unlink()
    err = await failure(node.transport())
    assert err.kind is FailureKind.HOST_KEY_UNKNOWN and str(node.known_hosts) in err.reason


# ---- a key that changes while hatui runs (task 2) -----------------------------------------


@pytest.mark.asyncio
async def test_key_changed_while_running_is_refused_even_after_known_hosts_is_edited(node: Node) -> None:
    first = node.host_key
    t = node.transport()
    assert (await t.run("echo ok")).ok
    await node.stop()
    second = new_key()
    await node.start(second)  # same port, another key: reinstalled node, or someone in the middle

    err = await failure(t)
    assert err.kind is FailureKind.HOST_KEY_CHANGED
    assert fp(first) in err.reason and fp(second) in err.reason

    node.trust(second)  # someone "fixes" known_hosts while hatui runs
    t.reset_backoff()
    err = await failure(t)
    assert err.kind is FailureKind.HOST_KEY_CHANGED and "while hatui runs" in err.reason
    assert fp(first) in err.reason and fp(second) in err.reason and "restart hatui" in err.hint
    node.trust(first, second)  # both trusted in the file: the pin still decides
    t.reset_backoff()
    assert (await failure(t)).kind is FailureKind.HOST_KEY_CHANGED

    fresh = node.transport()  # a restarted hatui trusts what known_hosts says
    assert (await fresh.run("echo ok")).ok
    await fresh.close()


@pytest.mark.asyncio
async def test_the_original_key_coming_back_is_accepted(node: Node) -> None:
    first = node.host_key
    t = node.transport()
    assert (await t.run("echo ok")).ok
    await node.stop()
    await node.start(new_key())
    assert (await failure(t)).kind is FailureKind.HOST_KEY_CHANGED
    await node.stop()
    await node.start(first)
    t.reset_backoff()
    assert (await t.run("echo ok")).ok
    await t.close()


# ---- authentication, name, refused, timeout ---------------------------------------------


@pytest.mark.asyncio
async def test_rejected_key_names_user_identity_file_and_agent(node: Node, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    other.write_bytes(new_key().export_private_key())
    other.chmod(0o600)
    err = await failure(node.transport(identity=other))
    assert err.kind is FailureKind.AUTH_REJECTED and f"{USER}@127.0.0.1:{node.port}" in err.reason
    assert USER in err.hint and str(other) in err.hint and "SSH_AUTH_SOCK not set" in err.hint
    assert f"ssh -p {node.port} -i {other} {USER}@127.0.0.1 true" in err.hint


@pytest.mark.asyncio
async def test_missing_identity_file_is_an_auth_problem(node: Node, tmp_path: Path) -> None:
    err = await failure(node.transport(identity=tmp_path / "nope"))
    assert err.kind is FailureKind.AUTH_REJECTED and "nope" in err.reason


@pytest.mark.asyncio
async def test_unresolvable_name(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def resolver(host, *args, **kwargs):  # the resolver answers NXDOMAIN for .invalid, locally
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return await real(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", resolver)
    err = await failure(node.transport(host="vm1.invalid"))
    assert err.kind is FailureKind.NAME_UNRESOLVED and "vm1.invalid" in err.reason
    assert "getent hosts vm1.invalid" in err.hint and "/etc/hosts" in err.hint


@pytest.mark.asyncio
async def test_refused_port_then_backoff_repeats_the_same_class(node: Node) -> None:
    port = closed_port()
    t = node.transport(port=port)
    err = await failure(t)
    assert err.kind is FailureKind.REFUSED and f"127.0.0.1:{port} refused" in err.reason
    assert f"port {port}" in err.hint and "sshd" in err.hint
    again = await failure(t)  # within the backoff: no new attempt, same class and hint
    assert again.kind is FailureKind.REFUSED and again.hint == err.hint and "next retry" in again.reason
    assert t.last_failure is err and t.last_error == err.reason


@pytest.mark.asyncio
async def test_silent_listener_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        node = NodeConfig(name="vm1", host="127.0.0.1", port=port, user=USER)
        err = await failure(NodeTransport(node, ClusterConfig(connect_timeout=0.5)))
    finally:
        server.close()
    assert err.kind is FailureKind.TIMED_OUT and err.kind.unreachable
    assert f"127.0.0.1:{port} within 0.5s" in err.reason and "ping 127.0.0.1" in err.hint


@pytest.mark.parametrize(("code", "kind"), [
    (errno.EHOSTUNREACH, FailureKind.TIMED_OUT), (errno.ENETUNREACH, FailureKind.TIMED_OUT),
    (errno.ETIMEDOUT, FailureKind.TIMED_OUT), (errno.ECONNREFUSED, FailureKind.REFUSED),
    (errno.ECONNRESET, FailureKind.DROPPED),
])
def test_socket_errnos_are_classified(code: int, kind: FailureKind) -> None:
    assert classify_os_error(OSError(code, os.strerror(code))) is kind


# ---- hung and dropped ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_command_that_never_answers_is_hung(node: Node) -> None:
    err = await failure(node.transport(), "hang", timeout=0.5)
    assert isinstance(err, CommandTimeout) and err.kind is FailureKind.HUNG
    assert err.reason.startswith("no answer within 0.5s") and "uptime" in err.hint


@pytest.mark.asyncio
async def test_connection_cut_mid_command_is_dropped_and_the_next_call_reconnects(node: Node) -> None:
    t = node.transport()
    with pytest.raises(TransportError) as info:
        await t.run("drop")
    err = info.value
    assert err.kind is FailureKind.DROPPED and f"127.0.0.1:{node.port}" in err.reason and err.hint
    assert (await t.run("echo ok")).stdout == "ok\n"
    await t.close()
