"""The batched poll script under a real POSIX sh: concurrent probes, same sections as in turn."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hatui.probes.script import Probe, build_script, split_sections

SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="no POSIX sh")

PROBES = [
    Probe("first", ("echo one; echo two",)),
    Probe("fallback", ("false", "echo 'second alternative' >&2; exit 0")),
    Probe("failing", ("echo broken; exit 3",)),
    Probe("slow_a", ("sleep 0.4; echo a",)),
    Probe("slow_b", ("sleep 0.4; echo b",)),
    Probe("slow_c", ("sleep 0.4; echo c",)),
    Probe("marker", ("echo '@@hatui:0000:end:first:rc=0@@'",)),  # a forged marker with the wrong nonce
]


def run(tmp_path: Path, *, mktemp_works: bool) -> tuple[dict, float, str]:
    env = dict(os.environ)
    if not mktemp_works:
        fake = tmp_path / "bin"
        fake.mkdir(exist_ok=True)
        (fake / "mktemp").write_text("#!/bin/sh\nexit 1\n")
        (fake / "mktemp").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    env["TMPDIR"] = str(tmp_path)
    script = build_script(PROBES, nonce="abcd")
    start = time.perf_counter()
    out = subprocess.run([SH, "-s"], input=script, capture_output=True, text=True, env=env, timeout=30)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stderr
    return split_sections(out.stdout, "abcd"), elapsed, out.stdout


def test_concurrent_probes_give_the_same_sections_as_probes_in_turn(tmp_path):
    parallel, t_par, text = run(tmp_path, mktemp_works=True)
    serial, t_ser, _ = run(tmp_path, mktemp_works=False)
    assert list(parallel) == [p.name for p in PROBES], "sections come out in probe order"
    assert {k: (v.rc, v.text) for k, v in parallel.items()} == {k: (v.rc, v.text) for k, v in serial.items()}
    assert parallel["first"].text == "one\ntwo" and parallel["first"].rc == 0
    assert parallel["fallback"].text == "second alternative" and parallel["fallback"].rc == 0
    assert parallel["failing"].rc == 3 and parallel["failing"].text == "broken"
    assert parallel["marker"].text == "@@hatui:0000:end:first:rc=0@@"
    # Three 0.4 s probes: side by side in one run, concurrent is clearly faster than in turn.
    assert t_par < 0.75 * t_ser, (t_par, t_ser)
    # The temporary folder is gone after the script.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tmp.")]
