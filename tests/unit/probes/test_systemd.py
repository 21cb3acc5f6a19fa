"""``systemctl show`` parser."""

from __future__ import annotations

from hatui.probes.systemd import parse_systemctl_show
from hatui.states import UnitActiveState, UnknownState

THREE_UNITS = """Id=keepalived.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=812
ActiveEnterTimestamp=Wed 2026-11-25 06:15:27 UTC

Id=nfs-server.service
LoadState=loaded
ActiveState=failed
SubState=failed
MainPID=0
ActiveEnterTimestamp=Wed 2026-11-25 05:10:00 UTC

Id=airflow-dag-processor.service
LoadState=not-found
ActiveState=inactive
SubState=dead
MainPID=0
ActiveEnterTimestamp=
"""


def test_three_units_one_not_found():
    report = parse_systemctl_show(THREE_UNITS)
    assert report.error is None
    ka, nfs, dag = report.units
    assert ka.unit == "keepalived.service" and ka.active == UnitActiveState.ACTIVE
    assert ka.sub_state == "running" and ka.main_pid == 812
    assert ka.active_since == "Wed 2026-11-25 06:15:27 UTC"
    assert nfs.active == UnitActiveState.FAILED and nfs.main_pid is None
    assert dag.unit == "airflow-dag-processor.service" and dag.load_state == "not-found"
    assert dag.active == UnitActiveState.INACTIVE and dag.active_since is None and dag.main_pid is None


def test_property_order_and_missing_blank_line_and_unknown_state():
    text = (
        "ActiveState=refreshing\nId=a.service\nMainPID=abc\n"
        "Id=b.service\nActiveState=active\nActiveEnterTimestamp=n/a\n"
    )
    a, b = parse_systemctl_show(text).units
    assert isinstance(a.active, UnknownState) and a.active == "refreshing" and a.main_pid is None
    assert b.unit == "b.service" and b.active == UnitActiveState.ACTIVE and b.active_since is None


def test_errors():
    assert parse_systemctl_show("").error
    report = parse_systemctl_show("System has not been booted with systemd as init system (PID 1). Can't operate.\n")
    assert report.units == () and report.error.startswith("System has not been booted")
