"""`hatui status` headless edges: usage errors exit 3, JSON errors, and --watch frames into a pipe."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import signal
import time

import pytest
from click.testing import CliRunner

from hatui import cli
from hatui.errors import TransportError
from hatui.present.rich import frame_heading
from tests import builders as b

EXAMPLE = importlib.resources.files("hatui").joinpath("config_example.toml").read_text()


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE.replace("poll_interval = 2.0", "poll_interval = 0.2"))
    return path


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


@pytest.mark.parametrize("args", [["status", "--bogus"], ["status", "--timeout", "soon"], ["status", "extra"]])
def test_usage_errors_of_status_exit_unknown_not_critical(args) -> None:
    result = run(*args)
    assert result.exit_code == 3, result.output


def test_usage_error_with_json_is_a_json_error_object() -> None:
    result = run("status", "--json", "--timeout", "soon")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "UNKNOWN" and doc["error"]["kind"] == "usage" and "--timeout" in doc["error"]["message"]


def test_config_error_with_json_is_a_json_error_object(tmp_path) -> None:
    result = run("--config", str(tmp_path / "missing.toml"), "status", "--json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc == {"schema": "hatui.status/v1", "verdict": "UNKNOWN",
                   "error": {"kind": "config", "message": doc["error"]["message"]}}
    assert "no config at" in doc["error"]["message"] and "hatui: no config at" in result.stderr


@pytest.mark.parametrize("error,kind", [(TransportError("vm2", "vm2: connection refused"), "transport"),
                                        (TimeoutError(), "timeout")])
def test_transport_and_timeout_errors_with_json_are_json(config, monkeypatch, error, kind) -> None:
    import hatui.snapshot.poller

    async def failing(config, timeout=None):
        raise error

    monkeypatch.setattr(hatui.snapshot.poller, "poll_once", failing)
    result = run("--config", str(config), "status", "--json", "--timeout", "1")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["error"]["kind"] == kind and doc["error"]["message"]


class FramesPoller:
    """Two healthy snapshots, then Ctrl-C (a real SIGINT, handled as asyncio.run handles it)."""

    polls = 0

    def __init__(self, config) -> None:
        self.config = config

    async def poll(self):
        type(self).polls += 1
        if type(self).polls > 2:
            signal.raise_signal(signal.SIGINT)
            await asyncio.sleep(10)
        now = 1_700_000_000.0 + type(self).polls
        return b.cluster(b.node("vm2", active=True, peer="vm12", now=now), b.node("vm12", active=False, peer="vm2", now=now))

    async def close(self) -> None:
        pass


@pytest.fixture
def frames(monkeypatch):
    import hatui.snapshot.poller

    FramesPoller.polls = 0
    monkeypatch.setattr(hatui.snapshot.poller, "ClusterPoller", FramesPoller)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def test_watch_into_a_pipe_prints_one_dated_frame_per_interval(config, frames) -> None:
    result = run("--config", str(config), "status", "--watch")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    heads = [line for line in lines if line.startswith("--- ")]
    assert heads == ["--- hatui status 2023-11-14 22:13:21 UTC · every 0.2 s ---",
                     "--- hatui status 2023-11-14 22:13:22 UTC · every 0.2 s ---"]
    assert sum(1 for line in lines if "✔ OK   VIP 192.168.83.200 → vm2" in line) == 2  # two whole frames
    assert "\x1b[" not in result.stdout  # plain text: no colours or cursor moves in a pipe


def test_watch_with_json_prints_json_lines(config, frames) -> None:
    result = run("--config", str(config), "status", "--watch", "--json")
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["taken_at"] for d in docs] == [1_700_000_001.0, 1_700_000_002.0]
    assert all(d["schema"] == "hatui.status/v1" and d["verdict"] == "OK" for d in docs)


def test_a_terminal_frame_is_headed_by_its_time(frames) -> None:
    assert frame_heading(1_700_000_000.0, 2).plain == "hatui status 2023-11-14 22:13:20 UTC · every 2 s · Ctrl-C stops"
