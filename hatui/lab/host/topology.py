"""The lab's fixed layout: names and private addresses used only inside its namespaces.

::

    root namespace (hatui runs here)
      hatui-br0 10.83.0.1/24 ── hl-vm2 ─┐      ┌─ hl-vm12 ── ... ── hl-client
                                        │      │
    netns vm2: eth0 10.83.0.2/24 (+ VIP)   netns vm12: eth0 10.83.0.12/24 (+ VIP)   netns client: eth0 10.83.0.50/24
               eth1 10.83.1.2/24 ───── replication link ───── eth1 10.83.1.12/24

``eth0`` carries SSH (from hatui in the root namespace), VRRP (unicast between
the nodes, so that "block VRRP" can be a blackhole route and nothing else) and
client traffic to the VIP. ``eth1`` is a direct veth pair carrying only DRBD
replication, so cutting it cuts replication and nothing else, as a dedicated
replication link does in a real pair. 10.83.0.0/16 is private (RFC 1918) and
exists only on these interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

BRIDGE = "hatui-br0"
BRIDGE_ADDR = "10.83.0.1/24"
VIP = "10.83.0.200/24"
VIP_INTERFACE = "eth0"
VIP_LABEL = "vip"
INSTANCE = "VI_1"
VRID = 83
ADVERT_INT = 1
REPL_PORT = 7789
CLIENT_NS = "client"
CLIENT_ADDR = "10.83.0.50/24"


@dataclass(frozen=True)
class LabNode:
    """One node of the lab pair."""

    name: str
    index: int  # host part of its addresses
    priority: int

    @property
    def netns(self) -> str:
        return self.name

    @property
    def host_veth(self) -> str:
        return f"hl-{self.name}"

    @property
    def public_addr(self) -> str:
        return f"10.83.0.{self.index}/24"

    @property
    def public_ip(self) -> str:
        return self.public_addr.split("/")[0]

    @property
    def repl_addr(self) -> str:
        return f"10.83.1.{self.index}/24"

    @property
    def repl_ip(self) -> str:
        return self.repl_addr.split("/")[0]


# As in the seed: VM2 priority 110 (the preferred node), VM12 priority 100.
NODES = (LabNode("vm2", 2, 110), LabNode("vm12", 12, 100))


def node(name: str) -> LabNode:
    for n in NODES:
        if n.name == name:
            return n
    raise KeyError(name)


def peer(name: str) -> LabNode:
    return next(n for n in NODES if n.name != name)
