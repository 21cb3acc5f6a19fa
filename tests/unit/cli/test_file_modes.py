"""Files hatui creates are 0600 in 0700 folders, whatever the umask.

The umask is set to 0 for these tests: a mode that is right only because the
usual umask 022 trims it would show up as group/world access here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hatui import paths
from hatui.actions.audit import AuditLog, audit_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_state_dir_and_its_missing_parents_are_created_0700(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "a" / "state"))
    state = paths.state_dir()
    assert state.is_dir() and mode(state) == 0o700 and mode(state.parent) == 0o700


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    paths.private_dir(shared / "mine")
    assert mode(shared) == 0o755 and mode(shared / "mine") == 0o700


def test_audit_log_is_0600_in_a_0700_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "state"))
    assert AuditLog("failover").record("start")
    assert mode(audit_path()) == 0o600 and mode(audit_path().parent) == 0o700


def test_write_private_tightens_a_file_that_was_wider(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    paths.write_private(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o600


def test_timelines_live_in_the_private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hatui.timelines.saved import Timeline

    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "state"))
    tl = Timeline("failover", "Failover to vm12")
    assert tl.path.exists() and mode(tmp_path / "state") == 0o700


@pytest.mark.asyncio
async def test_demo_keys_known_hosts_and_config_are_private(tmp_path: Path) -> None:
    from hatui.demo.server import DemoPair

    config = tmp_path / "conf" / "demo.toml"
    state = tmp_path / "state"
    pair = await DemoPair.start(config, state_dir=state)
    try:
        assert mode(state) == 0o700 and mode(config.parent) == 0o700 and mode(config) == 0o600
        files = [pair.known_hosts_path, pair.client_key_path, *state.glob("ssh_host_*"), *state.glob("*.pub")]
        assert len(files) >= 5
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await pair.stop()
