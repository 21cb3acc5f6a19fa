"""The action lock, held on BOTH nodes while an action runs.

Two operators (or the console and a cron'd ``hatui failover``) must never drive
the pair at once, and the nodes are the only place both can see. The lock is
the directory ``/run/hatui.lock.d`` on each node: ``mkdir`` is atomic, so
exactly one creator wins, and ``/run`` is a tmpfs, so a reboot (which ends any
action anyway) clears it. Inside, ``owner`` holds JSON: local user@host, pid,
action, start time, and a random token so a runner only ever removes its own
lock.

Reading the lock needs no privilege (``cat``/``test -d`` as the SSH user, the
file is world-readable), so a misconfigured ``sudo -n`` can never make a held
lock look free. Creating and removing it use the configured command prefix.

A lock older than :data:`STALE_AFTER`, or without a readable owner, is
*reported* as stale; it is never broken silently. ``hatui lock break --confirm
NODE`` is the explicit way to remove one.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import secrets
import shlex
import socket
import time
from dataclasses import dataclass

from hatui.config import Config
from hatui.errors import HatuiError
from hatui.transport import NodeTransport

LOCK_DIR = "/run/hatui.lock.d"
OWNER_FILE = f"{LOCK_DIR}/owner"
STALE_AFTER = 600.0
LOCK_TIMEOUT = 10.0
PRINTF_LINE = "%s\\n"  # printf's own escape, not Python's: the owner JSON plus a newline


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock, as written into the owner file."""

    user: str
    host: str
    pid: int
    action: str
    started: float
    token: str

    @classmethod
    def mine(cls, action: str) -> LockOwner:
        return cls(_local_user(), socket.gethostname(), os.getpid(), action, time.time(), secrets.token_hex(8))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> LockOwner | None:
        try:
            d = json.loads(text)
            return cls(str(d["user"]), str(d["host"]), int(d["pid"]), str(d["action"]),
                       float(d["started"]), str(d["token"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class LockStatus:
    """The lock on one node: free, held (by whom, for how long), or unreadable."""

    node: str
    held: bool
    owner: LockOwner | None = None
    age: float | None = None
    error: str | None = None  # could not read it (node unreachable, ...)

    @property
    def stale(self) -> bool:
        """Held, but by nobody we can name, or for longer than any action takes."""
        if not self.held:
            return False
        return self.owner is None or (self.age is not None and self.age > STALE_AFTER)

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.node}: lock state unknown ({self.error})"
        if not self.held:
            return f"{self.node}: free"
        if self.owner is None:
            return (f"{self.node}: HELD by an unknown owner ({LOCK_DIR} has no readable owner file): stale; "
                    f"remove it with `hatui lock break --confirm {self.node}` once nobody is running an action")
        o = self.owner
        text = f"{self.node}: held by {o.user}@{o.host} pid {o.pid} ({o.action}) for {_age(self.age)}"
        if self.stale:
            text += (f": STALE (older than {STALE_AFTER:g}s); if that run is gone, "
                     f"`hatui lock break --confirm {self.node}`")
        return text


class LockHeld(HatuiError):
    """Another action holds the lock on a node."""

    def __init__(self, status: LockStatus) -> None:
        super().__init__(f"another action is running: {status.describe()}")
        self.status = status


class NodeLocks:
    """Read, take, release and break the lock on the pair's nodes."""

    def __init__(self, config: Config, transports: dict[str, NodeTransport]) -> None:
        self.config = config
        self.transports = transports
        self.prefix = list(config.cluster.prefix_words)

    def _cmd(self, *words: str) -> str:
        return shlex.join([*self.prefix, *words])

    async def status(self, node: str) -> LockStatus:
        """The lock on ``node``; never raises for node trouble (``error`` says why)."""
        read = f"{shlex.join(['cat', OWNER_FILE])} || {shlex.join(['test', '-d', LOCK_DIR])}"
        try:
            result = await self.transports[node].run(read, timeout=LOCK_TIMEOUT)
        except HatuiError as exc:
            return LockStatus(node, held=False, error=str(exc).removeprefix(f"{node}: "))
        if result.exit_status == 1:  # no owner file and `test -d` false: free
            return LockStatus(node, held=False)
        if result.exit_status != 0:  # e.g. 127: never read "cannot tell" as "free"
            why = (result.stderr or result.stdout).strip().splitlines()
            return LockStatus(node, held=False, error=f"cannot read {LOCK_DIR}: "
                              f"{why[-1] if why else f'exit {result.exit_status}'}")
        owner = LockOwner.parse(result.stdout.strip()) if result.stdout.strip() else None
        age = None if owner is None else max(0.0, time.time() - owner.started)
        return LockStatus(node, held=True, owner=owner, age=age)

    async def status_all(self) -> dict[str, LockStatus]:
        return {n: await self.status(n) for n in self.config.node_names}

    async def acquire(self, action: str) -> LockOwner:
        """Take the lock on both nodes (all or nothing); :class:`LockHeld` if taken."""
        owner = LockOwner.mine(action)
        taken: list[str] = []
        try:
            for node in self.config.node_names:
                await self._acquire_one(node, owner)
                taken.append(node)
        except BaseException:
            for node in taken:
                await self._remove(node)
            raise
        return owner

    async def _acquire_one(self, node: str, owner: LockOwner) -> None:
        transport = self.transports[node]
        made = await transport.run(self._cmd("mkdir", LOCK_DIR), timeout=LOCK_TIMEOUT)
        if made.exit_status != 0:
            if "exist" in (made.stderr + made.stdout).lower():
                raise LockHeld(await self.status(node))
            raise HatuiError(f"{node}: cannot create the lock {LOCK_DIR}: "
                             f"{(made.stderr or made.stdout).strip() or f'exit {made.exit_status}'}")
        printf = shlex.join(["printf", PRINTF_LINE, owner.to_json()])
        write = f"{printf} | {self._cmd('tee', OWNER_FILE)} >/dev/null"
        try:
            wrote = await transport.run(write, timeout=LOCK_TIMEOUT)
        except HatuiError:
            await self._remove(node)
            raise
        if wrote.exit_status != 0:
            await self._remove(node)
            raise HatuiError(f"{node}: cannot write the lock owner {OWNER_FILE}: "
                             f"{wrote.stderr.strip() or f'exit {wrote.exit_status}'}")

    async def release(self, owner: LockOwner) -> list[str]:
        """Remove our lock from every node where it is still ours; returns problems."""
        problems = []
        for node in self.config.node_names:
            status = await self.status(node)
            if status.error is not None:
                problems.append(f"{node}: lock not released ({status.error}); check `hatui lock status`")
            elif (status.held and status.owner is not None and status.owner.token == owner.token
                  and not await self._remove(node)):
                problems.append(f"{node}: could not remove {LOCK_DIR}; check `hatui lock status`")
        return problems

    async def break_lock(self, node: str) -> LockStatus:
        """Remove the lock on ``node`` whoever holds it (the explicit, audited operator choice)."""
        before = await self.status(node)
        if before.error is not None:
            raise HatuiError(f"{node}: cannot read the lock: {before.error}")
        if before.held and not await self._remove(node):
            raise HatuiError(f"{node}: could not remove {LOCK_DIR}")
        return before

    async def _remove(self, node: str) -> bool:
        cmd = f"{self._cmd('rm', '-f', OWNER_FILE)} && {self._cmd('rmdir', LOCK_DIR)}"
        try:
            result = await self.transports[node].run(cmd, timeout=LOCK_TIMEOUT)
        except HatuiError:
            return False
        return result.exit_status == 0


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
