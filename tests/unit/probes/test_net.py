"""``ip -j addr`` parser and the VIP holder helper."""

from __future__ import annotations

import json

from hatui.probes.net import interfaces_holding, parse_ip_addr
from hatui.probes.records import IpReport



def test_fixture_vip_on_eth0(fixtures):
    report = parse_ip_addr((fixtures / "ip-j-addr-vip.json").read_text())
    assert report.error is None
    (eth0,) = report.interfaces
    assert eth0.name == "eth0" and eth0.operstate == "UP"
    base, vip, link_local = eth0.addresses
    assert (base.family, base.address, base.prefixlen, base.secondary) == ("inet", "192.168.10.11", 24, False)
    assert (vip.address, vip.label, vip.secondary) == ("192.168.10.100", "eth0:vip", True)
    assert link_local.family == "inet6" and link_local.label is None
    assert interfaces_holding(report, "192.168.10.100") == ("eth0",)
    assert interfaces_holding(report, "192.168.10.100/24") == ("eth0",)
    assert interfaces_holding(report, "192.168.10.101") == ()


def test_ipv6_forms_compare_equal():
    data = [
        {"ifname": "lo", "operstate": "UNKNOWN",
         "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
        {},  # some iproute2 versions print empty objects for filtered links
        {"ifname": "ha1", "addr_info": [{"family": "inet6", "local": "fd00:0:0::10", "prefixlen": 64}]},
        {"ifname": "ha2", "addr_info": [{"family": "inet6", "local": "fd00::10", "prefixlen": 64}]},
    ]
    report = parse_ip_addr(json.dumps(data))
    assert [i.name for i in report.interfaces] == ["lo", "ha1", "ha2"]
    assert interfaces_holding(report, "FD00::0:10") == ("ha1", "ha2")
    assert interfaces_holding(report, "not-an-ip") == ()


def test_errors():
    assert parse_ip_addr("").error
    assert parse_ip_addr("Cannot find device \"eth9\"").error.startswith("ip -j addr output is not JSON")
    assert parse_ip_addr('{"ifname": "eth0"}').error
    assert interfaces_holding(IpReport(error="x"), "10.0.0.1") == ()
