"""Parser for ``exportfs -v``.

Layout, from nfs-utils ``utils/exportfs/exportfs.c`` ``dump()``: a path of at
most 14 characters is printed ``"%-14s\\t%s"`` (padded, tab, client); a longer
path is printed alone and the client goes on the next line after two tabs.
The options follow the client directly in parentheses. The anonymous client
is shown as ``<world>`` (``*`` in exports syntax). The path is printed raw, so
it may contain spaces. Pure and never raises.
"""

from __future__ import annotations

import re

from hatui.probes.common import never_raises
from hatui.probes.records import ExportsReport, NfsExport

_CLIENT = re.compile(r"^(?P<client>[^\s(]+)(?:\((?P<options>[^)]*)\)?)?\s*$")


def _client(text: str) -> tuple[str, tuple[str, ...]] | None:
    m = _CLIENT.match(text.strip())
    if m is None:
        return None
    client = m.group("client")
    options = tuple(o for o in (m.group("options") or "").split(",") if o)
    return ("*" if client == "<world>" else client), options


@never_raises("exportfs", lambda why: ExportsReport(error=why))
def parse_exportfs(text: str) -> ExportsReport:
    """Parse ``exportfs -v`` into exports (one per path and client).

    Lines that fit neither layout (warnings merged from stderr, e.g.
    "exportfs: … Neither 'subtree_check' or 'no_subtree_check' specified")
    are skipped; they become the error only when no export was read at all.
    Empty output means nothing is exported.
    """
    exports: list[NfsExport] = []
    pending_path: str | None = None  # a long path waiting for its client line
    stray: str | None = None
    for raw in (text or "").splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if line[0] in " \t":  # the client line after a long path
            parsed = _client(line)
            if pending_path is not None and parsed is not None:
                exports.append(NfsExport(pending_path, parsed[0], parsed[1]))
            else:
                stray = stray or line.strip()[:200]
            pending_path = None
            continue
        pending_path = None
        if "\t" in line:  # short path: "PATH<pad>\tCLIENT(OPTS)"
            path, _, rest = line.rpartition("\t")
            parsed = _client(rest)
            if path.strip() and parsed is not None and line.startswith("/"):
                exports.append(NfsExport(path.rstrip(" \t"), parsed[0], parsed[1]))
                continue
        if line.startswith("/"):
            # Pasted or re-typed output often has spaces where exportfs printed a tab:
            # "PATH   CLIENT(OPTS)". Split at the last blank run when what follows is
            # unmistakably a client (options in parentheses, or <world>).
            head, sep, tail = line.rstrip().rpartition(" ")
            parsed = _client(tail) if sep else None
            if parsed is not None and head.strip() and ("(" in tail or tail.startswith("<world>")):
                exports.append(NfsExport(head.rstrip(), parsed[0], parsed[1]))
                continue
            pending_path = line
            continue
        stray = stray or line.strip()[:200]
    if stray and not exports:
        return ExportsReport(error=stray)
    return ExportsReport(exports=tuple(exports))
