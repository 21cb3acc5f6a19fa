"""Parser for ``ip -j addr`` (iproute2 JSON) and the "who holds the VIP" helper.

``ip -j addr`` is the ground truth for which node holds the VIP (keepalived's
own view can lag or lie when VRRP traffic is blocked). Pure and never raises.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hatui.probes.common import first_line, never_raises, opt_str
from hatui.probes.records import Interface, IpAddress, IpReport


def _prefixlen(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 5:
        return int(value)
    return None


@never_raises("ip", lambda why: IpReport(error=why))
def parse_ip_addr(text: str) -> IpReport:
    """Parse ``ip -j addr [show]`` output into interfaces and their addresses.

    Entries without ``ifname`` are skipped: some iproute2 versions emit empty
    ``{}`` objects for links filtered out of the listing.
    """
    body = (text or "").strip()
    if not body:
        return IpReport(error="no output from ip -j addr")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return IpReport(error=f"ip -j addr output is not JSON: {first_line(body)}")
    if not isinstance(data, list):
        return IpReport(error="ip -j addr JSON is not a list of interfaces")
    interfaces = []
    for link in data:
        if not isinstance(link, dict) or not isinstance(link.get("ifname"), str):
            continue
        addresses = []
        infos = link.get("addr_info")
        for info in infos if isinstance(infos, list) else ():
            if not isinstance(info, dict) or not isinstance(info.get("local"), str):
                continue
            addresses.append(
                IpAddress(
                    family=opt_str(info.get("family")) or "",
                    address=info["local"],
                    prefixlen=_prefixlen(info.get("prefixlen")),
                    label=opt_str(info.get("label")),
                    secondary=info.get("secondary") is True,
                )
            )
        interfaces.append(
            Interface(
                name=link["ifname"],
                operstate=opt_str(link.get("operstate")),
                addresses=tuple(addresses),
            )
        )
    return IpReport(interfaces=tuple(interfaces))


def _normalise(address: str) -> Any:
    """An ip_address for comparison, or the lowercased text when not an IP."""
    text = address.strip().split("/", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return text.lower()


def interfaces_holding(report: IpReport, address: str) -> tuple[str, ...]:
    """Names of the interfaces that hold ``address``.

    ``address`` is normally given without prefix ("192.168.10.100"); a
    "/prefix" suffix is ignored too. IPv6 spellings compare equal
    ("fd00::0:1" == "fd00::1") because both sides go through :mod:`ipaddress`.
    """
    try:
        wanted = _normalise(address)
        names: list[str] = []
        for interface in report.interfaces:
            if any(_normalise(a.address) == wanted for a in interface.addresses):
                if interface.name not in names:
                    names.append(interface.name)
        return tuple(names)
    except Exception:
        return ()
