"""The fleet: a folder of pair files, each read with the single-pair parser; status --all's rows."""

from __future__ import annotations

import importlib.resources
import json
import socket
import time

import pytest
from click.testing import CliRunner

from hatui import paths
from hatui.cli import main
from hatui.config import load_config
from hatui.errors import ConfigError
from hatui.fleet import load_fleet, pair_config_path
from hatui.fleet.status import exit_code, failed, summarize, table, worst
from hatui.states import Severity
from tests.sim_pair import SimPair
from tests import REPO

EXAMPLE = importlib.resources.files("hatui").joinpath("config_example.toml").read_text()


def pair_file(name: str, port: int | None = None) -> str:
    text = EXAMPLE.replace('name = "ha-pair"', f'name = "{name}"', 1)
    assert f'name = "{name}"' in text
    if port is not None:  # both nodes on 127.0.0.1:PORT, fast timeouts
        text = text.replace('host = "vm2"', f'host = "127.0.0.1"\nport = {port}')
        text = text.replace('host = "vm12"', f'host = "127.0.0.1"\nport = {port}')
        text = text.replace("command_timeout = 10.0", "command_timeout = 1.0")
        text = text.replace("connect_timeout = 5.0", "connect_timeout = 1.0")
    return text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: connecting is refused


def test_folder_of_pair_files_each_parsed_alone(tmp_path) -> None:
    (tmp_path / "a.toml").write_text(pair_file("alpha"))
    (tmp_path / "b.toml").write_text(pair_file("beta"))
    (tmp_path / "c.toml").write_text("[cluster\nname = ")  # broken TOML breaks only this pair
    (tmp_path / "d.toml").write_text(pair_file("alpha"))  # a name used twice: the second one is the error
    (tmp_path / "notes.txt").write_text("not a pair")
    fleet = load_fleet(tmp_path)
    assert fleet.names == ("alpha", "beta", "c", "alpha@d")
    assert [p.ok for p in fleet.pairs] == [True, True, False, False]
    assert "not valid TOML" in fleet.pair("c").error
    assert "already used by" in fleet.pair("alpha@d").error
    assert fleet.pair("beta").config.cluster.name == "beta"
    with pytest.raises(ConfigError, match="pairs: alpha, beta"):
        fleet.pair("gamma")


def test_single_pair_file_is_a_fleet_of_one_and_unchanged(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE)
    fleet = load_fleet(path)
    assert fleet.names == ("ha-pair",)
    assert fleet.pairs[0].config == load_config(path)  # the very same parser and result


def test_default_lookup_is_config_toml_plus_conf_d(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HATUI_CONFIG", raising=False)
    monkeypatch.setattr(paths, "default_config_file", lambda: tmp_path / "config.toml")
    with pytest.raises(ConfigError, match="no config at"):
        load_fleet()
    (tmp_path / "config.toml").write_text(pair_file("main"))
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "10-edge.toml").write_text(pair_file("edge"))
    assert load_fleet().names == ("main", "edge")
    monkeypatch.setenv("HATUI_CONFIG", str(tmp_path / "conf.d"))
    assert load_fleet().names == ("edge",)


def test_pair_config_path(tmp_path) -> None:
    (tmp_path / "a.toml").write_text(pair_file("alpha"))
    (tmp_path / "b.toml").write_text("oops =")
    assert pair_config_path(tmp_path, "alpha") == tmp_path / "a.toml"
    with pytest.raises(ConfigError, match="not valid TOML"):
        pair_config_path(tmp_path, "b")
    with pytest.raises(ConfigError, match="no pair 'x'"):
        pair_config_path(tmp_path, "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no pair files \(\*\.toml\)"):
        load_fleet(tmp_path / "empty")


@pytest.mark.asyncio
async def test_summary_of_a_healthy_and_a_crashed_pair() -> None:
    pair = SimPair()
    snap = await pair.poll()
    row = summarize(snap, "p1")
    assert (row.verdict, row.active, row.vip, row.replication, row.root) == (
        Severity.OK, ("vm2",), "vm2", "Connected", None)
    pair.fault("crash vm2")
    pair.advance(20)
    row = summarize(await pair.poll(), "p1")
    assert row.verdict == Severity.CRITICAL
    assert row.active == ("vm12",)
    assert row.root.code == "connection-refused" and row.root.node == "vm2"
    assert "connection-refused vm2" in row.root_text


