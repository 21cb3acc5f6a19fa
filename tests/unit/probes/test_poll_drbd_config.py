"""The DRBD configuration dump (the fencing policy) is read once per connection and every
DRBD_CONFIG_EVERY polls, and kept between reads; the DRBD state itself is in every poll."""

from __future__ import annotations

import re

import pytest

from hatui.probes import catalog
from hatui.snapshot.poller import ClusterPoller
from hatui.transport import CommandResult
from tests.builders import config

SHOW = 'resource "r0" {\n    net {\n        fencing resource-and-stonith;\n    }\n}\n'


class CountingNode:
    """Answers each poll script with one section per probe; the DRBD config dump says ``policy``."""

    def __init__(self) -> None:
        self.connection_serial = 1
        self.policy = "resource-and-stonith"
        self.scripts: list[str] = []

    async def run(self, command: str, *, timeout: float | None = None, input: str | None = None) -> CommandResult:
        assert input is not None
        self.scripts.append(input)
        nonce = re.search(r"^_N=(\w+)$", input, re.M).group(1)
        out = []
        for name in re.findall(r"^_h ([\w.:+-]+)", input, re.M):
            text = SHOW.replace("resource-and-stonith", self.policy) if name == catalog.DRBD_CONFIG else ""
            out.append(f"@@hatui:{nonce}:begin:{name}@@\n{text}\n@@hatui:{nonce}:end:{name}:rc=0@@")
        return CommandResult(command, 0, "\n".join(out) + "\n", "", 0.001)

    def reads(self) -> int:
        return sum(f"_h {catalog.DRBD_CONFIG} " in s for s in self.scripts)

    def drbd_polls(self) -> int:
        return sum(f"_h {catalog.DRBD} " in s for s in self.scripts)

    async def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_the_config_is_read_on_a_new_connection_and_every_nth_poll_and_kept_between():
    cfg = config()
    nodes = {name: CountingNode() for name in cfg.node_names}
    poller = ClusterPoller(cfg, transports=nodes)
    name = cfg.node_names[0]
    node = nodes[name]

    first = await poller.poll_node(name)
    assert node.reads() == 1 and first.fencing == {"r0": "resource-and-stonith"}
    node.policy = "resource-only"  # changed on the node: seen at the next read, not before
    for _ in range(catalog.DRBD_CONFIG_EVERY - 1):
        between = await poller.poll_node(name)
        assert between.fencing == {"r0": "resource-and-stonith"}, "kept from the last read"
        assert catalog.DRBD_CONFIG in between.sections, "its raw output stays in the details"
    assert node.reads() == 1
    assert (await poller.poll_node(name)).fencing == {"r0": "resource-only"}
    assert node.reads() == 2

    node.connection_serial += 1  # a reconnect: the configuration may have changed meanwhile
    await poller.poll_node(name)
    assert node.reads() == 3
    assert node.drbd_polls() == len(node.scripts), "the DRBD state is read by every poll"


@pytest.mark.asyncio
async def test_a_failed_read_is_tried_again_next_poll_and_not_kept():
    cfg = config()
    nodes = {name: CountingNode() for name in cfg.node_names}
    poller = ClusterPoller(cfg, transports=nodes)
    name = cfg.node_names[0]
    node = nodes[name]
    node.policy = "x"
    original = node.run

    async def failing(command, *, timeout=None, input=None):
        result = await original(command, timeout=timeout, input=input)
        return CommandResult(command, 0, result.stdout.replace(f"end:{catalog.DRBD_CONFIG}:rc=0",
                                                               f"end:{catalog.DRBD_CONFIG}:rc=1"), "", 0.001)

    node.run = failing
    assert (await poller.poll_node(name)).fencing == {}, "unknown, not a guess"
    node.run = original
    await poller.poll_node(name)
    assert node.reads() == 2, "read again until one reading succeeds"
