"""Commands that keep running on the demo pair, over real SSH: ``drbdsetup events2`` and ``tail -F`` on the journal."""

from __future__ import annotations

import asyncio
import json
import re

import asyncssh
import pytest

from hatui.demo.server import DemoPair
from hatui.probes.catalog import NODE_JOURNAL_PATH
from hatui.probes.drbd import parse_events2_line

pytestmark = pytest.mark.asyncio
WAIT = 10.0  # seconds: bounded, generous for a loaded machine
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d ")


async def connect(pair: DemoPair, node: str) -> asyncssh.SSHClientConnection:
    port = pair.ports[pair.sim.names.index(node)]
    return await asyncssh.connect("127.0.0.1", port, username="hatui", client_keys=[str(pair.client_key_path)],
                                  known_hosts=str(pair.known_hosts_path), agent_path=None, config=None)


async def read_until(process: asyncssh.SSHClientProcess, seen: list[str], wanted) -> str:
    """Read lines into ``seen`` until one satisfies ``wanted``; fail after WAIT seconds."""
    async def loop() -> str:
        while True:
            line = await process.stdout.readline()
            assert line, f"stream ended; saw {seen}"
            seen.append(line.rstrip("\n"))
            if wanted(seen[-1]):
                return seen[-1]
    try:
        return await asyncio.wait_for(loop(), WAIT)
    except asyncio.TimeoutError:
        pytest.fail(f"no such line within {WAIT} s; saw {seen}")


async def wait_for(predicate) -> None:
    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(loop(), WAIT)


async def test_events2_follows_changes_and_closing_the_channel_unsubscribes(demo: DemoPair) -> None:
    events = demo.sim.drbd.events
    async with await connect(demo, "vm12") as conn:
        process = await conn.create_process("sudo -n drbdsetup events2 --timestamps all")
        seen: list[str] = []
        await read_until(process, seen, lambda line: line.endswith(" exists -"))
        assert all(STAMP.match(line) for line in seen)
        assert [parse_events2_line(line).object for line in seen] == [
            "resource", "connection", "device", "peer-device", "-"]
        assert events.subscribers == 1
        await demo.fault("cut-link")
        line = await read_until(process, seen, lambda line: "connection:Unconnected" in line)
        assert STAMP.match(line) and " change connection name:r0 peer-node-id:0 conn-name:vm2 " in line
        await read_until(process, seen, lambda line: " change peer-device " in line and "replication:Off" in line)
        await demo.fault("heal-link")
        await read_until(process, seen, lambda line: "connection:Connected" in line)
        process.close()
        await wait_for(lambda: events.subscribers == 0)


async def test_events2_now_still_ends_after_the_dump(demo: DemoPair) -> None:
    async with await connect(demo, "vm2") as conn:
        result = await asyncio.wait_for(conn.run("drbdsetup events2 --now --statistics r0"), WAIT)
    assert result.exit_status == 0
    assert result.stdout.splitlines()[-1] == "exists -"
    assert demo.sim.drbd.events.subscribers == 0


async def test_the_kit_journal_can_be_followed(demo: DemoPair) -> None:
    async with await connect(demo, "vm12") as conn:
        process = await conn.create_process(f"tail -n0 -F {NODE_JOURNAL_PATH}")
        await asyncio.sleep(0.2)  # nothing printed for -n0 until the kit writes
        await demo.fault("stop-keepalived", "vm2")  # vm12's keepalived takes over; its notify kit journals
        seen: list[str] = []
        await read_until(process, seen, lambda line: True)
        entry = json.loads(seen[0])
        assert entry["node"] == "vm12" and entry["step"]
        process.close()


async def test_a_crashed_node_ends_its_streams(demo: DemoPair) -> None:
    events = demo.sim.drbd.events
    conn = await connect(demo, "vm12")
    process = await conn.create_process("drbdsetup events2")
    await read_until(process, [], lambda line: line == "exists -")
    await demo.fault("crash", "vm12")
    await wait_for(lambda: events.subscribers == 0)
    conn.close()
