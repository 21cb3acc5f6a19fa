"""Click commands for actions: failover, failback, resync … (timeline and lock live beside it).

The flow is :class:`hatui.actions.session.ActionSession`'s; this module is its
terminal front end. Registered on the main group by :func:`register`. Exit codes of action commands:

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
import functools
import sys
import time

import click

from hatui.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, one_line_errors
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


class _CliFrontend:
    """The session's front end on a terminal: lines for events, a prompt when a run stops."""

    def __init__(self) -> None:
        self.on_event = _Printer()

    async def after_stop(self, result):
        from hatui.actions.outcome import Choice

        click.echo(f"hatui: {result.summary()}", err=True)
        for line in result.node_states():
            click.echo(f"  {line}", err=True)
        if not _tty():
            click.echo("  → fix the cause, then run the same command again: steps already done are "
                       "skipped (or roll back from the console)", err=True)
            return Choice.LEAVE
        offer = {"r": Choice.RETRY, "b": Choice.ROLLBACK, "l": Choice.LEAVE}
        if not result.status.can_retry:
            offer.pop("r")
        if not result.status.can_roll_back:
            offer.pop("b")
        words = {"r": "[r]etry the step", "b": "roll [b]ack", "l": "[l]eave as is"}
        answer = await asyncio.to_thread(click.prompt, ", ".join(words[k] for k in offer),
                                         type=click.Choice(list(offer)), default="l")
        return offer[answer]

    def on_resume(self, result, choice) -> None:
        click.echo(f"{choice}: {result.plan.kind}")


async def _drive(opts: dict, kind: str, build, *, dry_run: bool, confirm: str | None,
                 acknowledged: tuple[str, ...]) -> int:
    from hatui.actions import Refusal
    from hatui.actions.audit import AuditLog
    from hatui.actions.outcome import RunOutcome
    from hatui.actions.session import ActionSession, Decision
    from hatui.config import load_config
    from hatui.snapshot.poller import ClusterPoller

    config = load_config(opts["config_path"])
    audit = AuditLog(kind, cluster=config.cluster.name)
    poller = ClusterPoller(config)
    session = ActionSession(config, poller.transports, poller, read_only=bool(opts.get("read_only")))
    try:
        limit = config.cluster.connect_timeout + config.cluster.command_timeout + 3
        snapshot = await asyncio.wait_for(poller.poll(), limit)
        try:
            locks = await session.lock_status()
        except TimeoutError:
            locks = None
            click.echo("hatui: the lock status did not answer; the runner checks the lock again", err=True)
        prepared = session.prepare(lambda snap: build(snap, config), snapshot, locks, acknowledged)
        if prepared.plan is None:
            exc = prepared.error
            for line in getattr(exc, "evidence", ()):
                click.echo(f"  ! {line}")
            return _refuse([Refusal("no-plan", exc.reason, exc.hint)], audit, None, confirm)
        plan = prepared.plan
        click.echo("\n".join(plan.describe()))
        if dry_run:
            for r in prepared.refusals:
                click.echo(f"  (would be refused: {r.reason}; {r.hint})")
            click.echo("dry run: nothing was changed")
            return EXIT_OK
        if prepared.refusals:
            return _refuse(prepared.refusals, audit, plan, confirm)
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
        result = await session.run(Decision(plan, confirm, acknowledged), _CliFrontend())
        for problem in result.lock_problems:
            click.echo(f"hatui: {problem}", err=True)
        if result.status == RunOutcome.REFUSED:
            for r in result.refusals:
                click.echo(f"hatui: refused: {r.reason}\n  → {r.hint}", err=True)
            return EXIT_REFUSED
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


def _role_move(fn):
    """The options and the run of a command that moves the active role (failover, failback)."""
    @_dry
    @_confirm
    @_recent
    @_min_age
    @click.pass_obj
    @_errors
    @functools.wraps(fn)
    def command(opts, dry_run, confirm, yes_recent, min_age, **kw):
        from hatui.actions.failover import MIN_ROLE_AGE

        age = MIN_ROLE_AGE if min_age is None else min_age
        _run(opts, fn.__name__, lambda s, c: fn(s, c, min_age=age, **kw),
             dry_run=dry_run, confirm=confirm, acknowledged=_ack(yes_recent))
    return command


@click.command()
@click.option("--to", "target", metavar="NODE", help="The node to make active (default: the standby).")
@_role_move
def failover(snapshot, config, *, min_age, target):
    """Planned switchover of the active role to the other node (guarded, confirmed)."""
    from hatui.actions.failover import plan_failover

    return plan_failover(snapshot, config, target, min_age=min_age)


@click.command()
@_role_move
def failback(snapshot, config, *, min_age):
    """Return the active role to the preferred node (manual only; it must be fully resynced)."""
    from hatui.actions.failover import plan_failback

    return plan_failback(snapshot, config, min_age=min_age)


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


def register(main: click.Group) -> None:
    """Add the action commands (and the timeline and lock commands that go with them) to ``hatui``."""
    from hatui.cli.lock import lock
    from hatui.cli.timeline import timeline

    for command in (failover, failback, resync, timeline, lock):
        main.add_command(command)
