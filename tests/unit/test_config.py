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
    assert ok.returncode == 0 and "OK" in ok.stdout
    ko = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", str(bad), "config", "check"],
                        capture_output=True, text=True, timeout=60)
    assert ko.returncode == 3
    assert "nodes.0.host" in ko.stderr and "Traceback" not in ko.stderr
    assert len(ko.stderr.strip().splitlines()) == 1
