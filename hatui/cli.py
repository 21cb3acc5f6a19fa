"""Command line: `hatui` (console), `hatui status`, `hatui config …`, `hatui demo …`.

Every error the operator can cause or meet (bad config, unreachable node,
unknown host key) is turned into one line on stderr and a non-zero exit here,
never a traceback.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import sys
from pathlib import Path

import click

from hatui import paths
from hatui.config import Config, load_config, resolve_config_path
from hatui.errors import HatuiError
from hatui.states import severity_rank

from hatui.cli_errors import fail, one_line_errors


@click.group(invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: $HATUI_CONFIG, then ~/.config/hatui/config.toml).")
@click.option("--read-only", is_flag=True, help="Never change the cluster: actions are off.")
@click.option("--theme", default=None, help="Console theme (see themes/).")
@click.version_option(package_name="hatui")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, read_only: bool, theme: str | None) -> None:
    """hatui: operations console for a two-node DRBD + NFS + keepalived HA pair.

    With no command, opens the live console on the configured pair.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(config_path=config_path, read_only=read_only, theme=theme)
    if ctx.invoked_subcommand is None:
        open_console(ctx.obj)


@one_line_errors
def open_console(opts: dict) -> None:
    config = load_config(opts["config_path"])
    try:
        from hatui.ui.app import run_console  # the Textual layer is optional at import time
    except ImportError:
        watch_status(config)
        return
    run_console(config, read_only=opts["read_only"], theme=opts["theme"])


# --- status -------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the versioned JSON document (schema hatui.status/v1).")
@click.option("--watch", is_flag=True, help="Keep polling and redraw (Ctrl-C to stop).")
@click.option("--from", "from_dir", type=click.Path(file_okay=False), help="Read captured outputs from DIR instead of SSH.")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds (exit 3).")
@click.pass_obj
@one_line_errors
def status(opts: dict, as_json: bool, watch: bool, from_dir: str | None, timeout: float | None) -> None:
    """One-shot picture of both nodes; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    if from_dir:
        from hatui.capture import load_capture_config, snapshot_from_dir

        folder = Path(from_dir)
        config = load_capture_config(folder, lambda: load_config(opts["config_path"]))
        snap = snapshot_from_dir(folder, config)
    else:
        config = load_config(opts["config_path"])
        if watch:
            watch_status(config)
            return
        from hatui.poller import poll_once, status_timeout

        limit = timeout if timeout is not None else status_timeout(config)
        try:
            snap = asyncio.run(poll_once(config, limit))
        except (asyncio.TimeoutError, TimeoutError):
            fail(f"no answer from the pair within {limit:g}s")
    if as_json:
        from hatui.status_doc import status_document

        click.echo(json.dumps(status_document(snap), indent=2))
    else:
        from rich.console import Console  # imported only here: a --json check stays lean

        from hatui.render import status_view

        Console().print(status_view(snap))
    sys.exit(severity_rank(snap.verdict))


def watch_status(config: Config) -> None:
    """Redraw `hatui status` every poll interval until Ctrl-C (no Textual needed)."""
    from rich.live import Live

    from hatui.poller import ClusterPoller, status_timeout
    from hatui.render import status_view

    async def loop() -> None:
        poller = ClusterPoller(config)
        try:
            with Live(auto_refresh=False, screen=False) as live:
                while True:
                    snap = await asyncio.wait_for(poller.poll(), status_timeout(config))
                    live.update(status_view(snap), refresh=True)
                    await asyncio.sleep(config.cluster.poll_interval)
        finally:
            await poller.close()

    try:
        asyncio.run(loop())
    except KeyboardInterrupt:
        pass


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
    """Validate the configuration and explain each error with the key that is wrong."""
    path = resolve_config_path(opts["config_path"])
    cfg = load_config(path)
    names = " and ".join(cfg.node_names)
    click.echo(f"{path}: OK: cluster {cfg.cluster.name}, nodes {names}, VIP {cfg.vip.address}, "
               f"DRBD {', '.join(d.resource for d in cfg.drbd)}")


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
    state = paths.state_dir() / "demo"
    config_file = Path(write_config) if write_config else state / "config.toml"
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

    config_path = opts["config_path"] or str(paths.state_dir() / "demo" / "config.toml")
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


# --- actions: failover, failback, resync, timeline, lock (hatui/actions/commands.py) ---------

from hatui.actions.commands import register as _register_actions  # after `main` exists

_register_actions(main)

from hatui.lab.commands import register as _register_lab  # noqa: E402

_register_lab(main)

from hatui.cli_fleet import register as _register_fleet  # noqa: E402  (status --all, --pair, serve, history, demo --pairs)

_register_fleet(main)


if __name__ == "__main__":
    main()
