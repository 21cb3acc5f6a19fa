"""End to end: the demo pair over real SSH (asyncssh client, strict host keys)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import asyncssh
import pytest

from hatui.demo.server import DemoPair, start_in_thread
from hatui.probes.script import Probe, build_script, split_sections


def client_opts(state_dir: Path) -> dict[str, object]:
    return {
        "username": "hatui",
        "client_keys": [str(state_dir / "id_ed25519")],
        "known_hosts": str(state_dir / "known_hosts"),
        "agent_path": None,
        "config": None,
        "connect_timeout": 5,
    }


async def connect(pair: DemoPair, index: int) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect("127.0.0.1", pair.ports[index], **client_opts(pair.state_dir))


@pytest.mark.asyncio
async def test_demo_pair_over_ssh(tmp_path: Path) -> None:
    async with await DemoPair.start(None, state_dir=tmp_path, time_scale=50) as pair:
        assert stat.S_IMODE(os.stat(tmp_path / "id_ed25519").st_mode) == 0o600
        known = (tmp_path / "known_hosts").read_text().splitlines()
        assert [ln.split()[0] for ln in known] == [f"[127.0.0.1]:{p}" for p in pair.ports]
        config = pair.config_path.read_text()
        assert 'name = "demo"' in config and f"port = {pair.ports[1]}" in config

        vm2, vm12 = await connect(pair, 0), await connect(pair, 1)
        assert (await vm2.run("true", timeout=5)).exit_status == 0

        probes = [Probe("drbd", ("drbdsetup status --json",)), Probe("ip", ("ip -j addr",)),
                  Probe("ka", ("_ka_json",)), Probe("nope", ("false",))]
        script = build_script(probes, nonce="abcdef")
        result = await vm2.run(script, timeout=5)
        sections = split_sections(result.stdout, "abcdef")
        assert {k: s.rc for k, s in sections.items()} == {"drbd": 0, "ip": 0, "ka": 0, "nope": 1}
        assert json.loads(sections["drbd"].text)[0]["role"] == "Primary"

        # crash vm2 from vm12: vm2 stops answering at once, vm12 takes over.
        result = await vm12.run("hatui-sim fault crash vm2", timeout=5)
        assert result.exit_status == 0
        with pytest.raises((OSError, asyncssh.Error)):
            r = await vm2.run("true", timeout=2)
            if r.exit_status is None:  # cut off: same as failing
                raise OSError("connection lost")
        with pytest.raises(OSError):
            await connect(pair, 0)
        for _ in range(100):  # ~10 s simulated at time_scale 50 is 0.2 s real
            state = json.loads((await vm12.run("hatui-sim state", timeout=5)).stdout)
            if state["active"] == "vm12":
                break
            await asyncio.sleep(0.05)
        assert state["active"] == "vm12"
        await pair.fault("restore", "vm2")
        vm2 = await connect(pair, 0)
        assert (await vm2.run("drbdadm role r0", timeout=5)).stdout == "Secondary\n"

        # hang: accepted but never answered
        pair.sim.hang("vm12")
        with pytest.raises((asyncio.TimeoutError, asyncssh.TimeoutError)):
            await vm12.run("true", timeout=0.5)
        pair.sim.unhang("vm12")
        assert (await vm12.run("true", timeout=5)).exit_status == 0

        # drop: the connection is cut while the command runs
        pair.sim.drop("vm2")
        result = await vm2.run("drbdadm status", timeout=5)
        assert result.exit_status is None


@pytest.mark.asyncio
async def test_wrong_user_is_refused(tmp_path: Path) -> None:
    async with await DemoPair.start(None, state_dir=tmp_path, time_scale=20) as pair:
        opts = client_opts(tmp_path) | {"username": "root"}
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect("127.0.0.1", pair.ports[0], **opts)


def test_start_in_thread(tmp_path: Path) -> None:
    handle = start_in_thread(state_dir=tmp_path, time_scale=20)
    try:
        assert handle.config_path.exists()
        assert handle.fault("stop-service", "vm2", "nfs-server.service") == "stop-service vm2 nfs-server.service"

        async def check() -> str:
            async with asyncssh.connect("127.0.0.1", handle.ports[0], **client_opts(tmp_path)) as conn:
                return (await conn.run("systemctl is-active nfs-server.service", timeout=5)).stdout

        assert asyncio.run(check()) == "inactive\n"
    finally:
        handle.stop()
