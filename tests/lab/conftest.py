"""The real lab for tests: one pair per test session, always torn down.

Needs root, Linux, network namespaces and real sshd + keepalived (``.ci/run``
installs them); skipped with the reason otherwise. Every test talks to the pair
the way an operator does: the ``hatui`` command line over real SSH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hatui.lab.host.netns import LabError

pytestmark = pytest.mark.lab


def pytest_collection_modifyitems(items) -> None:
    """Every test in this folder is a lab test (root, namespaces): ``-m "not lab"`` leaves them all out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.lab)


def _why_no_lab() -> str | None:
    if sys.platform != "linux":
        return "the lab needs Linux"
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool in ("ip", "nsenter", "unshare", "losetup", "mkfs.ext4", "/usr/sbin/sshd", "/usr/sbin/keepalived"):
        if shutil.which(tool) is None and not os.access(tool, os.X_OK):
            return f"{tool} is not installed"
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        return "network namespaces are not available"
    return None


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def doc(self):
        return json.loads(self.stdout)


class LabPair:
    """The running lab and the commands tests use on it."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.config = str(lab.config_path)

    def hatui(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run([sys.executable, "-m", "hatui.cli", "--config", self.config, *args],
                              capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def status(self) -> Result:
        return self.hatui("status", "--json", timeout=60)

    def fault(self, kind: str, *args: str) -> str:
        from hatui.lab.host.faults import inject

        return inject(self.lab, kind, *args)

    def wait_status(self, predicate, timeout: float = 45, what: str = "") -> dict:
        """Poll `hatui status --json` until predicate(doc) holds; fail with the last findings."""
        deadline = time.monotonic() + timeout
        doc: dict = {}
        while True:
            res = self.status()
            try:
                doc = res.doc
                if predicate(doc):
                    return doc
            except ValueError:
                doc = {"stdout": res.stdout, "stderr": res.stderr}
            if time.monotonic() > deadline:
                findings = [f"{f['severity']} {f['code']}: {f['message']}" for f in doc.get("findings", [])]
                pytest.fail(f"timed out waiting for {what or predicate.__name__}: {findings or doc}")
            time.sleep(0.5)

    def drbd(self, node: str, *args: str) -> subprocess.CompletedProcess:
        from hatui.lab.host import netns

        return netns.node_run(node, [sys.executable, "-m", "hatui.lab.drbd.cli", *args], check=False, timeout=10)


def active(doc: dict) -> str | None:
    names = [n["name"] for n in doc["nodes"] if n.get("active")]
    return names[0] if len(names) == 1 else None


def healthy(doc: dict) -> bool:
    return doc["verdict"] == "OK"


# A node that stops answering is reported by how it failed, and which class a crash shows depends on
# timing (links down: the connect times out; sshd killed with the links up: refused; mid-poll: dropped
# or hung). Tests assert the class, not one code.
NODE_DOWN = frozenset({"connection-refused", "connect-timed-out", "connection-dropped", "node-hung"})


def root(doc: dict) -> dict:
    """The first finding: the root of the most severe incident (status --json orders them as a tree)."""
    first = doc["findings"][0]
    assert first["root"] and first["caused_by"] is None, first
    return first


def consequences(doc: dict, cause: dict) -> set[str]:
    """Codes of the findings shown under ``cause``."""
    return {f["code"] for f in doc["findings"] if f.get("caused_by") == cause["code"] and not f["root"]}


@pytest.fixture(scope="session")
def _session_lab():
    why = _why_no_lab()
    if why:
        pytest.skip(why)
    from hatui.lab.host.lab import Lab

    directory = Path(tempfile.mkdtemp(prefix="hatui-lab-test-", dir="/var/tmp"))
    lab = Lab(directory)
    if lab.is_up() or any(Path("/run/netns", n).exists() for n in ("vm2", "vm12", "client")):
        pytest.skip("another lab is running on this machine (hatui lab down)")
    try:
        yield lab
    finally:
        lab.down(log=lambda line: None)


@pytest.fixture
def lab_pair(_session_lab):
    """The session's lab, up: one pair for every test (built again if a test took it down)."""
    if not _session_lab.is_up():
        try:
            _session_lab.up(log=lambda line: None)
        except LabError as exc:
            pytest.fail(f"lab up failed: {exc}")
    return LabPair(_session_lab)


@pytest.fixture
def no_lab(_session_lab):
    """For a test that builds a lab of its own (the namespace names are fixed): the session's is down."""
    _session_lab.down(log=lambda line: None)
    return _session_lab
