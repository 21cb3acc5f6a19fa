"""`hatui timeline`: saved action timelines, and (`--auto`) the latest incident's story."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from hatui.cli.errors import EXIT_FAILED


@click.command("timeline")
@click.argument("ident", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--auto", is_flag=True, help="Poll the pair and show the latest incident: node journals and saved action timelines, one story with one T+0.")
@click.pass_obj
def timeline(opts, ident, as_json, auto):
    """List saved action timelines, or show one (ID or a prefix of it)."""
    from hatui.timelines.saved import (
        find_timeline,
        list_timelines,
        row_from_dict,
        summary_line,
    )

    if auto:
        _auto_timeline(opts, as_json)
        return
    if ident is None:
        docs = list_timelines()
        if as_json:
            click.echo(json.dumps(docs, indent=2, default=str))
        elif not docs:
            click.echo("no timelines yet (they are written by failover, failback and resync)")
        for doc in [] if as_json else docs:
            click.echo(summary_line(doc))
        return
    doc = find_timeline(ident)
    if doc is None:
        click.echo(f"hatui: no timeline {ident!r} (see `hatui timeline`)", err=True)
        sys.exit(EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    click.echo(summary_line(doc))
    click.echo(f"  {doc['header'].get('title', '')}")
    for rec in doc["steps"]:
        click.echo("  " + row_from_dict(rec).line())


def _auto_timeline(opts, as_json: bool) -> None:
    """The latest incident's story: the node journals (polled now) merged with saved action timelines."""
    from hatui.timelines.journal import journal_entries
    from hatui.config import load_config
    from hatui.errors import HatuiError
    from hatui.timelines.incident import build_incidents, row_line
    from hatui.snapshot.poller import poll_once, status_timeout
    from hatui.timelines.saved import list_timelines, saved_entries

    try:
        config = load_config(opts.get("config_path"))
        snap = asyncio.run(poll_once(config, status_timeout(config)))
    except HatuiError as exc:
        click.echo(f"hatui: {exc}", err=True)
        sys.exit(3)
    entries = [e for doc in list_timelines() for e in saved_entries(doc)]
    for node in snap.nodes:
        if node.reachable and node.journal:
            peer = snap.peer_of(node.name)
            skew = node.clock - node.polled_at if node.clock and node.polled_at else 0.0
            entries += journal_entries(node.journal, config.timing, peer=peer.name,
                                       peer_entries=peer.journal if peer.reachable else (),
                                       priority=node.vrrp.effective_priority if node.vrrp else None, skew=skew)
    _, incidents = build_incidents(entries)
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in incidents], indent=2, default=str))
        return
    if not incidents:
        click.echo("no incident in the node journals or saved timelines (is the node kit installed?)")
        return
    latest = incidents[-1]
    click.echo(f"latest incident ({len(incidents)} in all, --json lists them): {latest.header().step[3:]}")
    click.echo(f"  {latest.header().note} (budgets: the seed's sequence, see README)")
    for row in latest.rows:
        click.echo("  " + row_line(row))
