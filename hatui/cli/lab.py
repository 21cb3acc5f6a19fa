"""``hatui lab …``: click commands for the network-namespace lab (root, Linux)."""

from __future__ import annotations

import json
import sys

import click

from hatui.cli.errors import one_line_errors


def _lab(opts: dict):
    from hatui.lab.host.lab import Lab

    return Lab(opts.get("lab_dir"))


@click.group("lab")
@click.option("--dir", "lab_dir", default=None, metavar="DIR",
              help="Where the lab keeps its files (default: $HATUI_LAB_DIR, then /var/lib/hatui-lab).")
@click.pass_obj
def lab(opts: dict, lab_dir: str | None) -> None:
    """The real lab: two network namespaces with real sshd and keepalived (root, Linux)."""
    opts["lab_dir"] = lab_dir


@lab.command("up")
@click.option("--client/--no-client", default=True, help="Start the client writing through the VIP.")
@click.pass_obj
@one_line_errors
def lab_up(opts: dict, client: bool) -> None:
    """Build and boot the pair; writes DIR/config.toml for hatui."""
    from hatui.lab.host.kit import KitError
    from hatui.lab.host.netns import LabError

    lab_ = _lab(opts)
    try:
        path = lab_.up(log=lambda line: click.echo(line, err=True))
    except (LabError, KitError, OSError) as exc:
        if lab_.state():  # it had started making things: remove them
            click.echo("hatui: lab up failed; cleaning up what it made", err=True)
            lab_.down(log=lambda line: None)
        if isinstance(exc, KitError):
            raise LabError(f"lab up: {exc}") from None
        raise
    if client:
        lab_.client_start()
    click.echo(str(path))


@lab.command("down")
@click.pass_obj
@one_line_errors
def lab_down(opts: dict) -> None:
    """Remove every namespace, link, loop device, process and file the lab made."""
    _lab(opts).down(log=lambda line: click.echo(line, err=True))


@lab.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable.")
@click.pass_obj
@one_line_errors
def lab_status(opts: dict, as_json: bool) -> None:
    """What the lab made and what runs on each node; exit 0 up, 1 down."""
    from hatui.lab.host import status

    doc = status.report(_lab(opts))
    click.echo(status.as_json(doc) if as_json else status.render(doc))
    sys.exit(0 if doc["up"] else 1)


@lab.command("fault")
@click.argument("kind")
@click.argument("node", required=False)
@click.argument("unit", required=False)
@click.pass_obj
@one_line_errors
def lab_fault(opts: dict, kind: str, node: str | None, unit: str | None) -> None:
    """Inject a fault: KIND [NODE] [UNIT].

    KIND: crash, restore, cut-link, heal-link, partition, heal, stop-service,
    start-service, kill-service, stop-keepalived, start-keepalived, block-vrrp,
    unblock-vrrp, split-brain, hang, unhang, drop.
    """
    from hatui.lab.host.faults import inject

    click.echo(inject(_lab(opts), kind, node, unit))


@lab.command("client")
@click.argument("verb", type=click.Choice(["start", "stop", "report"]))
@click.pass_obj
@one_line_errors
def lab_client(opts: dict, verb: str) -> None:
    """The client in the client namespace: start, stop, or report acks and outages."""
    lab_ = _lab(opts)
    if verb == "start":
        click.echo(f"client started (pid {lab_.client_start()}), log {lab_.client_log}")
    elif verb == "stop":
        lab_.client_stop()
        click.echo("client stopped")
    else:
        events = []
        if lab_.client_log.exists():
            for line in lab_.client_log.read_text().splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        acks = [e for e in events if e.get("event") == "ack"]
        outages = [e for e in events if e.get("event") == "outage"]
        click.echo(f"acknowledged writes: {len(acks)}" + (f" (last seq {acks[-1]['seq']})" if acks else ""))
        for o in outages:
            click.echo(f"outage: {o['seconds']:.2f} s ({o.get('failed_attempts', '?')} failed attempts)")
        if not outages:
            click.echo("no outage seen")


def register(main: click.Group) -> None:
    main.add_command(lab)
