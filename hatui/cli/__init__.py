"""Command line: one module per command group, on the ``hatui`` group defined here.

`hatui` (console: :mod:`hatui.cli.console`), `hatui status` (:mod:`~hatui.cli.status`), `hatui config …`
(:mod:`~hatui.cli.config_cmd`), `hatui demo …` (:mod:`~hatui.cli.demo`), the actions (failover, failback,
resync, timeline, lock: :mod:`~hatui.cli.actions`), `hatui lab …` (:mod:`~hatui.cli.lab`) and the fleet
(`status --all`, `--pair`, serve, history, `demo --pairs`: :mod:`~hatui.cli.fleet`).

Every error the operator can cause or meet (bad config, unreachable node, unknown host key) is turned
into one line on stderr and a non-zero exit (:mod:`hatui.cli.errors`), never a traceback.
"""

from __future__ import annotations

import click

from hatui.cli import actions, fleet, lab
from hatui.cli.config_cmd import config
from hatui.cli.console import open_console
from hatui.cli.demo import demo
from hatui.cli.status import status


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


for _command in (status, config, demo):
    main.add_command(_command)
actions.register(main)
lab.register(main)
fleet.register(main)  # last: it adds --pair/--all/--pairs to the commands above
