"""A command's output read line by line as it comes, with a bound on every wait (for commands that stay open)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time


class LineReader:
    """Runs ``argv``; :meth:`until` waits for a line matching a pattern, :meth:`stop` kills what is left."""

    def __init__(self, argv: list[str], **popen) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        self.lines: list[str] = []
        self._buf = b""

    def until(self, pattern: str, timeout: float = 5.0) -> str:
        """The first line from now on that matches ``pattern`` (fails after ``timeout`` with what came)."""
        deadline = time.monotonic() + timeout
        start = len(self.lines)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        while True:
            for line in self.lines[start:]:
                if re.search(pattern, line):
                    return line
            start = len(self.lines)
            left = deadline - time.monotonic()
            assert left > 0, f"no line matching {pattern!r} within {timeout} s; got {self.lines}"
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, f"the command ended (exit {self.proc.wait(5)}): {self.proc.stderr.read()!r}"
                self._buf += chunk
                *done, self._buf = self._buf.split(b"\n")
                self.lines += [d.decode() for d in done]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