@pytest.mark.asyncio
async def test_summary_shows_a_resync_with_percent_and_eta() -> None:
    pair = SimPair()
    await pair.poll()
    pair.fault("sync")
    pair.advance(0.5)
    await pair.poll()
    pair.advance(0.5)
    row = summarize(await pair.poll())
    assert row.syncing and row.replication in ("SyncSource", "SyncTarget")
    assert (row.sync_source, row.sync_target) == ("vm2", "vm12")
    assert row.sync_text.startswith("vm2→vm12 ") and "ETA" in row.sync_text


def test_worst_verdict_and_exit_code() -> None:
    rows = [failed("a", "x"), summarize_ok("b")]
    assert worst([Severity.OK, Severity.WARNING]) == Severity.WARNING
    assert worst([Severity.UNKNOWN, Severity.CRITICAL, Severity.OK]) == Severity.CRITICAL  # as for one pair
    assert exit_code(rows) == 3
    assert exit_code([summarize_ok("b")]) == 0
    lines = table(rows)
    assert lines[0].split()[:2] == ["PAIR", "ACTIVE"]
    assert "error: x" in lines[1] and lines[1].startswith("? UNKNOWN")


def summarize_ok(name: str):
    from hatui.fleet.status import PairSummary

    return PairSummary(pair=name, verdict=Severity.OK, active=("vm2",), vip="vm2", replication="Connected")


def test_status_all_each_pair_fails_on_its_own(tmp_path) -> None:
    """A dead pair and a broken file are rows with their errors; the command still ends within one bound."""
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "a.toml").write_text(pair_file("dead-a", closed_port()))
    (fleet / "b.toml").write_text(pair_file("dead-b", closed_port()))
    (fleet / "c.toml").write_text(pair_file("typo").replace("[vip]", "[vip]\nadress = 1"))
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--config", str(fleet), "status", "--all", "--json"])
    took = time.monotonic() - started
    assert result.exit_code == 3, result.output  # no node answered anywhere: UNKNOWN is the worst
    rows = {r["pair"]: r for r in json.loads(result.output)}
    assert set(rows) == {"dead-a", "dead-b", "c"}
    assert "vip.adress: is not a known setting" in rows["c"]["error"]
    for name in ("dead-a", "dead-b"):
        assert rows[name]["verdict"] == "UNKNOWN" and rows[name]["error"] is None
        assert rows[name]["root"]["code"] == "connection-refused"
        assert rows[name]["status"]["schema"] == "hatui.status/v1"
    assert took < 2 * (1 + 1 + 3)  # the pairs ran concurrently, each within its own bound
    text = CliRunner().invoke(main, ["--config", str(fleet), "status", "--all"])
    assert text.exit_code == 3
    assert len(text.output.strip().splitlines()) == 4  # header + one line per pair


def test_pair_option_picks_the_pair_file(tmp_path) -> None:
    (tmp_path / "a.toml").write_text(pair_file("alpha"))
    (tmp_path / "b.toml").write_text(pair_file("beta").replace('name = "vm12"', 'name = "vm13"'))
    result = CliRunner().invoke(main, ["--config", str(tmp_path), "config", "check", "--pair", "beta"])
    assert result.exit_code == 0, result.output
    assert "cluster beta, nodes vm2 and vm13" in result.output
    result = CliRunner().invoke(main, ["--config", str(tmp_path), "failover", "--pair", "nope", "--dry-run"])
    assert result.exit_code == 3
    assert "no pair 'nope'" in result.output
    result = CliRunner().invoke(main, ["--config", str(tmp_path), "status", "--all", "--watch"])
    assert result.exit_code == 3 and "--watch and --from work on one pair" in result.output


def test_systemd_unit_runs_serve_with_flags_the_cli_accepts() -> None:
    import shlex

    unit = (REPO / "scripts" / "systemd" / "hatui-serve.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["Type"] == "notify" and "kill -HUP $MAINPID" in settings["ExecReload"]
    argv = shlex.split(settings["ExecStart"])
    assert argv[0].endswith("/hatui") and "serve" in argv and "127.0.0.1:9860" in argv
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output  # every flag of ExecStart exists
    assert "--listen HOST:PORT" in result.output
