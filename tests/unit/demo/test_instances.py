"""One state folder per running demo: `demo fault` never hits the wrong one, and says which when unsure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hatui.demo import instances
from hatui.errors import ConfigError


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    return tmp_path


def fake_demo(pid: int) -> None:
    folder = instances.root() / str(pid)
    folder.mkdir(parents=True)
    (folder / "pid").write_text(f"{pid}\n")
    (folder / instances.CONFIG).write_text("# a demo's config\n")


def test_the_one_running_demo_is_chosen_and_gone_ones_never_are() -> None:
    with pytest.raises(ConfigError, match="no demo is running"):
        instances.running_config()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        fake_demo(sleeper.pid)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        fake_demo(dead.pid)  # its folder stays (timelines), but it is not running
        assert instances.running_config() == instances.root() / str(sleeper.pid) / instances.CONFIG
        fake_demo(os.getpid())
        with pytest.raises(ConfigError, match="2 demos are running: choose one with --config") as err:
            instances.running_config()
        assert str(sleeper.pid) in str(err.value) and str(os.getpid()) in str(err.value)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_instance_is_private_and_finishing_it_unmarks_it(state) -> None:
    folder = instances.new_instance()
    assert folder == state / "demo" / str(os.getpid())
    assert folder.stat().st_mode & 0o777 == 0o700
    assert instances.running() == [folder]
    instances.finished(folder)
    assert instances.running() == [] and folder.is_dir()


def test_demo_fault_without_config_names_the_problem(state) -> None:
    out = subprocess.run([sys.executable, "-m", "hatui.cli", "demo", "fault", "crash", "vm2"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "HATUI_STATE_DIR": str(state)})
    assert out.returncode == 3
    assert out.stderr.strip() == "hatui: no demo is running (start one with `hatui demo`, or pass --config)"
