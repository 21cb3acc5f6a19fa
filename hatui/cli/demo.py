"""`hatui demo` (a simulated pair with its own state folder, and the console on it) and
`hatui demo fault KIND …` (inject a fault into a running demo)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from hatui.config import load_config
from hatui.errors import HatuiError

from hatui.cli.console import open_console
from hatui.cli.errors import one_line_errors


@click.group(invoke_without_command=True)
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
