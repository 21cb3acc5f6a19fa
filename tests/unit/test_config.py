from __future__ import annotations

import importlib.resources
import subprocess
import sys

import pytest

from hatui.config import Config, load_config, parse_config, resolve_config_path
from hatui.errors import ConfigError

EXAMPLE = importlib.resources.files("hatui").joinpath("config_example.toml").read_text()


def test_example_config_is_valid() -> None:
    cfg = parse_config(EXAMPLE)
    assert isinstance(cfg, Config)
    assert cfg.node_names == ("vm2", "vm12")
    assert cfg.vip.ip == "192.168.83.200"
    assert cfg.cluster.prefix_words == ("sudo", "-n")
    assert (cfg.timing.detect, cfg.timing.available) == (10, 35)
    assert cfg.preferred == "vm2"


@pytest.mark.parametrize(
    "old,new,key",
    [
        ('resource = "r0"', 'resource = "r0; rm -rf /"', "drbd.0.resource"),
        ('command_prefix = "sudo -n"', 'command_prefix = "sudo $(reboot)"', "cluster.command_prefix"),
        ('interface = "eth0"', 'interface = "eth0 && x"', "vip.interface"),
        ('address = "192.168.83.200/24"', 'address = "192.168.83.200"', "vip.address"),
        ('mount_point = "/srv/ha"', 'mount_point = "/srv/ha`id`"', "drbd.0.mount_point"),
        ('unit = "nfs-server.service"', 'unit = "nfs;reboot"', "services.nfs.unit"),
        ('detect = 10', 'detect = 50', "timing"),
        ('[timing]', '[timing]\ndetcet = 3', "timing.detcet"),
    ],
)
def test_bad_values_name_the_key(old: str, new: str, key: str) -> None:
    assert old in EXAMPLE
    with pytest.raises(ConfigError) as err:
        parse_config(EXAMPLE.replace(old, new, 1), "c.toml")
    assert key in str(err.value)
    assert "\n" not in str(err.value)


def test_two_nodes_required_and_distinct() -> None:
    with pytest.raises(ConfigError, match="different names"):
        parse_config(EXAMPLE.replace('name = "vm12"', 'name = "vm2"'))
    three = EXAMPLE + '\n[[nodes]]\nname = "vm3"\nhost = "vm3"\n'
    # appended table lands after [timing]; put it before by rebuilding
    with pytest.raises(ConfigError):
        parse_config(three)


def test_lookup_order(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HATUI_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path("/x/explicit.toml").name == "explicit.toml"
    assert resolve_config_path(None) == tmp_path / "env.toml"
    monkeypatch.delenv("HATUI_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert resolve_config_path(None).name == "config.toml"


def test_missing_file_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no config at .*hatui config example"):
        load_config(tmp_path / "nope.toml")


def test_cli_config_check_exit_codes(tmp_path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(EXAMPLE)
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.replace("port", "prot").replace('host = "vm2"', 'host = "vm 2"'))
    ok = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", str(good), "config", "check"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "OK" in ok.stdout and "theme hatui-dark, default keys" in ok.stdout
    ko = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", str(bad), "config", "check"],
                        capture_output=True, text=True, timeout=60)
    assert ko.returncode == 3
    assert "nodes.0.host" in ko.stderr and "Traceback" not in ko.stderr
    assert len(ko.stderr.strip().splitlines()) == 1


# ---- errors in hatui's words, never the library's ------------------------------------------------

LIBRARY_WORDS = ("Input should", "Value error", "pydantic", "valid dictionary", "instance of", "Tuple should",
                 "does not appear to be", "must match ^")


@pytest.mark.parametrize(
    "old,new,key,words",
    [
        ('exports = ["/srv/ha/export"]', 'exports = "/srv/ha/export"', "services.nfs.exports", "must be a list"),
        ('poll_interval = 2.0', 'poll_interval = "fast"', "cluster.poll_interval", "must be a number"),
        ('poll_interval = 2.0', 'poll_interval = 0', "cluster.poll_interval", "must be at least 0.2"),
        ('health_every = 5', 'health_every = 2.5', "services.dag_processor.health_every", "whole number"),
        ('name = "ha-pair"', 'name = 5', "cluster.name", "must be text in quotes"),
        ('address = "192.168.83.200/24"', 'address = "300.1.1.1/24"', "vip.address", "not an IP address"),
        ('host = "vm2"', 'host = "vm 2"', "nodes.0.host", "a host name or IP address"),
        ('command_prefix = "sudo -n"', 'command_prefix = "sudo \'-n"', "cluster.command_prefix", "unbalanced quote"),
        ('[cluster]', '[cluster]\npoll_interval = [1]', "cluster.poll_interval", "must be a number"),
    ],
)
def test_errors_use_hatuis_words(old: str, new: str, key: str, words: str) -> None:
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    if old == "[cluster]":
        text = text.replace("poll_interval = 2.0", "", 1)
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.toml")
    message = str(err.value)
    assert key in message and words in message, message
    assert not any(w in message for w in LIBRARY_WORDS), message


def test_three_nodes_and_a_scalar_table_read_plainly() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(EXAMPLE + '\n[[nodes]]\nname = "vm3"\nhost = "vm3"\n')
    assert "exactly two [[nodes]] tables are needed (found 3)" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config('cluster = 5\n')
    assert "cluster: must be a table" in str(err.value)
    assert not any(w in str(err.value) for w in LIBRARY_WORDS)


# ---- [keys] ----------------------------------------------------------------------------------------

def with_keys(table: str) -> str:
    return EXAMPLE.replace("[timing]", f"[keys]\n{table}\n\n[timing]", 1)


def test_keys_default_and_override() -> None:
    default = parse_config(EXAMPLE)
    assert default.key_for("failover") == "F" and default.key_for("help") == "question_mark"
    cfg = parse_config(with_keys('failover = "ctrl+f,f5"\nhelp = "H"\nfilter = "\\\\"'))
    assert cfg.key_for("failover") == "ctrl+f,f5"
    assert cfg.key_for("help") == "H" and cfg.key_for("filter") == "backslash"
    assert cfg.key_for("quit") == "q"


@pytest.mark.parametrize(
    "table,words",
    [
        ('failover = "r"', "failover = 'r' clashes with refresh = 'r'"),
        ('quit = "/"', "clashes with"),
        ('failover = "j"', "clashes with the fixed key for choosing a layer"),
        ('help = "tab"', "fixed key for moving focus"),
        ('failovr = "x"', "'failovr' is not a console command"),
        ('failover = "ctrl+ü"', "is not a key"),
        ('failover = "hyper-x"', "is not a key"),
        ('failover = "meh+x"', "unknown modifier 'meh'"),
        ('failover = 5', "keys.failover: must be text in quotes"),
    ],
)
def test_bad_keys_are_config_errors(table: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_keys(table), "c.toml")
    assert words in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_config_check_names_key_clashes_and_unknown_themes(tmp_path) -> None:
    clash = tmp_path / "clash.toml"
    clash.write_text(with_keys('failback = "F"'))
    nope = tmp_path / "nope.toml"
    nope.write_text(EXAMPLE.replace('theme = "hatui-dark"', 'theme = "nope"'))
    for path, words in ((clash, "failback = 'F' clashes with failover = 'F'"),
                        (nope, "theme 'nope' is not one of hatui's themes")):
        out = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", str(path), "config", "check"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 3, out
        assert words in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "available: hatui-dark, hatui-high-contrast" in out.stderr  # the theme error lists them
