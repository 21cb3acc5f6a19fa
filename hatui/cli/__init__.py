"""Command line: `hatui` (console), `hatui status`, `hatui config …`, `hatui demo …`.

Every error the operator can cause or meet (bad config, unreachable node,
unknown host key) is turned into one line on stderr and a non-zero exit here,
never a traceback.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import os
import sys
import time
from pathlib import Path

import click

from hatui.config import Config, load_config, resolve_config_path
from hatui.errors import HatuiError
from hatui.states import severity_rank

from hatui.cli.errors import EXIT_UNKNOWN, one_line_errors


@click.group(invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: $HATUI_CONFIG, then ~/.config/hatui/config.toml).")
@click.option("--read-only", is_flag=True, help="Never change the cluster: actions are off.")
@click.option("--theme", default=None, help="Console theme (see themes/).")
@click.option("--ascii", "ascii_mode", is_flag=True,
              help="Draw with ASCII only, no box drawing or symbols (automatic when the locale is not UTF-8).")
@click.version_option(package_name="hatui")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, read_only: bool, theme: str | None, ascii_mode: bool) -> None:
    """hatui: operations console for a two-node DRBD + NFS + keepalived HA pair.

    With no command, opens the live console on the configured pair.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(config_path=config_path, read_only=read_only, theme=theme, ascii=ascii_mode)
    if ctx.invoked_subcommand is None:
        open_console(ctx.obj)


@one_line_errors
def open_console(opts: dict) -> None:
    fleet, config_path = _console_pairs(opts["config_path"])
    if fleet is not None:  # more than one pair: the fleet overview first (hatui/ui/fleet_app.py)
        from hatui.ui.ascii import locale_is_utf8
        from hatui.ui.fleet_app import run_fleet_console

        run_fleet_console(fleet, read_only=opts["read_only"], theme=opts["theme"],
                          ascii=bool(opts.get("ascii")) or not locale_is_utf8())
        return
    config = load_config(config_path)
    try:
        from hatui.ui.app import run_console  # the Textual layer is optional at import time
    except ImportError:
        watch_status(config)
        return
    from hatui.ui.ascii import locale_is_utf8

    run_console(config, read_only=opts["read_only"], theme=opts["theme"],
                ascii=bool(opts.get("ascii")) or not locale_is_utf8())


def _console_pairs(config_path: str | None):
    """``(fleet, None)`` when more than one pair is configured, else ``(None, the one pair file)``."""
    from hatui.fleet import fleet_files, load_fleet

    try:
        _source, files = fleet_files(config_path)
    except HatuiError:
        return None, config_path  # load_config says what is missing, as it always did
    return (load_fleet(config_path), None) if len(files) > 1 else (None, str(files[0]))


# --- status -------------------------------------------------------------------------


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


@main.command(cls=StatusCommand)
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


# --- config -------------------------------------------------------------------------


@main.group()
def config() -> None:
    """Show or check the configuration."""


@config.command("example")
def config_example() -> None:
    """Print a commented example configuration."""
    click.echo(importlib.resources.files("hatui").joinpath("config_example.toml").read_text(), nl=False)


@config.command("check")
@click.pass_obj
@one_line_errors
def config_check(opts: dict) -> None:
    """Validate the configuration and explain each error with the key that is wrong.

    Checks what the console checks when it starts: every setting, the theme
    (config or --theme) among the console's themes, and the [keys] table."""
    path = resolve_config_path(opts["config_path"])
    cfg = load_config(path)
    theme, notes = _check_theme(opts.get("theme") or cfg.theme)
    names = " and ".join(cfg.node_names)
    keys = f"keys changed: {', '.join(f'{c}={k}' for c, k in cfg.keys.items())}" if cfg.keys else "default keys"
    click.echo(f"{path}: OK: cluster {cfg.cluster.name}, nodes {names}, VIP {cfg.vip.address}, "
               f"DRBD {', '.join(d.resource for d in cfg.drbd)}, theme {theme}, {keys}")
    for note in notes:
        click.echo(f"note: {note} (the console ignores that file)")


def _check_theme(name: str | None) -> tuple[str, list[str]]:
    """The theme the console would use (ConfigError if it would refuse), and theme files it would skip."""
    try:
        from hatui.ui.themes import load_themes, resolve_theme
    except ImportError:  # no Textual: no console to refuse it
        return name or "hatui-dark", []
    available, problems = load_themes()
    return resolve_theme(name, available), problems


# --- demo ---------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option("--headless", is_flag=True, help="Run only the simulated pair in the foreground.")
@click.option("--write-config", type=click.Path(dir_okay=False), default=None, help="Where to write the demo's config.")
@click.option("--time-scale", type=click.FloatRange(0.1, 100), default=1.0, help="Simulated time speed (1 = real time).")
@click.pass_context
@one_line_errors
def demo(ctx: click.Context, headless: bool, write_config: str | None, time_scale: float) -> None:
    """Run hatui on a built-in simulated pair (no root, no real cluster)."""
    if ctx.invoked_subcommand is not None:
        return
    from hatui.demo import instances

    state = instances.new_instance()  # this demo's own folder: config, keys, timelines, audit log
    os.environ["HATUI_STATE_DIR"] = str(state)
    config_file = Path(write_config) if write_config else state / instances.CONFIG
    try:
        if headless:
            from hatui.demo.headless import run_headless

            sys.exit(run_headless(config_file, state, time_scale))
        from hatui.demo.server import start_in_thread

        handle = start_in_thread(config_file, state_dir=state, time_scale=time_scale)
        try:
            opts = dict(ctx.obj, config_path=str(handle.config_path))
            open_console(opts)
        finally:
            handle.stop()
    finally:
        instances.finished(state)


@demo.command("fault")
@click.argument("kind")
@click.argument("args", nargs=-1)
@click.pass_obj
@one_line_errors
def demo_fault(opts: dict, kind: str, args: tuple[str, ...]) -> None:
    """Inject a fault into a running headless demo: KIND [NODE] [UNIT].

    KIND: crash, restore, cut-link, heal-link, stop-service, start-service,
    stop-keepalived, start-keepalived, block-vrrp, unblock-vrrp, split-brain,
    hang, unhang, drop, sync.
    """
    import shlex

    from hatui.transport import NodeTransport

    from hatui.demo import instances

    config_path = opts["config_path"] or str(instances.running_config())
    cfg = load_config(config_path)
    command = shlex.join(["hatui-sim", "fault", kind, *args])

    async def send() -> str:
        last = "no node answered"
        for node in cfg.nodes:  # a crashed node refuses; the other one carries the message
            transport = NodeTransport(node, cfg.cluster)
            try:
                result = await transport.run(command, timeout=5)
            except HatuiError as exc:
                last = str(exc)
                continue
            finally:
                await transport.close()
            if result.exit_status != 0:
                raise HatuiError((result.stderr or result.stdout).strip() or f"fault {kind} refused")
            return result.stdout.strip()
        raise HatuiError(f"cannot reach the demo pair: {last}")

    click.echo(asyncio.run(send()) or f"fault {kind} injected")


# --- actions: failover, failback, resync, timeline, lock (hatui/cli/actions.py) ---------

from hatui.cli.actions import register as _register_actions  # after `main` exists

_register_actions(main)

from hatui.cli.lab import register as _register_lab  # noqa: E402

_register_lab(main)

from hatui.cli.fleet import register as _register_fleet  # noqa: E402  (status --all, --pair, serve, history, demo --pairs)

_register_fleet(main)

