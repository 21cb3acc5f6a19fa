"""keepalived JSON and SIGUSR1 text dump parsers."""

from __future__ import annotations

import json

import pytest

from hatui.probes.keepalived import parse_keepalived_data, parse_keepalived_json
from hatui.states import UnknownState, VrrpState



def test_json_backup(fixtures):
    report = parse_keepalived_json((fixtures / "keepalived-json-backup.json").read_text())
    assert report.source == "json" and report.error is None
    (vi,) = report.instances
    assert vi.name == "VI_1" and vi.state == VrrpState.BACKUP and vi.interface == "ha2"
    assert (vi.base_priority, vi.effective_priority, vi.master_priority) == (100, 100, 110)
    assert vi.last_transition == pytest.approx(1795587327.753409)
    assert vi.vips == ("10.99.0.200/24",)
    assert (vi.become_master, vi.release_master, vi.nopreempt) == (1, 1, False)


def test_json_master(fixtures):
    (vi,) = parse_keepalived_json((fixtures / "keepalived-json-master.json").read_text()).instances
    assert vi.state == VrrpState.MASTER and vi.interface == "ha1"
    assert (vi.base_priority, vi.effective_priority) == (110, 110)
    assert vi.master_priority == 0  # a master does not record an advertising master
    assert (vi.become_master, vi.release_master) == (1, 0)


def test_json_unknown_state_code_and_odd_types():
    text = json.dumps([{"data": {"iname": "VI_9", "state": 7, "nopreempt": 1, "vips": ["fd00::1/64 dev x", 5, ""]}},
                       {"data": "nope"}, 3])
    (vi,) = parse_keepalived_json(text).instances
    assert isinstance(vi.state, UnknownState) and vi.state == "7"
    assert vi.nopreempt is True and vi.vips == ("fd00::1/64",) and vi.become_master is None


@pytest.mark.parametrize(
    "text",
    ["keepalived pid file /run/keepalived.pid not readable", "keepalived did not write /tmp/keepalived.json", ""],
)
def test_not_json_is_unavailable(text):
    report = parse_keepalived_json(text + "\n")
    assert report.source == "unavailable" and report.error and report.instances == ()
    if text:
        assert report.error == text


def test_data_text_backup(fixtures):
    report = parse_keepalived_data((fixtures / "keepalived-data-backup.txt").read_text())
    assert report.source == "data-text"
    (vi,) = report.instances
    assert vi.name == "VI_1" and vi.state == VrrpState.BACKUP
    assert vi.interface == "ha2"  # not the "VRRP Sockpool" section's Interface line
    assert (vi.base_priority, vi.effective_priority, vi.master_priority) == (100, 100, 110)
    assert vi.last_transition == pytest.approx(1795587327.753409)
    assert vi.vips == ("10.99.0.200/24",)
    assert vi.nopreempt is False and vi.become_master is None


def test_data_text_excerpt(fixtures):
    (vi,) = parse_keepalived_data((fixtures / "keepalived-data-excerpt.txt").read_text()).instances
    assert vi.state == VrrpState.BACKUP and vi.master_priority == 240 and vi.interface is None


def test_data_text_two_instances_and_unavailable():
    text = (
        "------< VRRP Topology >------\n"
        " VRRP Instance = VI_1\n   State = MASTER\n   Interface = eth0\n   Priority = 150\n"
        "   Virtual IP (2):\n     192.168.10.100/24 dev eth0 scope global\n     192.168.10.101 dev eth0\n"
        "   Preempt = disabled\n"
        " VRRP Instance = VI_2\n   State = FROBBED\n"
    )
    vi1, vi2 = parse_keepalived_data(text).instances
    assert vi1.state == VrrpState.MASTER and vi1.base_priority == 150
    assert vi1.vips == ("192.168.10.100/24", "192.168.10.101") and vi1.nopreempt is True
    assert isinstance(vi2.state, UnknownState) and vi2.state == "FROBBED"
    report = parse_keepalived_data("cat: /tmp/keepalived.data: No such file or directory")
    assert report.source == "unavailable" and report.error.startswith("cat:")
