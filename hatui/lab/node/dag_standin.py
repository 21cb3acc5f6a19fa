"""``python -m hatui.lab.node.dag_standin [--interval S]``: the lab's Airflow DAG processor stand-in.

What matters for failover is that it needs the replicated filesystem and keeps
using it: it refuses to start (exit 1) without the mount, then every
``--interval`` seconds (1 s) writes ``dag-heartbeat`` = wall time through the
DRBD API and "processes" the replicated data: counts the ``rec-*`` files under
the mount point and writes ``dag-processed`` = that count. Ready file:
``env.units[env.dag_unit].ready_file``, else ``{run_dir}/dag.ready`` (removed on
exit). SIGTERM/SIGINT → exit 0 at once; mount gone → exit 2. A DRBD API error is
logged and retried on the next tick (the device may be briefly busy).
Its working directory is the mount point (the DAGs folder), so ``umount`` is
refused while it runs. ``HATUI_LAB_ASSUME_MOUNTED=1``: see :func:`hatui.lab.node.nfs_standin.mounted`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from hatui.lab.drbd import api as drbd_api
from hatui.lab.node.nfs_standin import count_records, mounted, ready_path
from hatui.lab.node_env import NodeEnv, load_node_env


class _Stop(Exception):
    pass


def _on_signal(signum, frame) -> None:
    raise _Stop()  # leaves time.sleep at once: a stop must not wait for the next tick


def tick(env: NodeEnv) -> int:
    """One processing round: heartbeat, count, record the count. Returns the count."""
    drbd_api_write(env, "dag-heartbeat", f"{time.time():.6f}")
    count = count_records(env.mount_point)
    drbd_api_write(env, "dag-processed", str(count))
    return count


def drbd_api_write(env: NodeEnv, key: str, value: str) -> None:
    """Write through the DRBD API; failures are logged, not fatal."""
    try:
        reply = drbd_api.write(env, key, value)
        if reply.get("rc") != 0:
            print(f"dag stand-in: write {key}: {reply.get('stderr', '').strip()}", file=sys.stderr, flush=True)
    except drbd_api.DrbdApiError as exc:
        print(f"dag stand-in: {exc}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="dag_standin")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    env = load_node_env()
    if not mounted(env.mount_point):
        print(f"dag stand-in: {env.mount_point} is not mounted: no DAGs folder", file=sys.stderr)
        return 1
    os.chdir(env.mount_point)  # the DAGs folder is in use: umount says "target is busy"
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    ready = ready_path(env, env.dag_unit, "dag.ready")
    try:
        open(ready, "w").close()
        print(f"dag stand-in: processing {env.mount_point} every {args.interval:g}s", file=sys.stderr, flush=True)
        while True:
            if not mounted(env.mount_point):
                print(f"dag stand-in: {env.mount_point} is no longer mounted", file=sys.stderr, flush=True)
                return 2
            tick(env)
            time.sleep(args.interval)
    except _Stop:
        return 0
    finally:
        try:
            os.unlink(ready)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
