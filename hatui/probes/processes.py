"""Parser for ``pgrep -l -x 'pacemakerd|corosync'``.

hatui checks that no Pacemaker/Corosync stack runs beside keepalived (two
cluster managers fighting over DRBD is a split-brain recipe). pgrep prints
``PID NAME`` lines, and nothing (exit 1) when no process matches. Pure and
never raises.
"""

from __future__ import annotations

import re

from hatui.probes.common import never_raises
from hatui.probes.records import ProcessEntry, ProcessReport

_LINE = re.compile(r"^\s*(\d{1,10})\s+(\S.*?)\s*$")


@never_raises("pgrep", lambda why: ProcessReport(error=why))
def parse_pgrep(text: str) -> ProcessReport:
    """Parse ``pgrep -l`` output; empty output means no matching process.

    Lines that are not ``PID NAME`` (e.g. "pgrep: …" errors merged from
    stderr) are an error only when no process line was found at all.
    """
    processes = []
    stray = None
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m:
            processes.append(ProcessEntry(pid=int(m.group(1)), name=m.group(2)))
        else:
            stray = stray or line.strip()[:200]
    if stray and not processes:
        return ProcessReport(error=stray)
    return ProcessReport(processes=tuple(processes))
