"""Click commands for actions: failover, failback, resync …, timeline, lock.

Registered on the main group by :func:`register` (called at the end of
``hatui/cli.py``). Exit codes of action commands:

* 0: done (or ``--dry-run`` printed the plan);
* 1: a step failed (the plan stopped there) or the operator cancelled;
* 2: refused before anything ran (a guard, ``--read-only``, the lock, a
  confirmation that does not match, no ``--confirm`` without a TTY);
* 3: config or transport trouble before a plan could be made.

Confirmation: the operator types the target node's name (for a split brain,
the victim's). On a TTY hatui asks; without one it never prompts and needs
``--confirm NODE``. Every outcome, refusals included, goes to the audit log.
Heavy imports (asyncssh, the runner) happen inside the commands so ``hatui
--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import click

from hatui.cli.errors import one_line_errors

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_UNKNOWN = 0, 1, 2, 3
PROGRESS_EVERY = 2.0  # seconds between progress lines


_errors = one_line_errors  # config/transport errors → one line and exit 3


def _tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


class _Printer:
    """Turns runner events into lines (throttled progress)."""

    def __init__(self) -> None:
        self._last_progress = 0.0

    def __call__(self, event) -> None:
        if event.kind == "step-end" and event.row is not None:
            click.echo(event.row.line())
        elif event.kind == "progress" and time.monotonic() - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = time.monotonic()
            pct = "?" if event.percent is None else f"{event.percent:.1f}%"
            eta = "" if event.eta_seconds is None else f", ETA {int(event.eta_seconds) // 60}:{int(event.eta_seconds) % 60:02d}"
            click.echo(f"    … {event.step.progress}: {pct} in sync{eta}")


def _refuse(refusals, audit=None, plan=None, confirm=None) -> int:
    for r in refusals:
        click.echo(f"hatui: refused: {r.reason}", err=True)
        if r.hint:
            click.echo(f"  → {r.hint}", err=True)
    if audit is not None:
        import dataclasses

        audit.record("refused", plan=plan.to_dict() if plan else None, confirmation=confirm,
                     refusals=[dataclasses.asdict(r) for r in refusals])
    return EXIT_REFUSED


async def _drive(opts: dict, kind: str, build, *, dry_run: bool, confirm: str | None,
                 acknowledged: tuple[str, ...]) -> int:
    from hatui.actions import ActionRunner, PlanError, Refusal, preflight
    from hatui.actions.audit import AuditLog
    from hatui.actions.lock import NodeLocks
    from hatui.config import load_config
    from hatui.snapshot.poller import ClusterPoller

    config = load_config(opts["config_path"])
    read_only = bool(opts.get("read_only"))
    audit = AuditLog(kind)
    poller = ClusterPoller(config)
    result = None
    try:
        limit = config.cluster.connect_timeout + config.cluster.command_timeout + 3
        snapshot = await asyncio.wait_for(poller.poll(), limit)
        try:
            plan = build(snapshot, config)
        except PlanError as exc:
            for line in getattr(exc, "evidence", ()):
                click.echo(f"  ! {line}")
            return _refuse([Refusal("no-plan", exc.reason, exc.hint)], audit, None, confirm)
        click.echo("\n".join(plan.describe()))
        locks = await NodeLocks(config, poller.transports).status_all()
        refusals = preflight(plan, snapshot, read_only=read_only, locks=locks, acknowledged=acknowledged)
        if dry_run:
            for r in refusals:
                click.echo(f"  (would be refused: {r.reason}; {r.hint})")
            click.echo("dry run: nothing was changed")
            return EXIT_OK
        if refusals:
            return _refuse(refusals, audit, plan, confirm)
        if confirm is None:
            if not _tty():
                return _refuse([Refusal("no-confirmation", "no terminal to confirm on",
                                        f"Pass --confirm {plan.confirm_node} to run without a prompt.")],
                               audit, plan, None)
            typed = await asyncio.to_thread(click.prompt, f"Type {plan.confirm_node!r} to go ahead "
                                            "(anything else cancels)", default="", show_default=False)
            if typed.strip() != plan.confirm_node:
                audit.record("cancelled", plan=plan.to_dict(), confirmation=typed)
                click.echo("cancelled: nothing was changed")
                return EXIT_FAILED
            confirm = typed.strip()
        runner = ActionRunner(config, poller.transports, poller, read_only=read_only, acknowledged=acknowledged)
        printer = _Printer()
        result = await runner.run(plan, confirm=confirm, on_event=printer)
        if result.status == "refused":
            for r in result.refusals:
                click.echo(f"hatui: refused: {r.reason}\n  → {r.hint}", err=True)
            return EXIT_REFUSED
        while result.status in ("failed", "rollback-failed", "rollback-refused"):
            click.echo(f"hatui: {result.summary()}", err=True)
            for line in result.node_states():
                click.echo(f"  {line}", err=True)
            if not _tty():
                click.echo("  → fix the cause, then run the same command again: steps already done are "
                           "skipped (or roll back from the console)", err=True)
                break
            choice = await asyncio.to_thread(click.prompt, "[r]etry the step, roll [b]ack, or [l]eave as is",
                                             type=click.Choice(["r", "b", "l"]), default="l")
            if choice == "l":
                break
            result = await (result.retry(on_event=printer) if choice == "r" else result.rollback(on_event=printer))
        if result.ok:
            click.echo(result.summary())
            if plan.kind == "resync-verify" and result.snapshot is not None:
                from hatui.actions.resync import out_of_sync_report

                for line in out_of_sync_report(result.snapshot, config):
                    click.echo(f"  {line}")
        if result.timeline is not None:
            click.echo(f"timeline {result.timeline.id} ({result.timeline.path})")
        return EXIT_OK if result.ok else EXIT_FAILED
    finally:
        if result is not None and result.lock_held:
            for problem in await result.release():
                click.echo(f"hatui: {problem}", err=True)
        await poller.close()


def _run(opts: dict, kind: str, build, **kw) -> None:
    sys.exit(asyncio.run(_drive(opts, kind, build, **kw)))


_dry = click.option("--dry-run", is_flag=True, help="Print the plan (every step, node and command) and exit 0.")
_confirm = click.option("--confirm", metavar="NODE", help="Confirm without a prompt: the target node's name.")
_recent = click.option("--yes-recent", is_flag=True, help="Acknowledge that the last role change was recent.")
_min_age = click.option("--min-age", type=float, default=None, metavar="SECONDS",
                        help="Warn when the last role change is more recent than this (default 300).")


def _ack(yes_recent: bool) -> tuple[str, ...]:
    return ("recent-role-change",) if yes_recent else ()


@click.command()
@click.option("--to", "target", metavar="NODE", help="The node to make active (default: the standby).")
@_dry
@_confirm
@_recent
@_min_age
@click.pass_obj
@_errors
def failover(opts, target, dry_run, confirm, yes_recent, min_age):
    """Planned switchover of the active role to the other node (guarded, confirmed)."""
    from hatui.actions.failover import MIN_ROLE_AGE, plan_failover

    age = MIN_ROLE_AGE if min_age is None else min_age
    _run(opts, "failover", lambda s, c: plan_failover(s, c, target, min_age=age),
         dry_run=dry_run, confirm=confirm, acknowledged=_ack(yes_recent))


@click.command()
@_dry
@_confirm
@_recent
@_min_age
@click.pass_obj
@_errors
def failback(opts, dry_run, confirm, yes_recent, min_age):
    """Return the active role to the preferred node (manual only; it must be fully resynced)."""
    from hatui.actions.failover import MIN_ROLE_AGE, plan_failback

    age = MIN_ROLE_AGE if min_age is None else min_age
    _run(opts, "failback", lambda s, c: plan_failback(s, c, min_age=age),
         dry_run=dry_run, confirm=confirm, acknowledged=_ack(yes_recent))


@click.group()
def resync():
    """Guided DRBD resync flows: reconnect, split-brain, full, verify."""


def _resync_command(kind: str, doc: str):
    @_dry
    @_confirm
    @click.pass_obj
    @_errors
    def command(opts, dry_run, confirm):
        from hatui.actions.resync import plan_resync

        _run(opts, f"resync-{kind}", lambda s, c: plan_resync(kind, s, c), dry_run=dry_run, confirm=confirm,
             acknowledged=())

    command.__doc__ = doc
    return resync.command(kind)(command)


_resync_command("reconnect", "Reconnect after a replication link loss and wait until both are UpToDate.")
_resync_command("full", "Full resync of the Secondary (drbdadm invalidate): its local data is thrown away.")
_resync_command("verify", "Online verify from the Primary (drbdadm verify); reports blocks out of sync.")


@resync.command("split-brain")
@click.option("--victim", metavar="NODE", help="The node whose changes since the split are DISCARDED.")
@_dry
@_confirm
@click.pass_obj
@_errors
def resync_split_brain(opts, victim, dry_run, confirm):
    """Resolve a split brain: shows both sides, then discards the victim's changes."""
    from hatui.actions.plan import PlanError
    from hatui.actions.resync import plan_resync, split_brain_evidence

    def build(snapshot, config):
        try:
            return plan_resync("split-brain", snapshot, config, victim)
        except PlanError as exc:
            exc.evidence = split_brain_evidence(snapshot, config)  # type: ignore[attr-defined]
            raise

    _run(opts, "resync-split-brain", build, dry_run=dry_run, confirm=confirm, acknowledged=())


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
        if node not in config.node_names:
            click.echo(f"hatui: no node named {node!r} (one of {', '.join(config.node_names)})", err=True)
            return EXIT_REFUSED
        before = await locks.break_lock(node)
        audit.record("lock-break", node=node, was=before.describe())
        click.echo(f"{node}: removed ({before.describe()})" if before.held else f"{node}: no lock to remove")
        return EXIT_OK

    sys.exit(asyncio.run(_locks(opts, brk)))


def register(main: click.Group) -> None:
    """Add the action commands to the ``hatui`` group."""
    for command in (failover, failback, resync, timeline, lock):
        main.add_command(command)


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
