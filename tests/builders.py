"""Build cluster snapshots from records for rule and render tests (no SSH, no parsing)."""

from __future__ import annotations

import dataclasses
import importlib.resources
import time

from hatui.config import Config, parse_config
from hatui.health import evaluate
from hatui.model import ClusterSnapshot, NodeSnapshot
from hatui.probes import catalog
from hatui.probes.records import (
    BlockDevice, DrbdConnection, DrbdDevice, DrbdPeerDevice, DrbdReport, DrbdResource, ExportsReport,
    IpReport, KeepalivedReport, Mount, NfsExport, ProcessReport, UnitStatus, VrrpInstance,
)
from hatui.probes.script import Section
from hatui.states import ConnectionState, DiskState, ReplicationState, Role, UnitActiveState, VrrpState

EXAMPLE = importlib.resources.files("hatui").joinpath("config_example.toml").read_text()


def config() -> Config:
    return parse_config(EXAMPLE)


def _sections() -> dict[str, Section]:
    names = [catalog.DRBD, catalog.IP, catalog.KEEPALIVED, catalog.UNITS, catalog.EXPORTS,
             catalog.mount_section("r0"), catalog.disk_section("r0")]
    return {n: Section(n, 0, "") for n in names}


def node(name: str, *, active: bool, peer: str, now: float | None = None) -> NodeSnapshot:
    now = time.time() if now is None else now
    role = Role.PRIMARY if active else Role.SECONDARY
    peer_role = Role.SECONDARY if active else Role.PRIMARY
    svc = UnitActiveState.ACTIVE if active else UnitActiveState.INACTIVE
    sub = "running" if active else "dead"
    return NodeSnapshot(
        name=name, reachable=True, polled_at=now, latency=0.02, last_seen=now, sections=_sections(),
        drbd=DrbdReport("json", (DrbdResource("r0", role, (DrbdDevice(0, 0, DiskState.UPTODATE, 2097152),), (
            DrbdConnection(peer, ConnectionState.CONNECTED, peer_role, (
                DrbdPeerDevice(0, ReplicationState.ESTABLISHED, DiskState.UPTODATE, 100.0, 0),)),)),)),
        ip=IpReport(()), vip_interfaces=("eth0",) if active else (),
        keepalived=KeepalivedReport("json", ()),
        vrrp=VrrpInstance("VI_1", VrrpState.MASTER if active else VrrpState.BACKUP,
                          effective_priority=110 if name == "vm2" else 100),
        units={
            "keepalived.service": UnitStatus("keepalived.service", "loaded", UnitActiveState.ACTIVE, "running", 10),
            "nfs-server.service": UnitStatus("nfs-server.service", "loaded", svc, sub, None),
            "airflow-dag-processor.service": UnitStatus("airflow-dag-processor.service", "loaded", svc, sub, 42 if active else None),
        },
        exports=ExportsReport((NfsExport("/srv/ha/export", "*", ("rw", "fsid=1")),) if active else ()),
        mounts={"r0": Mount("/srv/ha", "/dev/drbd0", "ext4") if active else None},
        disks={"r0": BlockDevice("vdb", "/dev/vdb", "disk", 2 * 2**30, False)},
        cluster_stack=ProcessReport(()), clock=now,
    )


def healthy() -> ClusterSnapshot:
    return cluster(node("vm2", active=True, peer="vm12"), node("vm12", active=False, peer="vm2"))


def cluster(a: NodeSnapshot, b: NodeSnapshot) -> ClusterSnapshot:
    # Taken when the newer of the two answers came in (scenarios pin node times to a fixed clock).
    snap = ClusterSnapshot(config=config(), nodes=(a, b), taken_at=max(a.polled_at, b.polled_at))
    findings, verdict = evaluate(snap)
    return dataclasses.replace(snap, findings=findings, verdict=verdict)


def set_drbd(n: NodeSnapshot, *, role=None, disk=None, connection=None, replication=None, peer_disk=None,
             peer_role=None, sync_percent=None) -> NodeSnapshot:
    res = n.drbd.resources[0]
    dev = res.devices[0]
    conn = res.connections[0]
    pdev = conn.peer_devices[0]
    pdev = dataclasses.replace(pdev, replication=replication or pdev.replication,
                               peer_disk=peer_disk or pdev.peer_disk,
                               sync_percent=sync_percent if sync_percent is not None else pdev.sync_percent)
    conn = dataclasses.replace(conn, connection=connection or conn.connection,
                               peer_role=peer_role or conn.peer_role, peer_devices=(pdev,))
    res = dataclasses.replace(res, role=role or res.role, devices=(dataclasses.replace(dev, disk=disk or dev.disk),),
                              connections=(conn,))
    return dataclasses.replace(n, drbd=DrbdReport("json", (res,)))


def set_unit(n: NodeSnapshot, unit: str, active: UnitActiveState) -> NodeSnapshot:
    units = dict(n.units)
    units[unit] = dataclasses.replace(units[unit], active=active)
    return dataclasses.replace(n, units=units)
