"""Raw probe sections of one node → a :class:`NodeSnapshot`.

Used by the poller (sections split from the batched SSH exec) and by
``hatui status --from DIR`` (sections read from files), so both paths parse
exactly the same way.
"""

from __future__ import annotations

import dataclasses
import re

from hatui.config import Config
from hatui.errors import FailureKind
from hatui.model import NodeSnapshot
from hatui.probes import catalog
from hatui.probes.drbd import parse_drbd
from hatui.probes.drbd_config import parse_fencing
from hatui.probes.journal import JournalEntry, parse_journal
from hatui.probes.keepalived import parse_keepalived_data, parse_keepalived_json
from hatui.probes.net import interfaces_holding, parse_ip_addr
from hatui.probes.nfs import parse_exportfs
from hatui.probes.processes import parse_pgrep
from hatui.probes.records import BlockDevice, DrbdReport, KeepalivedReport, Mount
from hatui.probes.script import Section
from hatui.probes.storage import parse_findmnt, parse_lsblk
from hatui.probes.systemd import parse_systemctl_show


def _keepalived(section: Section | None) -> KeepalivedReport | None:
    if section is None:
        return None
    text = section.text.lstrip()
    if text.startswith("["):
        return parse_keepalived_json(section.text)
    if "VRRP Instance" in text or "VRRP Topology" in text:
        return parse_keepalived_data(section.text)
    first = text.splitlines()[0] if text else "no output"
    return KeepalivedReport(source="unavailable", error=first)


def _mount_for(section: Section | None, mount_point: str, unread: dict[str, str]) -> Mount | None:
    if section is None:
        return None
    report = parse_findmnt(section.text)
    if report.error and section.text.strip():
        unread[section.name] = f"could not be read: {report.error}"
    for mount in report.mounts:
        if mount.target == mount_point:
            return mount
    return None


def _disk_for(section: Section | None, unread: dict[str, str]) -> BlockDevice | None:
    if section is None:
        return None
    report = parse_lsblk(section.text)
    if report.error:
        unread[section.name] = f"could not be read: {report.error}"
    return report.devices[0] if report.devices else None


def _named_by_minor(drbd: DrbdReport | None, config: Config) -> DrbdReport | None:
    """/proc/drbd (DRBD 8.4) lists minors, not resource names: give each minor the name of the
    configured resource whose device is /dev/drbdN (an unmatched minor keeps its number)."""
    if drbd is None or drbd.source != "proc":
        return drbd
    by_minor = {}
    for res in config.drbd:
        m = re.fullmatch(r"/dev/drbd(\d+)", str(res.device))
        if m is not None:
            by_minor[int(m.group(1))] = res.resource
    renamed = []
    for r in drbd.resources:
        minor = r.devices[0].minor if r.devices else None
        name = by_minor.get(minor) if minor is not None else None
        renamed.append(dataclasses.replace(r, name=name) if name else r)
    return dataclasses.replace(drbd, resources=tuple(renamed))


def _fencing(section: Section | None) -> dict[str, str]:
    if section is None or not section.ok:
        return {}
    return parse_fencing(section.text)


def expected_sections(config: Config) -> tuple[str, ...]:
    """The sections whose absence leaves a layer unknown (the slow and optional ones excluded)."""
    names = [catalog.DRBD, catalog.IP, catalog.KEEPALIVED, catalog.UNITS, catalog.EXPORTS]
    for res in config.drbd:
        names.append(catalog.mount_section(res.resource))
        if res.backing_disk:
            names.append(catalog.disk_section(res.resource))
    return tuple(names)


def _error_of(report: object) -> str | None:
    error = getattr(report, "error", None)
    if getattr(report, "source", None) == "unavailable":
        return None  # keepalived without a state dump: a known mode, not a read failure
    return error


def _clock(section: Section | None) -> float | None:
    if section is None or not section.ok:
        return None
    try:
        return float(section.text.strip())
    except ValueError:
        return None


def _journal(section: Section | None) -> tuple[JournalEntry, ...]:
    if section is None or not section.ok:
        return ()
    return parse_journal(section.text)


