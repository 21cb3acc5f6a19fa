"""Error types of the core; the CLI and UI turn each into one clear line."""

from __future__ import annotations

from enum import StrEnum


class HatuiError(Exception):
    """Base: ``str(exc)`` is the one-line message shown to the operator."""


class ConfigError(HatuiError):
    """The configuration is missing or invalid."""


class FailureKind(StrEnum):
    """Why a node could not be asked. The value is the health finding's code.

    The first four mean hatui itself cannot talk to the node (its setup, or a
    security stop): the node may be perfectly healthy, its state is unknown.
    The last four mean the node (or the path to it) is not answering: it is
    *unreachable*, and keepalived is expected to react.
    """

    HOST_KEY_UNKNOWN = "host-key-unknown"
    HOST_KEY_CHANGED = "host-key-changed"
    AUTH_REJECTED = "auth-rejected"
    NAME_UNRESOLVED = "name-unresolved"
    REFUSED = "connection-refused"
    TIMED_OUT = "connect-timed-out"
    DROPPED = "connection-dropped"
    HUNG = "node-hung"

    @property
    def unreachable(self) -> bool:
        """True for the classes that say the node is not answering."""
        return self in _UNREACHABLE


_UNREACHABLE = frozenset({FailureKind.REFUSED, FailureKind.TIMED_OUT, FailureKind.DROPPED, FailureKind.HUNG})


class TransportError(HatuiError):
    """The node could not be reached, or the connection broke mid-command.

    ``kind`` classifies the failure (None: not classified, treated as
    unreachable); ``hint`` is the operator's next step for this class.
    """

    def __init__(self, node: str, message: str, *, kind: FailureKind | None = None, hint: str = "") -> None:
        super().__init__(f"{node}: {message}")
        self.node = node
        self.reason = message
        self.kind = kind
        self.hint = hint


class HostKeyError(TransportError):
    """The node's SSH host key is unknown or has changed (strict checking)."""


class CommandTimeout(TransportError):
    """A remote command did not finish within its timeout."""
