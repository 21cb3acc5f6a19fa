"""A demo pair per test, in the test's own event loop (loop scopes must match)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from hatui.demo.server import DemoPair

TIME_SCALE = 20.0


@pytest_asyncio.fixture
async def demo(tmp_path: Path):
    config_path = tmp_path / "demo.toml"
    pair = await DemoPair.start(config_path, state_dir=tmp_path / "state", time_scale=TIME_SCALE)
    try:
        yield pair
    finally:
        await pair.stop()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict:
        return json.loads(self.stdout)


async def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
    """Run the real `hatui` CLI in a subprocess without blocking the loop serving the demo pair."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hatui.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return CliResult(proc.returncode, out.decode(), err.decode())
