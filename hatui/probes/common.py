"""What every parser needs: the first line of a tool's complaint, and never raising.

A parser gets whatever a node printed, including garbage; whatever it meets, it returns a
report (with ``error`` set when the output could not be read), so one bad section never
costs the rest of the poll.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def first_line(text: str, limit: int = 200, *, empty: str = "no output") -> str:
    """The first non-blank line, stripped and cut to ``limit`` characters (``empty`` when there is none)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return empty


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def never_raises(what: str, failed: Callable[[str], R]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Turn a parser bug into ``failed("WHAT parser failed: ExceptionName")``: a bad line must not kill the poller."""

    def decorate(parse: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(parse)
        def safe(*args: Any, **kwargs: Any) -> R:
            try:
                return parse(*args, **kwargs)
            except Exception as exc:
                return failed(f"{what} parser failed: {type(exc).__name__}")

        return safe

    return decorate
