"""`hatui lock status|break`: the action lock held on both nodes while an action runs."""

from __future__ import annotations

import asyncio
import sys

import click

from hatui.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_UNKNOWN, one_line_errors as _errors


@click.group("lock")
def lock():
    """Show or break the action lock held on both nodes while an action runs."""


async def _locks(opts, fn):
    from hatui.actions.lock import NodeLocks
    from hatui.config import load_config
    from hatui.transport import NodeTransport

    config = load_config(opts["config_path"])
    transports = {n.name: NodeTransport(n, config.cluster) for n in config.nodes}
    try:
        return await fn(config, NodeLocks(config, transports))
    finally:
        await asyncio.gather(*(t.close() for t in transports.values()))


@lock.command("status")
@click.pass_obj
@_errors
def lock_status(opts):
    """Who holds the lock on each node, for how long; exit 0 free, 1 held, 3 unknown."""
    async def show(config, locks):
        statuses = await locks.status_all()
        for st in statuses.values():
            click.echo(st.describe())
        if any(st.error for st in statuses.values()):
            return EXIT_UNKNOWN
        return EXIT_FAILED if any(st.held for st in statuses.values()) else EXIT_OK

    sys.exit(asyncio.run(_locks(opts, show)))


@lock.command("break")
@click.option("--confirm", "node", required=True, metavar="NODE", help="The node whose lock to remove.")
@click.pass_obj
@_errors
def lock_break(opts, node):
    """Remove the lock on NODE, whoever holds it (only when no action is running)."""
    from hatui.actions.audit import AuditLog

    audit = AuditLog("lock-break")
    if opts.get("read_only"):
        audit.record("refused", node=node, refusals=["read-only"])
        click.echo("hatui: refused: hatui runs with --read-only: actions are off", err=True)
        sys.exit(EXIT_REFUSED)

    async def brk(config, locks):
        audit.cluster = config.cluster.name
        if node not in config.node_names:
            click.echo(f"hatui: no node named {node!r} (one of {', '.join(config.node_names)})", err=True)
            return EXIT_REFUSED
        before = await locks.break_lock(node)
        audit.record("lock-break", node=node, was=before.describe())
        click.echo(f"{node}: removed ({before.describe()})" if before.held else f"{node}: no lock to remove")
        return EXIT_OK

    sys.exit(asyncio.run(_locks(opts, brk)))
