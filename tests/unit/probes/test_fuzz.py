"""Fuzz every parser: whatever a node prints, a parser returns its record and never raises."""

from __future__ import annotations

from tests import TEST_FIXTURES

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatui.probes.drbd import (
    drbd_report_from_events2,
    parse_drbd,
    parse_drbd_json,
    parse_drbd_status_text,
    parse_events2_line,
    parse_proc_drbd,
)
from hatui.probes.keepalived import parse_keepalived_data, parse_keepalived_json
from hatui.probes.net import interfaces_holding, parse_ip_addr
from hatui.probes.nfs import parse_exportfs
from hatui.probes.processes import parse_pgrep
from hatui.probes.records import (
    BlockReport,
    DrbdReport,
    Events2Event,
    ExportsReport,
    IpReport,
    KeepalivedReport,
    MountsReport,
    ProcessReport,
    UnitsReport,
)
from hatui.probes.storage import parse_findmnt, parse_lsblk
from hatui.probes.systemd import parse_systemctl_show

FIXTURES = TEST_FIXTURES

PARSERS = [
    (parse_drbd, DrbdReport),
    (parse_drbd_json, DrbdReport),
    (parse_drbd_status_text, DrbdReport),
    (parse_proc_drbd, DrbdReport),
    (parse_ip_addr, IpReport),
    (parse_keepalived_json, KeepalivedReport),
    (parse_keepalived_data, KeepalivedReport),
    (parse_systemctl_show, UnitsReport),
    (parse_findmnt, MountsReport),
    (parse_lsblk, BlockReport),
    (parse_exportfs, ExportsReport),
    (parse_pgrep, ProcessReport),
]
IDS = [fn.__name__ for fn, _ in PARSERS]

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Hand-written samples of the sources without a shared fixture, so mutation
# also reaches the deeper branches of those parsers.
SAMPLES = {
    "systemctl": "Id=a.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=5\n"
    "ActiveEnterTimestamp=Wed 2026-11-25 06:15:27 UTC\n\nId=b.service\nLoadState=not-found\n",
    "findmnt": '{"filesystems": [{"target": "/", "source": "/dev/vda1", "fstype": "ext4", "options": "rw",'
    ' "children": [{"target": "/srv/ha", "source": "/dev/drbd0", "fstype": "ext4", "options": "rw"}]}]}',
    "lsblk": '{"blockdevices": [{"name": "vdb", "path": "/dev/vdb", "type": "disk", "size": 1073741824,'
    ' "ro": false, "state": "running", "mountpoint": null, "children": [{"name": "vdb1", "size": "10",'
    ' "ro": "0", "mountpoints": [null, "/x"]}]}]}',
    "exportfs": "/srv/ha/export/data\n\t\t<world>(sync,wdelay,fsid=1,sec=sys,rw)\n/srv/nfs      \t10.0.0.0/8(ro)\n",
    "pgrep": "1234 pacemakerd\n987 corosync\n",
    "proc-sync": "version: 8.4.11 (api:1/proto:86-101)\n 0: cs:SyncTarget ro:Secondary/Primary "
    "ds:Inconsistent/UpToDate C r-----\n    ns:0 nr:0 oos:6356992\n\t[==>...] sync'ed: 39.4% (6208/10236)M\n"
    "\tfinish: 0:02:10 speed: 48,128 (45,312) K/sec\n",
    "status-wrapped": "r0 role:Primary\n  volume:0 disk:UpToDate\n  nodeb role:Secondary\n"
    "    volume:0 replication:SyncSource peer-disk:Inconsistent done:45.23\n        received:0 sent:10\n",
}


def check(result, record) -> None:
    """Right record type, and no exception swallowed by the parser's safety net."""
    assert isinstance(result, record)
    assert "parser failed" not in (getattr(result, "error", None) or "")


def _texts() -> dict[str, str]:
    texts = dict(SAMPLES)
    if FIXTURES.is_dir():
        texts.update({p.name: p.read_text(errors="replace") for p in sorted(FIXTURES.iterdir()) if p.is_file()})
    return texts


TEXTS = _texts()


@st.composite
def mutated(draw) -> str:
    """A real output with random line drops, truncation and character replacement."""
    text = TEXTS[draw(st.sampled_from(sorted(TEXTS)))]
    lines = text.splitlines(keepends=True)
    if lines and draw(st.booleans()):
        keep = draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
        lines = [line for line, k in zip(lines, keep) if k]
    text = "".join(lines)
    if text and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    for _ in range(draw(st.integers(0, 6))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        char = draw(st.one_of(st.sampled_from(list(' \t\n:/=()[]{}",09x.%-')), st.characters()))
        text = text[:i] + char + text[i + 1:]
    return text


# Keys the real documents use, so random JSON also walks the parsers' inner loops.
KEYS = [
    "name", "role", "devices", "connections", "peer_devices", "volume", "minor", "disk-state", "size",
    "connection-state", "peer-role", "replication-state", "peer-disk-state", "percent-in-sync",
    "out-of-sync", "percent-resync-done", "estimated-seconds-to-finish", "db1/dt1 [MiB/s]", "rs-db1-sectors",
    "rs-dt1-ms", "has-sync-details", "suspended", "ifname", "operstate", "addr_info", "family", "local",
    "prefixlen", "label", "secondary", "data", "stats", "iname", "state", "ifp_ifname", "base_priority",
    "effective_priority", "master_priority", "last_transition", "vips", "become_master", "release_master",
    "nopreempt", "filesystems", "target", "source", "fstype", "options", "children", "blockdevices", "path",
    "type", "ro", "mountpoint", "mountpoints",
]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6),
    max_leaves=40,
)


@pytest.mark.parametrize(("parse", "record"), PARSERS, ids=IDS)
@FUZZ
@given(text=st.text())
def test_arbitrary_text(parse, record, text):
    check(parse(text), record)


@pytest.mark.parametrize(("parse", "record"), PARSERS, ids=IDS)
@FUZZ
@given(text=mutated())
def test_mutated_real_output(parse, record, text):
    check(parse(text), record)


@pytest.mark.parametrize(("parse", "record"), PARSERS, ids=IDS)
@FUZZ
@given(value=JSON_VALUES)
def test_random_json(parse, record, value):
    text = json.dumps(value)  # NaN/Infinity included: Python's json reads them back
    check(parse(text), record)
    check(parse(json.dumps([value])), record)


@FUZZ
@given(lines=st.lists(st.text(max_size=60) | mutated(), max_size=8))
def test_events2_lines(lines):
    for line in lines:
        event = parse_events2_line(line)
        assert event is None or isinstance(event, Events2Event)
    check(drbd_report_from_events2(lines), DrbdReport)
    check(drbd_report_from_events2(iter(lines)), DrbdReport)


@FUZZ
@given(value=JSON_VALUES, address=st.text(max_size=40) | st.ip_addresses().map(str))
def test_interfaces_holding(value, address):
    report = parse_ip_addr(json.dumps([value]))
    assert isinstance(interfaces_holding(report, address), tuple)


def test_non_string_input_does_not_raise():
    for parse, record in PARSERS:
        check(parse(None), record)  # type: ignore[arg-type]