def build_node_snapshot(
    name: str,
    sections: dict[str, Section],
    config: Config,
    *,
    polled_at: float,
    latency: float | None,
) -> NodeSnapshot:
    """Parse every section of a reachable node into one snapshot."""
    drbd_section = sections.get(catalog.DRBD)
    ip_section = sections.get(catalog.IP)
    ip_report = parse_ip_addr(ip_section.text) if ip_section else None
    keepalived = _keepalived(sections.get(catalog.KEEPALIVED))
    vrrp = None
    if keepalived is not None:
        vrrp = next((i for i in keepalived.instances if i.name == config.keepalived.instance), None)
    units_section = sections.get(catalog.UNITS)
    units = {}
    if units_section is not None:
        reported = parse_systemctl_show(units_section.text).units
        asked = catalog.unit_names(config)
        if len(reported) == len(asked):
            # systemctl keeps command-line order but reports an alias's primary name
            # (nfs-kernel-server → nfs-server), so match by position, not by Id.
            units = dict(zip(asked, reported))
        else:
            units = {u.unit: u for u in reported}
    exports_section = sections.get(catalog.EXPORTS)
    stack_section = sections.get(catalog.CLUSTER_STACK)
    drbd = _named_by_minor(parse_drbd(drbd_section.text) if drbd_section else None, config)
    exports = parse_exportfs(exports_section.text) if exports_section else None
    # Why a section's layer is unknown: absent ("not reported") or present but unparsable.
    unread = {section: "not reported" for section in expected_sections(config) if section not in sections}
    for section, report in ((catalog.DRBD, drbd), (catalog.IP, ip_report), (catalog.KEEPALIVED, keepalived),
                            (catalog.EXPORTS, exports)):
        error = _error_of(report) if report is not None else None
        if error:
            unread[section] = f"could not be read: {error}"
    if units_section is not None and not units:
        unread[catalog.UNITS] = "could not be read: " + (units_section.text.strip().splitlines() or ["no output"])[0]
    mounts = {
        r.resource: _mount_for(sections.get(catalog.mount_section(r.resource)), r.mount_point, unread)
        for r in config.drbd
    }
    disks = {r.resource: _disk_for(sections.get(catalog.disk_section(r.resource)), unread) for r in config.drbd}
    return NodeSnapshot(
        name=name,
        reachable=True,
        polled_at=polled_at,
        latency=latency,
        last_seen=polled_at,
        sections=dict(sections),
        drbd=drbd,
        ip=ip_report,
        vip_interfaces=interfaces_holding(ip_report, config.vip.ip) if ip_report else (),
        keepalived=keepalived,
        vrrp=vrrp,
        units=units,
        exports=exports,
        mounts=mounts,
        disks=disks,
        unread=unread,
        fencing=_fencing(sections.get(catalog.DRBD_CONFIG)),
        cluster_stack=parse_pgrep(stack_section.text) if stack_section else None,
        clock=_clock(sections.get(catalog.CLOCK)),
        dag_health=sections.get(catalog.DAG_HEALTH),
        journal=_journal(sections.get(catalog.JOURNAL)),
    )


def unreachable_node(
    name: str,
    error: str,
    *,
    polled_at: float,
    previous: NodeSnapshot | None,
    failure: FailureKind | None = None,
    hint: str | None = None,
) -> NodeSnapshot:
    """A node that could not be asked; keeps its last answer for "last seen" and "was Primary"."""
    since = polled_at
    if previous is not None and not previous.reachable and previous.unreachable_since is not None:
        since = previous.unreachable_since
    last_seen = previous.last_seen if previous is not None else None
    if previous is None:
        last_known = None
    elif previous.reachable:
        last_known = dataclasses.replace(previous, last_known=None)
    else:
        last_known = previous.last_known
    return NodeSnapshot(
        name=name, reachable=False, polled_at=polled_at, error=error, unreachable_since=since, last_seen=last_seen,
        failure=failure, error_hint=hint, last_known=last_known,
    )


def carry_between_reads(node: NodeSnapshot, previous: NodeSnapshot | None) -> NodeSnapshot:
    """What a poll reads only now and then, kept from the previous answer between reads: the slow DAG
    health command (every N polls) and the DRBD configuration (:data:`catalog.DRBD_CONFIG_EVERY`)."""
    if previous is None or not previous.reachable:
        return node
    if node.dag_health is None:
        node = dataclasses.replace(node, dag_health=previous.dag_health)
    if catalog.DRBD_CONFIG not in node.sections and (conf := previous.sections.get(catalog.DRBD_CONFIG)):
        node = dataclasses.replace(node, fencing=previous.fencing,
                                   sections={**node.sections, catalog.DRBD_CONFIG: conf})
    return node
