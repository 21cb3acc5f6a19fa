"""How every command line entry point reports errors: one line on stderr and an exit code."""

from __future__ import annotations

import functools
import sys

import click

from hatui.errors import HatuiError

# Exit codes of action commands (status uses the monitoring-plugin codes, see README).
EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_UNKNOWN = 0, 1, 2, 3


def fail(message: str, code: int = EXIT_UNKNOWN) -> None:
    """Print ``hatui: message`` on stderr and exit with ``code``."""
    click.echo(f"hatui: {message}", err=True)
    sys.exit(code)


def one_line_errors(fn):
    """Turn hatui and OS errors into one line and exit 3, Ctrl-C into exit 130; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HatuiError as exc:
            fail(str(exc))
        except OSError as exc:  # a file hatui cannot read or write: still one line, not a traceback
            fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper
