"""What the chaos run watches while faults happen: ground truth, hatui's answers, logs.

The chaos run (``scripts/chaos.py``, :mod:`hatui.lab.host.chaos_run`) must judge hatui
against what really happened, so the truth comes from outside hatui: each
node's DRBD emulator (role, disk, connection, suspended I/O, whether the
filesystem holds the device open) sampled every :data:`SAMPLE_EVERY` seconds
by :class:`Monitor`. Two nodes that are Primary with I/O not suspended and the
device open (mounted) at the same sample are two nodes serving writes: the
worst outcome there is, recorded the moment it is seen.

:func:`run_hatui` runs hatui's own command line (as an operator would) with a
wall-clock bound and reports its duration and any traceback;
:class:`LogScanner` reads only what was appended to the nodes' logs and
journals since its last look, for tracebacks and the emulator's swallowed
exceptions.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_EVERY = 0.25
HISTORY_S = 180.0
TRACEBACK_MARKS = ("Traceback (most recent call last)", "tick failed:", "request failed:")


@dataclass
class Sample:
    """One look at both nodes: {node: (role, disk, connection, suspended, open)}; {} for a node that did not answer."""

    t: float
    nodes: dict[str, dict]

    def serving(self, name: str) -> bool:
        st = self.nodes.get(name) or {}
        return st.get("role") == "Primary" and st.get("suspended") is None and bool(st.get("open"))


class Monitor(threading.Thread):
    """Samples the emulators; remembers recent samples; records every moment two nodes serve."""

    def __init__(self, lab, names: tuple[str, ...], every: float = SAMPLE_EVERY) -> None:
        super().__init__(name="chaos-monitor", daemon=True)
        self.lab, self.names, self.every = lab, names, every
        self.history: collections.deque[Sample] = collections.deque()
        self.two_serving: list[dict] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def sample(self) -> Sample:
        nodes = {}
        for name in self.names:
            st = self.lab.local_drbd(name)
            nodes[name] = {k: st.get(k) for k in ("role", "disk", "connection", "suspended", "open")} if st else {}
        return Sample(time.time(), nodes)

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            s = self.sample()
            with self.lock:
                self.history.append(s)
                while self.history and self.history[0].t < s.t - HISTORY_S:
                    self.history.popleft()
                if all(s.serving(n) for n in self.names):
                    self.two_serving.append({"t": s.t, "nodes": s.nodes})

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)

    def between(self, start: float, end: float) -> list[Sample]:
        with self.lock:
            return [s for s in self.history if start <= s.t <= end]

    def take_two_serving(self) -> list[dict]:
        with self.lock:
            out, self.two_serving = self.two_serving, []
        return out


@dataclass
class HatuiRun:
    """One hatui command line: exit code (None: killed at its bound), output, wall time, traceback seen."""

    argv: list[str]
    exit: int | None
    stdout: str
    stderr: str
    seconds: float
    started: float
    ended: float

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr + self.stdout

    def json(self) -> dict | None:
        try:
            doc = json.loads(self.stdout)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None


def run_hatui(config: str | os.PathLike, *args: str, timeout: float, env: dict[str, str] | None = None) -> HatuiRun:
    """``hatui --config CONFIG ARGS…`` in a fresh process, killed after ``timeout`` s (exit None)."""
    argv = [sys.executable, "-m", "hatui.cli", "--config", str(config), *args]
    started = time.time()
    t0 = time.monotonic()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, **(env or {})})
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = None
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    return HatuiRun(list(args), code, out, err, time.monotonic() - t0, started, time.time())


@dataclass
class LogScanner:
    """Reads the lab's logs and journals incrementally; returns lines that show a traceback or swallowed exception."""

    lab_dir: Path
    names: tuple[str, ...]
    offsets: dict[str, int] = field(default_factory=dict)

    def files(self) -> list[Path]:
        out = [self.lab_dir / "client" / "client.stderr"]
        for name in self.names:
            out += sorted((self.lab_dir / name / "run" / "hatui-lab" / "log").glob("*.log"))
            out.append(self.lab_dir / name / "journal" / "journal.jsonl")
        return out

    def scan(self) -> list[str]:
        found = []
        for path in self.files():
            key = str(path)
            try:
                size = path.stat().st_size
                start = self.offsets.get(key, 0)
                if size < start:  # truncated (journal trimmed, lab rebuilt): read it again
                    start = 0
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read()
                data = data[:data.rfind(b"\n") + 1]  # whole lines only: the rest is read next time
                self.offsets[key] = start + len(data)
                text = data.decode(errors="replace")
            except OSError:
                continue
            lines = text.splitlines()
            for i, line in enumerate(lines):
                if any(mark in line for mark in TRACEBACK_MARKS):
                    # the mark and what follows it (a traceback's frames and its last line)
                    block = " | ".join(x.strip() for x in lines[max(0, i - 1):i + 16] if x.strip())
                    found.append(f"{path.relative_to(self.lab_dir)}: {block[:1500]}")
        return found

    def skip_to_end(self) -> None:
        """Forget what is there now (a fresh lab's boot is not the run's business)."""
        for path in self.files():
            try:
                self.offsets[str(path)] = path.stat().st_size
            except OSError:
                pass
