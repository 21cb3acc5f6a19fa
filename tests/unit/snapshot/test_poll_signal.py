"""The poll learns keepalived's JSON signal once per connection instead of running keepalived every poll."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hatui.probes.script import (
    KEEPALIVED_SIGNUM, Probe, Section, build_script, keepalived_probes, parse_signum, split_sections,
)

SH = shutil.which("sh")


@pytest.fixture
def stub_node(tmp_path: Path):
    """A PATH where `keepalived --signum=JSON` counts its runs, and a "keepalived" process that
    writes its dump on signal 36."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "keepalived").write_text(f"#!/bin/sh\necho run >> {tmp_path}/keepalived.runs\necho 36\n")
    (bin_dir / "keepalived").chmod(0o755)
    daemon = subprocess.Popen([sys.executable, "-c", (
        "import signal, sys, time\n"
        f"def dump(*_): open({str(tmp_path / 'ka.json')!r}, 'w').write('[{{}}]')\n"
        "signal.signal(36, dump)\nprint('ready', flush=True)\nwhile True: time.sleep(1)\n")],
        stdout=subprocess.PIPE, text=True)
    assert daemon.stdout is not None and daemon.stdout.readline().strip() == "ready"
    (tmp_path / "ka.pid").write_text(f"{daemon.pid}\n")
    yield {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    daemon.kill()
    daemon.wait()


def _poll(tmp_path: Path, env: dict[str, str], signal: int | None) -> dict[str, Section]:
    probes = keepalived_probes([Probe("keepalived", ("_ka_json",))], "keepalived", signal)
    script = build_script(probes, nonce="ab", keepalived_pid_file=str(tmp_path / "ka.pid"),
                          keepalived_json_file=str(tmp_path / "ka.json"))
    out = subprocess.run([SH, "-s"], input=script, capture_output=True, text=True, env=env, timeout=30)
    return split_sections(out.stdout, "ab")


@pytest.mark.skipif(SH is None, reason="no POSIX sh")
def test_a_known_signal_skips_the_keepalived_binary_and_gives_the_same_dump(tmp_path, stub_node):
    env = stub_node
    runs = tmp_path / "keepalived.runs"
    first = _poll(tmp_path, env, None)
    assert parse_signum(first[KEEPALIVED_SIGNUM]) == 36
    assert first["keepalived"].ok and first["keepalived"].text == "[{}]"
    before = runs.read_text().count("run")
    later = _poll(tmp_path, env, 36)
    assert KEEPALIVED_SIGNUM not in later
    assert runs.read_text().count("run") == before, "keepalived is not run once the signal is known"
    assert (later["keepalived"].rc, later["keepalived"].text) == (first["keepalived"].rc, first["keepalived"].text)


def test_keepalived_probes_learn_only_while_unknown():
    probes = [Probe("ip", ("ip -j addr",)), Probe("keepalived", ("_ka_json",))]
    assert [p.name for p in keepalived_probes(probes, "keepalived", None)] == ["ip", KEEPALIVED_SIGNUM, "keepalived"]
    known = keepalived_probes(probes, "keepalived", 36)
    assert [p.alternatives for p in known] == [("ip -j addr",), ("_ka_json 36",)]


@pytest.mark.parametrize("text, rc, expected", [
    ("36\n", 0, 36), ("", 0, None), ("36", 1, None), ("65", 0, None), ("0", 0, None), ("36; rm -rf /", 0, None),
])
def test_parse_signum_takes_only_a_signal_number(text, rc, expected):
    assert parse_signum(Section(KEEPALIVED_SIGNUM, rc, text)) == expected
