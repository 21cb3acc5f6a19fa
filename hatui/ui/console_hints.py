"""Hints in the console name the console's own controls, not the command line's flags.

The guards, plans and health rules word their hints for ``hatui`` on a shell
(``--yes-recent``, ``hatui resync split-brain --victim NODE``); inside the
console the same advice reads "tick [x] switch anyway" or "R → split-brain".
Where the console has no control for it (breaking a lock), the hint says
"in a shell:". :func:`copy_text` picks what the copy key puts on the clipboard:
the command in backticks, else the whole hint as the rules wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Keys = dict[str, str]
Rule = tuple[str, Callable[[re.Match[str], Keys], str]]


def _resync(m: re.Match[str], k: Keys) -> str:
    return " / ".join(f"{k['resync']} → {flow}" for flow in m.groups() if flow)


# (pattern, replacement from the match and the console's keys): most specific first.
_RULES: tuple[Rule, ...] = (
    (r"\(--yes-recent\)", lambda m, k: "(tick [x] switch anyway below: space)"),
    (r"--yes-recent", lambda m, k: "tick [x] switch anyway below (space)"),
    (r"look at the evidence, then: hatui resync split-brain --victim NODE",
     lambda m, k: "look at the evidence, then choose the victim below (↑↓, space)"),
    (r"hatui resync split-brain --victim \S+", lambda m, k: f"{k['resync']} → split-brain, then choose the victim"),
    (r"hatui resync (reconnect|split-brain|full|verify)(?: / (full|reconnect))?", _resync),
    (r"hatui failover / failback", lambda m, k: f"{k['failover']} (failover) / {k['failback']} (failback)"),
    (r"hatui failover --to (NODE|[\w.-]+)", lambda m, k: f"in a shell: hatui failover --to {m.group(1)}"),
    (r"\(hatui status shows (?:progress|it)\)", lambda m, k: "(the Replication line shows it)"),
    (r"\(hatui status\)", lambda m, k: "(the stacks above)"),
    (r"check `hatui status`", lambda m, k: "see the stacks above"),
    (r"hatui lock break --confirm ([\w.-]+)", lambda m, k: f"in a shell: hatui lock break --confirm {m.group(1)}"),
    (r"`?hatui lock status`?", lambda m, k: "in a shell: hatui lock status"),
    (r"Run without --read-only", lambda m, k: "Restart hatui without --read-only"),
)


def console_hint(text: str, keys: Keys) -> str:
    """``text`` with every command-line reference replaced by the console control that does it.

    ``keys`` maps command ids (``failover``, ``resync`` …) to the keys shown for them."""
    for pattern, make in _RULES:
        text = re.sub(pattern, lambda m, make=make: make(m, keys), text)
    return text


def copy_text(hint: str) -> str:
    """What the copy key copies from a hint: the first command in backticks, else the whole hint."""
    match = re.search(r"`([^`]+)`", hint)
    return match.group(1).strip() if match else hint.strip()
