"""Fleet commands on the command line: ``status --all``, ``--pair NAME``, ``serve``, ``history``, ``demo --pairs``.

Registered on the ``hatui`` group by :func:`register` (in :mod:`hatui.cli`), so
the single-pair commands stay as they are: ``--all`` and ``--pair`` are added to the
existing ``status`` command, ``--pair`` to every command that acts on one pair, and
``--pairs`` to ``demo``; each wrapper hands over to the original command when its new
option is not used. ``--pair NAME`` only chooses which pair file the command reads (the
pair whose ``cluster.name`` is NAME in the fleet given by ``--config``).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from hatui import paths
from hatui.cli.errors import fail, one_line_errors

PAIR_HELP = "The pair to act on (its cluster.name in the fleet folder given by --config)."


def _obj() -> dict:
    return click.get_current_context().find_object(dict)


def _choose_pair(name: str) -> None:
    from hatui.fleet import pair_config_path

    obj = _obj()
    obj["config_path"] = str(pair_config_path(obj.get("config_path"), name))


def _wrap(command: click.Command, options: list[click.Option], before) -> None:
    """Add ``options`` to ``command``; ``before(**their values)`` runs first and may take over (returns True)."""
    command.params.extend(options)
    names = [o.name for o in options]
    inner = command.callback

    @functools.wraps(inner)
    @one_line_errors
    def callback(*args, **kwargs):
        mine = {n: kwargs.pop(n) for n in names}
        if before(kwargs, **mine):
            return None
        return inner(*args, **kwargs)

    command.callback = callback


def _pair_option() -> click.Option:
    return click.Option(["--pair"], metavar="NAME", default=None, help=PAIR_HELP)


def _add_pair(command: click.Command) -> None:
    if isinstance(command, click.Group):  # every leaf: `hatui resync reconnect --pair P`
        for sub in command.commands.values():
            _add_pair(sub)
        return

    def before(_kwargs, pair):
        if pair is not None:
            _choose_pair(pair)
        return False

    _wrap(command, [_pair_option()], before)


# --- status --all ----------------------------------------------------------------------------


def _status_before(kwargs: dict, all_pairs: bool, pair: str | None) -> bool:
    if pair is not None:
        _choose_pair(pair)
    if not all_pairs:
        return False
    if kwargs.get("watch") or kwargs.get("from_dir"):
        fail("--all polls every pair once; --watch and --from work on one pair (--pair NAME)")
    import asyncio

    from hatui.fleet import load_fleet
    from hatui.fleet.status import exit_code, poll_fleet, summary_json, table

    results = asyncio.run(poll_fleet(load_fleet(_obj().get("config_path")), kwargs.get("timeout")))
    if kwargs.get("as_json"):
        click.echo(json.dumps([summary_json(r) for r in results], indent=2, default=str))
    else:
        click.echo("\n".join(table([r.summary for r in results])))
    sys.exit(exit_code([r.summary for r in results]))


# --- demo --pairs N ----------------------------------------------------------------------------


def _demo_before(kwargs: dict, pairs: int | None) -> bool:
    ctx = click.get_current_context()
    if pairs is None or ctx.invoked_subcommand is not None:
        return False
    state = paths.state_dir() / "demo"
    folder = Path(kwargs["write_config"]) if kwargs.get("write_config") else state / "fleet"
    if kwargs.get("headless"):
        from hatui.demo.fleet import run_headless_fleet

        sys.exit(run_headless_fleet(pairs, folder, state / "fleet-keys", kwargs["time_scale"]))
    from hatui.cli.console import open_console
    from hatui.demo.fleet import FleetThread

    fleet = FleetThread(pairs, folder, state / "fleet-keys", kwargs["time_scale"])
    # More than one pair: the console opens the fleet overview (one pair: that pair's screen).
    click.echo(f"hatui demo: {pairs} simulated pairs in {folder}", err=True)
    try:
        open_console(dict(ctx.obj, config_path=str(folder)))
    finally:
        fleet.stop()
    return True


# --- serve and history -------------------------------------------------------------------------


@click.command()
@click.option("--listen", default="127.0.0.1:9860", show_default=True, metavar="HOST:PORT",
              help="Where /metrics listens (loopback by default; port 0 picks a free one).")
@click.option("--history", "history_path", type=click.Path(dir_okay=False), default=None,
              help="History database (default: $HATUI_HISTORY, else history.sqlite in the state folder).")
@click.option("--no-history", is_flag=True, help="Keep no history.")
@click.option("--keep-days", type=click.FloatRange(0.01, 3650), default=30.0, show_default=True,
              help="Forget history older than this.")
@click.option("--max-mb", type=click.FloatRange(1, 100_000), default=200.0, show_default=True,
              help="Bound on the history's size.")
@click.option("--audit", "audit_path", type=click.Path(dir_okay=False), default=None,
              help="Audit log whose action runs are counted (default: this user's audit.jsonl).")
@click.pass_obj
@one_line_errors
def serve(opts: dict, listen: str, history_path: str | None, no_history: bool, keep_days: float, max_mb: float,
          audit_path: str | None) -> None:
    """Poll every configured pair and serve Prometheus /metrics (read-only; SIGHUP reloads, SIGTERM stops)."""
    from hatui.actions.audit import audit_path as default_audit
    from hatui.history.store import default_path
    from hatui.service.serve import ServeOptions, run_serve

    history = None if no_history else Path(history_path) if history_path else default_path()
    options = ServeOptions(config=opts.get("config_path"), listen=listen, history=history, keep_days=keep_days,
                           max_mb=max_mb, audit=Path(audit_path) if audit_path else default_audit())
    sys.exit(run_serve(options))


@click.command()
@click.option("--pair", default=None, metavar="NAME", help="Only this pair.")
@click.option("--since", default=None, metavar="TIME", help="From TIME: 2h, 30m, 1d (ago), 03:12 or ISO. Default 24h.")
@click.option("--until", default=None, metavar="TIME", help="Up to TIME.")
@click.option("--node", default=None, metavar="NODE", help="Only this node.")
@click.option("--layer", default=None, metavar="LAYER",
              help="vip, keepalived, nfs, dag, mount, drbd, replication, disk, node, cluster, failover, action (drbd also matches drbd:r0).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the newest N events.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of events.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None, help="History database (default as for serve).")
@one_line_errors
def history(pair, since, until, node, layer, limit, as_json, db_path) -> None:
    """What happened: state changes, findings raised and cleared, automatic failovers, actions."""
    from hatui.history.query import line, parse_time, read
    from hatui.history.store import default_path

    events = read(Path(db_path) if db_path else default_path(), pair=pair, node=node, layer=layer, limit=limit,
                  since=parse_time(since or "24h"), until=parse_time(until) if until else None)
    if as_json:
        click.echo(json.dumps(events, indent=2))
    elif not events:
        click.echo("no events in that window (widen it with --since)")
    else:
        click.echo("\n".join(line(e) for e in events))


def register(main: click.Group) -> None:
    """Add the fleet commands and options to the ``hatui`` group (after every other command is there)."""
    for param in main.params:  # --config may name a fleet folder too
        if param.name == "config_path" and isinstance(param, click.Option):
            param.type = click.Path()
            param.help = (param.help or "").rstrip(".") + "; or a folder of pair files (a fleet)."
    _wrap(main.commands["status"], [
        click.Option(["--all", "all_pairs"], is_flag=True, help="One line per pair of the fleet; exit code of the worst."),
        _pair_option()], _status_before)
    demo = main.commands["demo"]
    _wrap(demo, [click.Option(["--pairs"], type=click.IntRange(1, 500), default=None,
                              help="Simulate a fleet of N pairs (--write-config is then a folder).")], _demo_before)
    for name in ("failover", "failback", "resync", "timeline", "lock"):
        if name in main.commands:
            _add_pair(main.commands[name])
    _add_pair(demo.commands["fault"])  # type: ignore[attr-defined]
    _add_pair(main.commands["config"].commands["check"])  # type: ignore[attr-defined]
    main.add_command(serve)
    main.add_command(history)
