"""Error types of the core; the CLI and UI turn each into one clear line."""

from __future__ import annotations


class HatuiError(Exception):
    """Base: ``str(exc)`` is the one-line message shown to the operator."""


class ConfigError(HatuiError):
    """The configuration is missing or invalid."""


class TransportError(HatuiError):
    """The node could not be reached, or the connection broke mid-command."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(f"{node}: {message}")
        self.node = node
        self.reason = message


class HostKeyError(TransportError):
    """The node's SSH host key is unknown or has changed (strict checking)."""


class CommandTimeout(TransportError):
    """A remote command did not finish within its timeout."""
