"""`hatui status`: one picture of the pair (Rich or the versioned JSON), `--watch`, `--from DIR`.

Exit codes follow the monitoring convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN — a usage
error too is UNKNOWN (3), with a JSON error object when ``--json`` was asked for.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import click

from hatui.config import Config, load_config
from hatui.errors import HatuiError
from hatui.states import severity_rank

from hatui.cli.errors import EXIT_UNKNOWN, one_line_errors


class NoAnswer(HatuiError):
    """No snapshot within the status timeout."""


def _error_kind(exc: BaseException) -> str:
    from hatui.errors import ConfigError, TransportError

    if isinstance(exc, NoAnswer):
        return "timeout"
    if isinstance(exc, ConfigError):
        return "config"
    if isinstance(exc, TransportError):
        return "transport"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "os" if isinstance(exc, OSError) else "error"


def status_error(kind: str, message: str) -> dict[str, object]:
    """The JSON printed instead of a status document when there is none (exit 3, UNKNOWN)."""
    return {"schema": "hatui.status/v1", "verdict": "UNKNOWN", "error": {"kind": kind, "message": message}}


class StatusCommand(click.Command):
    """`hatui status`: a usage error exits 3 (UNKNOWN, as the monitoring convention wants), not click's 2
    (which would read as CRITICAL); with --json it is a JSON error object too."""

    def make_context(self, info_name, args, parent=None, **extra):
        wants_json = "--json" in args
        try:
            return super().make_context(info_name, list(args), parent=parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = EXIT_UNKNOWN
            if wants_json:
                click.echo(json.dumps(status_error("usage", exc.format_message())))
            raise


@click.command(cls=StatusCommand)
@click.option("--json", "as_json", is_flag=True, help="Print the versioned JSON document (schema hatui.status/v1).")
@click.option("--watch", is_flag=True,
              help="Keep polling (Ctrl-C to stop): redraws on a terminal, else one frame per interval (JSON lines with --json).")
@click.option("--from", "from_dir", type=click.Path(file_okay=False), help="Read captured outputs from DIR instead of SSH.")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds (exit 3).")
@click.pass_obj
@one_line_errors
def status(opts: dict, as_json: bool, watch: bool, from_dir: str | None, timeout: float | None) -> None:
    """One-shot picture of both nodes; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    try:
        snap = _status_snapshot(opts, as_json, watch, from_dir, timeout)
    except (HatuiError, OSError) as exc:
        if as_json:  # scripts get something they can parse; the person reading stderr gets the line
            message = str(exc) or type(exc).__name__
            click.echo(json.dumps(status_error(_error_kind(exc), message)))
        raise
    if snap is None:  # --watch ran until Ctrl-C
        return
    if as_json:
        from hatui.present.status_json import status_document

        click.echo(json.dumps(status_document(snap), indent=2))
    else:
        from rich.console import Console  # imported only here: a --json check stays lean

        from hatui.present.rich import status_view

        Console().print(status_view(snap))
    sys.exit(severity_rank(snap.verdict))


def _status_snapshot(opts: dict, as_json: bool, watch: bool, from_dir: str | None, timeout: float | None):
    if from_dir:
        from hatui.snapshot.capture import load_capture_config, snapshot_from_dir

        folder = Path(from_dir)
        config = load_capture_config(folder, lambda: load_config(opts["config_path"]))
        return snapshot_from_dir(folder, config)
    config = load_config(opts["config_path"])
    if watch:
        watch_status(config, as_json=as_json)
        return None
    from hatui.snapshot.poller import poll_once, status_timeout

    limit = timeout if timeout is not None else status_timeout(config)
    try:
        return asyncio.run(poll_once(config, limit))
    except (asyncio.TimeoutError, TimeoutError):
        raise NoAnswer(f"no answer from the pair within {limit:g}s") from None


def watch_status(config: Config, *, as_json: bool = False) -> None:
    """Poll every interval until Ctrl-C: on a terminal the picture is redrawn in place under the time of
    its frame; into a pipe or file each frame is printed whole after a plain ``--- time ---`` line
    (with --json: one JSON document per line)."""
    from rich.console import Console, Group
    from rich.live import Live
    from rich.text import Text

    from hatui.snapshot.poller import ClusterPoller, status_timeout
    from hatui.present.rich import frame_heading, status_view

    interval = config.cluster.poll_interval
    tty = sys.stdout.isatty() and not as_json
    console = Console() if tty else Console(no_color=True, highlight=False, width=120, force_terminal=False)

    def frame(snap) -> None:
        if as_json:
            from hatui.present.status_json import status_document

            click.echo(json.dumps(status_document(snap)))
        elif tty:
            live.update(Group(frame_heading(snap.taken_at, interval), status_view(snap)), refresh=True)
        else:
            console.print(f"--- {frame_heading(snap.taken_at, interval, live=False).plain} ---")
            console.print(status_view(snap))
        sys.stdout.flush()

    def missed(limit: float) -> None:
        text = f"no answer from the pair within {limit:g}s"
        if as_json:
            click.echo(json.dumps({**status_error("timeout", text), "taken_at": time.time()}))
        elif tty:
            live.update(Group(frame_heading(time.time(), interval), Text(text, style="bold")), refresh=True)
        else:
            console.print(f"--- {frame_heading(time.time(), interval, live=False).plain} ---\n{text}")
        sys.stdout.flush()

    async def loop() -> None:
        poller = ClusterPoller(config)
        limit = status_timeout(config)
        try:
            while True:
                try:
                    frame(await asyncio.wait_for(poller.poll(), limit))
                except (asyncio.TimeoutError, TimeoutError):
                    missed(limit)
                await asyncio.sleep(interval)
        finally:
            await poller.close()

    live = Live(console=console, auto_refresh=False, screen=False) if tty else None
    try:
        if live is not None:
            with live:
                asyncio.run(loop())
        else:
            asyncio.run(loop())
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `hatui status --watch | head`: the reader is gone
        sys.stderr.close()
