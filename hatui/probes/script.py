"""The batched poll script: one remote exec per node per cycle, split into sections.

hatui sends one POSIX ``sh`` script per node per poll. Its preamble defines a
few functions, then each probe is one line, and ``_done`` ends the script::

    _h NAME 'ALTERNATIVE 1' ['ALTERNATIVE 2' ...]

``_h`` runs the alternatives in order with ``eval`` (stdout and stderr together)
until one exits 0, and prints the output of that one (or of the last one tried)
between two marker lines that carry a per-poll random nonce, so that no command
output can forge a section boundary::

    @@hatui:NONCE:begin:NAME@@
    ...output...
    @@hatui:NONCE:end:NAME:rc=RC@@

The probes run concurrently: ``_h`` starts each in a background job writing to
its own file in a ``mktemp -d`` folder, and ``_done`` waits for them all and
prints the files in probe order with one ``cat`` (the folder is removed on exit). A poll then
costs about as much as its slowest probe, not the sum of all of them. Where
``mktemp`` fails (no writable /tmp), ``_h`` runs each probe in turn instead.

``_ka_json [SIGNAL]`` asks keepalived for its JSON state dump and prints the
file once it is written. Learning the signal number means running the
keepalived binary (``keepalived --signum=JSON``, ~15 ms on a real node), so the
poller learns it once per connection through the :data:`KEEPALIVED_SIGNUM`
probe and passes it as ``SIGNAL`` afterwards (:func:`keepalived_probes`).

Every alternative is built by hatui from validated config values quoted with
:func:`shlex.quote`; the demo pair and the lab answer the very same text.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass
from typing import Iterable, Sequence

SCRIPT_HEADER = "# hatui-poll v1"

_PREAMBLE = r"""{header}
LC_ALL=C; export LC_ALL
_N={nonce}
_P={prefix}
_run() {{
  _name=$1; shift; _rc=127; _out=
  for _alt in "$@"; do
    _out=$(eval "$_alt" 2>&1) && {{ _rc=0; break; }}
    _rc=$?
  done
  printf '@@hatui:%s:begin:%s@@\n%s\n@@hatui:%s:end:%s:rc=%s@@\n' "$_N" "$_name" "$_out" "$_N" "$_name" "$_rc"
}}
_init() {{
  _i=0; _D=$(mktemp -d 2>/dev/null) || _D=
  [ -z "$_D" ] || trap 'rm -rf "$_D"' EXIT HUP INT TERM
}}
_h() {{
  if [ -n "$_D" ]; then _i=$((_i+1)); _run "$@" >"$_D/$_i" 2>&1 & else _run "$@"; fi
}}
_done() {{
  [ -n "$_D" ] || return 0
  wait; _j=1; set --
  while [ "$_j" -le "$_i" ]; do set -- "$@" "$_D/$_j"; _j=$((_j+1)); done
  [ "$#" -eq 0 ] || cat "$@"
}}
_ka_json() {{
  _pid=$($_P cat {pid_file} 2>/dev/null) || {{ echo "keepalived pid file "{pid_file}" not readable"; return 3; }}
  _sig=${{1:-$(keepalived --signum=JSON 2>/dev/null)}} || {{ echo "keepalived has no JSON support"; return 4; }}
  [ -n "$_sig" ] || {{ echo "keepalived has no JSON support"; return 4; }}
  $_P rm -f {json_file}
  $_P kill -s "$_sig" "$_pid" || {{ echo "cannot signal keepalived pid $_pid"; return 5; }}
  _k=0
  while [ "$_k" -lt 100 ]; do
    if [ -s {json_file} ]; then sleep 0.01; $_P cat {json_file}; return $?; fi
    sleep 0.01; _k=$((_k+1))
  done
  echo "keepalived did not write "{json_file}; return 6
}}
_init
"""

# The section that reports `keepalived --signum=JSON`, run only while the poller does not know it.
KEEPALIVED_SIGNUM = "kasig"

_MARK = re.compile(r"^@@hatui:(?P<nonce>[0-9a-f]+):(?P<kind>begin|end):(?P<name>[A-Za-z0-9_.:+-]+?)(?::rc=(?P<rc>-?\d+))?@@$")


@dataclass(frozen=True)
class Probe:
    """One probe: a section name and shell alternatives tried in order."""

    name: str
    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """What one probe printed on the node, and the exit code of the alternative used."""

    name: str
    rc: int
    text: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


def keepalived_probes(probes: Iterable[Probe], keepalived: str, signal: int | None) -> list[Probe]:
    """``probes`` with the keepalived dump told its signal number, or (unknown) a probe that learns it.

    ``keepalived`` is the section name of the dump probe (whose alternative is ``_ka_json``).
    """
    out = []
    for probe in probes:
        if probe.name == keepalived and probe.alternatives == ("_ka_json",):
            if signal is None:
                out.append(Probe(KEEPALIVED_SIGNUM, ("keepalived --signum=JSON",)))
            else:
                probe = Probe(probe.name, (f"_ka_json {int(signal)}",))
        out.append(probe)
    return out


def parse_signum(section: Section | None) -> int | None:
    """The signal number ``keepalived --signum=JSON`` printed (None: not a signal number)."""
    if section is None or not section.ok:
        return None
    text = section.text.strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= 64 else None


def new_nonce() -> str:
    """A fresh random marker nonce for one poll."""
    return secrets.token_hex(6)


def build_script(
    probes: Iterable[Probe],
    *,
    nonce: str,
    prefix: Sequence[str] = (),
    keepalived_pid_file: str = "/run/keepalived.pid",
    keepalived_json_file: str = "/tmp/keepalived.json",
) -> str:
    """Render the batched poll script for one node.

    ``prefix`` is the validated command prefix (e.g. ``("sudo", "-n")``); it is
    put in front of each alternative by the caller when building probes and is
    also used inside ``_ka_json``.
    """
    if not re.fullmatch(r"[0-9a-f]+", nonce):
        raise ValueError("nonce must be lowercase hex")
    lines = [
        _PREAMBLE.format(
            header=SCRIPT_HEADER,
            nonce=nonce,
            prefix=shlex.quote(shlex.join(prefix)),
            pid_file=shlex.quote(keepalived_pid_file),
            json_file=shlex.quote(keepalived_json_file),
        ).rstrip("\n")
    ]
    for probe in probes:
        if not re.fullmatch(r"[A-Za-z0-9_.:+-]+", probe.name):  # + : DRBD resource names may have it
            raise ValueError(f"bad probe name {probe.name!r}")
        lines.append(shlex.join(["_h", probe.name, *probe.alternatives]))
    lines.append("_done")
    return "\n".join(lines) + "\n"


def split_sections(stdout: str, nonce: str) -> dict[str, Section]:
    """Split the script's stdout into sections; lines outside markers are dropped.

    A section whose end marker never came (the node was cut off mid-script) is
    left out, so the caller sees the probe as missing rather than truncated.
    """
    sections: dict[str, Section] = {}
    current: str | None = None
    body: list[str] = []
    for line in stdout.split("\n"):
        m = _MARK.match(line)
        if m is None or m.group("nonce") != nonce:
            if current is not None:
                body.append(line)
            continue
        if m.group("kind") == "begin":
            current, body = m.group("name"), []
        elif current == m.group("name") and m.group("rc") is not None:
            sections[current] = Section(current, int(m.group("rc")), "\n".join(body))
            current, body = None, []
    return sections
