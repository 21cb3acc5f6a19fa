"""`hatui lab …` refuses clearly where it cannot work: one line, non-zero exit, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hatui.cli import main
from hatui.lab.host import faults, lab as lab_mod
from hatui.lab.host.netns import LabError


def test_lab_needs_root(monkeypatch, tmp_path):
    monkeypatch.setattr(lab_mod.os, "geteuid", lambda: 1000)
    res = CliRunner().invoke(main, ["lab", "--dir", str(tmp_path), "up"])
    assert res.exit_code == 3
    assert "the lab needs root" in res.output and "Traceback" not in res.output


def test_lab_needs_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(lab_mod.platform, "system", lambda: "Darwin")
    res = CliRunner().invoke(main, ["lab", "--dir", str(tmp_path), "down"])
    assert res.exit_code == 3 and "needs Linux network namespaces" in res.output


def test_status_of_a_lab_that_is_not_up_says_so(tmp_path):
    res = CliRunner().invoke(main, ["lab", "--dir", str(tmp_path), "status"])
    assert res.exit_code == 1 and "lab is down" in res.output


@pytest.mark.parametrize("args, message", [
    (("meltdown",), "unknown fault 'meltdown'"),
    (("crash",), "fault crash needs a node: vm2 or vm12"),
    (("crash", "vm3"), "fault crash needs a node"),
    (("stop-service", "vm2"), "needs a unit"),
    (("cut-link",), "the lab is not up"),
])
def test_fault_arguments_are_checked_before_anything_runs(tmp_path, args, message):
    with pytest.raises(LabError, match=message):
        faults.inject(lab_mod.Lab(tmp_path), *args)
    res = CliRunner().invoke(main, ["lab", "--dir", str(tmp_path), "fault", *args])
    assert res.exit_code == 3 and message.split("'")[0] in res.output


def test_a_missing_tool_is_named(monkeypatch):
    monkeypatch.setattr(lab_mod.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lab_mod.shutil, "which", lambda tool: None if tool == "/usr/sbin/keepalived" else "/x")
    monkeypatch.setattr(lab_mod.os, "access", lambda path, mode: False)
    with pytest.raises(LabError, match="missing: /usr/sbin/keepalived"):
        lab_mod.check_host()


def test_an_os_error_anywhere_in_the_cli_is_one_line():
    import click

    from hatui.cli.errors import one_line_errors

    @click.command()
    @one_line_errors
    def cmd():
        raise PermissionError(13, "Permission denied", "/var/lib/hatui-lab/lab.json")

    res = CliRunner().invoke(cmd, [])
    assert res.exit_code == 3
    assert res.output.strip() == "hatui: Permission denied: /var/lib/hatui-lab/lab.json"
