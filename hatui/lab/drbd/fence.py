"""The lab DRBD emulator's fencing: the resource's policy and handlers, run the way DRBD runs them.

The shared machine (:mod:`hatui.emulator.drbd_fencing`) decides *when* a handler
runs and what its exit code means; this module gives the lab daemon the parts
that touch the node: the fencing policy and handler command lines come from
the node's DRBD resource file (rendered from the node kit's
``drbd-fencing.res.in``, so the lab runs exactly the kit's handler), and each
handler runs as a real program (``/bin/sh -c COMMAND`` with DRBD's environment:
``DRBD_RESOURCE``, ``DRBD_MINOR``, ``DRBD_MY_NODE_ID``, ``DRBD_PEER_NODE_ID``,
``DRBD_NODE_ID_<n>``), which reaches the peer over the public network by SSH.

DRBD waits for the handler with I/O suspended; the lab bounds the wait at
:data:`HELPER_TIMEOUT` and counts a handler that did not finish as exit 5
(peer unreachable), which keeps I/O suspended: the safe side.

Also here, because they exist only for fencing's sake: an application write
that arrives while I/O is suspended waits (as the block layer would) up to
:data:`SUSPENDED_WRITE_WAIT`, then fails unacknowledged; and ``drbdadm primary``
on a disconnected node first runs fence-peer, blocking the command as DRBD's does.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Callable

from hatui.emulator.drbd_fencing import POLICIES, FencingConfig, HelperCall
from hatui.lab.drbd.store import LabDrbdMachine
from hatui.lab.drbd.wire import log

HELPER_TIMEOUT = 30.0
SUSPENDED_WRITE_WAIT = 1.5  # below the API clients' 2 s timeout: the write fails, unacknowledged
_FENCING = re.compile(r"^\s*fencing\s+([A-Za-z-]+)\s*;", re.M)
_HANDLER = re.compile(r'^\s*(fence-peer|unfence-peer)\s+"((?:[^"\\]|\\.)*)"\s*;', re.M)


def load_fencing(path: str | os.PathLike | None) -> FencingConfig:
    """The fencing policy and handlers of the resource file at ``path`` (dont-care when there is none)."""
    if not path or not Path(path).is_file():
        return FencingConfig()
    text = re.sub(r"#[^\n]*", "", Path(path).read_text())
    policy = _FENCING.search(text)
    handlers = {name: re.sub(r"\\(.)", r"\1", cmd) for name, cmd in _HANDLER.findall(text)}
    if policy and policy.group(1) not in POLICIES:
        raise ValueError(f"{path}: unknown fencing policy {policy.group(1)!r} (one of {', '.join(POLICIES)})")
    return FencingConfig(policy.group(1) if policy else "dont-care", handlers.get("fence-peer"),
                         handlers.get("unfence-peer"))


def helper_env(m: LabDrbdMachine, call: HelperCall) -> dict[str, str]:
    """The environment DRBD gives a handler."""
    env = dict(os.environ)
    env.update({"DRBD_RESOURCE": call.resource, "DRBD_MINOR": str(m.minor), "DRBD_VOLUME": "0",
                "DRBD_MY_NODE_ID": str(m.node(call.node).node_id), "DRBD_PEER_NODE_ID": str(m.node(call.peer).node_id)})
    for node in m.nodes.values():
        env[f"DRBD_NODE_ID_{node.node_id}"] = node.name
    return env


async def run_handler(m: LabDrbdMachine, call: HelperCall, timeout: float = HELPER_TIMEOUT) -> int:
    """Run one handler; its exit code (5 if it is not configured, cannot start or does not finish)."""
    if not call.command:
        log(f"{call.node}: {call.helper} handler not configured (handlers {{ {call.helper} ...; }}): exit 5")
        return 5
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", call.command, env=helper_env(m, call),
                                                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        log(f"{call.node}: {call.helper} could not start ({exc}): exit 5")
        return 5
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        rc = proc.returncode if proc.returncode is not None else 5
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        out, rc = b"(killed: no answer within %d s)" % timeout, 5
    text = out.decode(errors="replace").strip().replace("\n", " | ")
    log(f"{call.node}: {call.helper} ({call.command}) exit {rc} after {time.monotonic() - started:.1f} s"
        f"{': ' + text[:400] if text else ''}")
    return rc if rc >= 0 else 5


class FenceRunner:
    """The node's handler runs, as DRBD makes them: for this node's calls only, I/O suspended meanwhile.

    Given the machine, this node's name and what to do once a handler finished (persist the
    node's state); it keeps the running handlers itself.
    """

    def __init__(self, m: LabDrbdMachine, local: str, *, after_handler: Callable[[], None]) -> None:
        self.m, self.local, self.after_handler = m, local, after_handler
        self.tasks: set[asyncio.Task] = set()

    def start_helpers(self) -> None:
        """Run the handlers the machine asked for on this node (calls for the peer's copy are the peer's)."""
        for call in self.m.take_helper_calls():
            if call.node == self.local:
                task = asyncio.get_running_loop().create_task(self.run_helper_call(call))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def run_helper_call(self, call: HelperCall) -> int:
        rc = await run_handler(self.m, call)
        self.m.now = max(self.m.now, time.monotonic())
        self.m.helper_done(call, rc)
        self.after_handler()
        return rc

    async def wait_resumed(self, timeout: float = SUSPENDED_WRITE_WAIT) -> None:
        """A write on suspended I/O waits for the resume (or fails after ``timeout``, unacknowledged)."""
        deadline = time.monotonic() + timeout
        while self.m.suspended(self.local) is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def fence_before_promote(self) -> None:
        """``drbdadm primary`` on a disconnected node with fencing: run fence-peer first, and wait for it."""
        if not self.m.promote_needs_fencing(self.local):
            return
        call = self.m.call_helper(self.local, "fence-peer")
        self.m.helper_calls.remove(call)
        self.start_helpers()
        await self.run_helper_call(call)
