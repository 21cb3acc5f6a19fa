"""Which probes a poll runs, built from the validated config.

Each probe's command text is assembled from fixed words plus config values that
config.py has already restricted to plain words; every value still goes through
:func:`shlex.join`, so quoting never depends on validation alone. Section names
are stable: ``hatui status --from DIR`` reads files with the same names.
"""

from __future__ import annotations

import shlex

from hatui.config import Config
from hatui.probes.script import Probe

# Per-probe bound inside the node script: a hung drbdsetup or systemctl must not
# eat the whole poll; the transport's command timeout bounds the script itself.
PROBE_TIMEOUT = 5

DRBD = "drbd"
DRBD_CONFIG = "drbdconf"  # drbdsetup show / drbdadm dump: the fencing policy
# The DRBD configuration changes only when an operator edits it and runs `drbdadm adjust`, so a poll
# reads it on the first poll of each connection and then every DRBD_CONFIG_EVERY polls of that node
# (the poller keeps the last reading in between). On a real node `drbdsetup show` is a cheap netlink
# query, but it is still a process per poll for a fact that practically never moves; the DRBD state
# itself (`drbd`) stays in every poll: it is the reconcile that catches what a stream missed.
DRBD_CONFIG_EVERY = 30
IP = "ip"
KEEPALIVED = "keepalived"
UNITS = "units"
EXPORTS = "exports"
CLUSTER_STACK = "clusterstack"
CLOCK = "clock"
DAG_HEALTH = "dag_health"
JOURNAL = "journal"

NODE_JOURNAL_PATH = "/var/lib/hatui/journal.jsonl"
JOURNAL_LINES = 200


def mount_section(resource: str) -> str:
    return f"mount.{resource}"


def disk_section(resource: str) -> str:
    return f"disk.{resource}"


def _cmd(config: Config, *words: str, timeout: bool = True) -> str:
    prefix = config.cluster.prefix_words
    bound = ("timeout", "-k", "1", str(PROBE_TIMEOUT)) if timeout else ()
    return shlex.join([*bound, *prefix, *words])


def unit_names(config: Config) -> tuple[str, ...]:
    """The systemd units polled, in a fixed order."""
    return (
        config.keepalived.unit,
        config.services.nfs.unit,
        config.services.dag_processor.unit,
    )


def poll_probes(config: Config, *, include_slow: bool, include_config: bool = True) -> list[Probe]:
    """The probes of one poll cycle; ``include_slow`` adds the DAG health command, ``include_config``
    (default) the DRBD configuration dump (see :data:`DRBD_CONFIG_EVERY`)."""
    probes = [
        Probe(DRBD, (
            _cmd(config, "drbdsetup", "status", "--json"),
            _cmd(config, "drbdadm", "status"),
            _cmd(config, "cat", "/proc/drbd"),
        )),
        Probe(IP, (_cmd(config, "ip", "-j", "addr", "show", timeout=False),)),
        Probe(KEEPALIVED, ("_ka_json",)),
        Probe(UNITS, (_cmd(
            config, "systemctl", "show", "-p",
            "Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp",
            *unit_names(config),
        ),)),
        Probe(EXPORTS, (_cmd(config, "exportfs", "-v"),)),
        # procps-ng warns on stderr that a pattern over 15 characters "will result in zero
        # matches", yet matches each alternative: keep the warning out of the section.
        Probe(CLUSTER_STACK, (shlex.join(["pgrep", "-l", "-x", "pacemakerd|corosync"]) + " 2>/dev/null",)),
        Probe(CLOCK, ("date +%s.%N",)),
        # The node kit's notify scripts append their automatic steps here; an
        # absent file (no kit installed) is a normal, quiet case.
        Probe(JOURNAL, (shlex.join(["tail", "-n", str(JOURNAL_LINES), NODE_JOURNAL_PATH]),)),
    ]
    if include_config:
        probes.insert(1, Probe(DRBD_CONFIG, (_cmd(config, "drbdsetup", "show"), _cmd(config, "drbdadm", "dump"))))
    for res in config.drbd:
        probes.append(Probe(mount_section(res.resource), (_cmd(
            config, "findmnt", "-J", "-o", "TARGET,SOURCE,FSTYPE,OPTIONS", "--mountpoint", res.mount_point,
        ),)))
        if res.backing_disk:
            probes.append(Probe(disk_section(res.resource), (_cmd(
                config, "lsblk", "-J", "-b", "-o", "NAME,PATH,TYPE,SIZE,RO,STATE,MOUNTPOINT", res.backing_disk,
            ),)))
    dag = config.services.dag_processor
    if include_slow and dag.health_command:
        # The operator's own command, run as written (documented in README).
        probes.append(Probe(DAG_HEALTH, (dag.health_command,)))
    return probes
