"""A fake pair for action tests: transports that change a small state, a poller that
turns it into snapshots with tests.builders. No SSH, no demo, no sleeping."""

from __future__ import annotations

import dataclasses
import shlex
import time
from dataclasses import dataclass, field

from hatui.errors import TransportError
from hatui.model import ClusterSnapshot
from hatui.probes.records import (
    DrbdConnection,
    DrbdDevice,
    DrbdPeerDevice,
    DrbdReport,
    DrbdResource,
    ExportsReport,
    Mount,
    NfsExport,
)
from hatui.states import (
    ConnectionState,
    DiskState,
    ReplicationState,
    Role,
    UnitActiveState,
    VrrpState,
)
from hatui.transport import CommandResult
from tests import builders as b

NFS, DAG, KA = "nfs-server.service", "airflow-dag-processor.service", "keepalived.service"


@dataclass
class FakeNode:
    name: str
    role: str = "Secondary"
    disk: str = "UpToDate"
    conn: str = "Connected"
    mounted: bool = False
    vip: bool = False
    units: dict[str, bool] = field(default_factory=lambda: {NFS: False, DAG: False, KA: True})
    reachable: bool = True
    files: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    last_transition: float | None = None
    nopreempt: bool | None = True
    priority: int = 100


class FakeCluster:
    """vm2 active, vm12 standby, as in builders.healthy()."""

    def __init__(self) -> None:
        self.config = b.config()
        self.nodes = {"vm2": FakeNode("vm2", role="Primary", mounted=True, vip=True,
                                      units={NFS: True, DAG: True, KA: True}, priority=110),
                      "vm12": FakeNode("vm12")}
        self.log: list[tuple[str, str]] = []
        self.fail: dict[str, object] = {}  # substring of "node: command" -> CommandResult or exception

    def peer(self, name: str) -> FakeNode:
        return next(n for k, n in self.nodes.items() if k != name)

    # ---- commands ---------------------------------------------------------------------

    def execute(self, node: str, command: str) -> CommandResult:
        key = f"{node}: {command}"
        for pattern, outcome in list(self.fail.items()):
            if pattern in key:
                del self.fail[pattern]
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome  # type: ignore[return-value]
        n = self.nodes[node]
        if not n.reachable:
            raise TransportError(node, "cannot connect to 127.0.0.1: Connection refused")
        self.log.append((node, command))
        rc, out, err = self._lock(n, command) if "hatui.lock" in command else self._simple(n, command)
        return CommandResult(command, rc, out, err, 0.001)

    def _lock(self, n: FakeNode, command: str) -> tuple[int, str, str]:
        d, f = "/run/hatui.lock.d", "/run/hatui.lock.d/owner"
        if command.startswith("cat "):
            if f in n.files:
                return 0, n.files[f], ""
            return (0, "", "") if d in n.dirs else (1, "", "no such file")
        words = shlex.split(command.replace("sudo -n ", ""))
        if words[0] == "mkdir":
            if d in n.dirs:
                return 1, "", f"mkdir: cannot create directory '{d}': File exists"
            n.dirs.add(d)
            return 0, "", ""
        if words[0] == "printf":
            n.files[f] = words[2] + "\n"
            return 0, "", ""
        if words[0] == "rm":
            n.files.pop(f, None)
            n.dirs.discard(d)
            return 0, "", ""
        return 127, "", "unknown"

    def _simple(self, n: FakeNode, command: str) -> tuple[int, str, str]:
        w = shlex.split(command)
        if w[:2] == ["sudo", "-n"]:
            w = w[2:]
        peer = self.peer(n.name)
        if w[0] == "systemctl":
            verb, unit = w[1], w[2]
            if unit == KA and verb == "stop" and n.vip:
                n.vip, peer.vip = False, True
                peer.last_transition = time.time()
            n.units[unit] = verb == "start"
            return 0, "", ""
        if w[0] == "umount":
            if n.units[NFS] or n.units[DAG]:
                return 32, "", "umount: /srv/ha: target is busy."
            n.mounted = False
            return 0, "", ""
        if w[0] == "mount":
            if n.role != "Primary":
                return 32, "", "mount: Wrong medium type"
            n.mounted = True
            return 0, "", ""
        if w[0] == "drbdadm":
            verb = w[1]
            if verb == "secondary":
                if n.mounted:
                    return 11, "", "r0: State change failed: (-12) Device is held open by someone"
                n.role = "Secondary"
            elif verb == "primary":
                if peer.role == "Primary" and n.conn == "Connected":
                    return 11, "", "r0: State change failed: (-1) Multiple primaries not allowed by config"
                if n.disk != "UpToDate":
                    return 17, "", "r0: State change failed: (-2) Need access to UpToDate data"
                n.role = "Primary"
            elif verb == "connect":
                n.conn = peer.conn = "Connected"
            elif verb == "disconnect":
                n.conn = "StandAlone"
            return 0, "", ""
        if w[0] == "timeout" and "nc" in w:
            holder = [x for x in self.nodes.values() if x.vip]
            return (0, "", "") if len(holder) == 1 and holder[0].units[NFS] else (1, "", "")
        return 127, "", f"sh: 1: {w[0]}: not found"

    # ---- snapshots --------------------------------------------------------------------

    def snapshot(self) -> ClusterSnapshot:
        a, c = self.nodes["vm2"], self.nodes["vm12"]
        return b.cluster(self._node(a, c), self._node(c, a))

    def _node(self, n: FakeNode, peer: FakeNode):
        base = b.node(n.name, active=n.role == "Primary", peer=peer.name)
        if not n.reachable:
            return dataclasses.replace(base, reachable=False, error="Connection refused")
        conn = ConnectionState.parse(n.conn)
        connected = n.conn == "Connected" and peer.conn == "Connected"
        pdev = DrbdPeerDevice(0, ReplicationState.ESTABLISHED if connected else ReplicationState.OFF,
                              DiskState.parse(peer.disk) if connected else DiskState.DUNKNOWN, 100.0, 0)
        res = DrbdResource("r0", Role.parse(n.role), (DrbdDevice(0, 0, DiskState.parse(n.disk), 2097152),),
                           (DrbdConnection(peer.name, conn if not connected else ConnectionState.CONNECTED,
                                           Role.parse(peer.role) if connected else Role.UNKNOWN, (pdev,)),))
        units = {u: dataclasses.replace(base.units[u], active=UnitActiveState.ACTIVE if up else UnitActiveState.INACTIVE)
                 for u, up in n.units.items()}
        vrrp = dataclasses.replace(base.vrrp, state=VrrpState.MASTER if n.vip else VrrpState.BACKUP,
                                   last_transition=n.last_transition, nopreempt=n.nopreempt,
                                   base_priority=n.priority, effective_priority=n.priority)
        exports = ExportsReport((NfsExport("/srv/ha/export", "*", ("rw",)),) if n.units[NFS] and n.mounted else ())
        return dataclasses.replace(
            base, drbd=DrbdReport("json", (res,)), units=units, vrrp=vrrp, exports=exports,
            vip_interfaces=("eth0",) if n.vip else (),
            mounts={"r0": Mount("/srv/ha", "/dev/drbd0", "ext4") if n.mounted else None})


class FakeTransport:
    def __init__(self, cluster: FakeCluster, name: str) -> None:
        self.cluster, self.name = cluster, name

    async def run(self, command: str, *, timeout: float | None = None, input: str | None = None) -> CommandResult:
        return self.cluster.execute(self.name, command)

    async def close(self) -> None:
        pass


class FakePoller:
    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.polls = 0

    async def poll(self) -> ClusterSnapshot:
        self.polls += 1
        return self.cluster.snapshot()


def fake_pair():
    """(cluster, transports, poller) wired together."""
    cluster = FakeCluster()
    transports = {n: FakeTransport(cluster, n) for n in cluster.nodes}
    return cluster, transports, FakePoller(cluster)
