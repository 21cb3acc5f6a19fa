"""NodeTransport.stream against a real in-process SSH server: lines as they come, clean ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest
import pytest_asyncio

from hatui.errors import FailureKind, TransportError
from hatui.transport import StreamEnded
from tests.unit.transport.test_transport import Node, _Server, new_key, no_personal_ssh  # noqa: F401 - the fixture

pytestmark = pytest.mark.asyncio


class StreamNode(Node):
    """An sshd whose commands stream: ``follow`` (a, b, then c once released), ``forever``,
    ``notfound`` (exit 127), ``drop`` (cuts the connection after a line), anything else: ``ok``."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, new_key())
        self.release = asyncio.Event()
        self.closed = asyncio.Event()  # a ``forever`` stream's channel was closed by the client

    async def answer(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command or ""
        if command == "follow":
            process.stdout.write("a\nb\n")
            await self.release.wait()
            process.stdout.write("c\n")
            process.exit(0)
        elif command == "forever":
            try:
                while True:  # like a real follower: it learns that nobody reads when a write fails
                    process.stdout.write("x\n")
                    await process.stdout.drain()
                    await asyncio.sleep(0.05)
            except (asyncssh.Error, OSError):
                self.closed.set()
        elif command == "notfound":
            process.stderr.write("sh: 1: drbdsetup: not found\n")
            process.exit(127)
        elif command == "drop":
            process.stdout.write("first\n")
            await asyncio.sleep(0.05)
            process.channel.get_connection().abort()
        else:
            process.stdout.write("ok\n")
            process.exit(0)

    async def start(self, host_key: asyncssh.SSHKey | None = None) -> None:
        self._acceptor = await asyncssh.listen(
            "127.0.0.1", self.port, server_factory=lambda: _Server(self), server_host_keys=[self.host_key],
            process_factory=self.answer, encoding="utf-8")
        self.port = self._acceptor.get_port()


@pytest_asyncio.fixture
async def node(tmp_path: Path):
    n = StreamNode(tmp_path)
    await n.start()
    n.trust(n.host_key)
    try:
        yield n
    finally:
        await n.stop()


async def test_lines_arrive_as_the_command_prints_them(node: StreamNode) -> None:
    t = node.transport()
    lines = t.stream("follow")
    assert [await anext(lines), await anext(lines)] == ["a", "b"], "before the command ended"
    node.release.set()
    assert [line async for line in lines] == ["c"]
    await t.close()


async def test_a_command_that_fails_ends_the_stream_with_its_status_and_first_error_line(node: StreamNode) -> None:
    t = node.transport()
    with pytest.raises(StreamEnded) as info:
        async for _ in t.stream("notfound"):
            pass
    assert info.value.exit_status == 127 and info.value.first_error_line == "sh: 1: drbdsetup: not found"
    assert "\n" not in str(info.value)
    await t.close()


async def test_closing_a_stream_closes_its_channel_and_commands_run_beside_it(node: StreamNode) -> None:
    t = node.transport()
    lines = t.stream("forever")
    assert await anext(lines) == "x"
    result = await asyncio.wait_for(t.run("echo ok"), 5)  # the poll is not held up by a running stream
    assert result.stdout == "ok\n"
    await lines.aclose()
    await asyncio.wait_for(node.closed.wait(), 5)
    assert (await t.run("echo ok")).ok, "the connection stays usable"
    await t.close()


async def test_a_connection_cut_under_a_stream_is_a_drop(node: StreamNode) -> None:
    t = node.transport()
    seen = []
    with pytest.raises((TransportError, StreamEnded)) as info:
        async for line in t.stream("drop"):
            seen.append(line)
    assert seen == ["first"]
    if isinstance(info.value, TransportError):
        assert info.value.kind is FailureKind.DROPPED
    else:
        assert info.value.exit_status is None
    await t.close()
