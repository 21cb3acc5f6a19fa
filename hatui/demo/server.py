"""Two in-process asyncssh servers that play the simulated pair.

hatui connects to them through its normal SSH transport: public-key auth for
user ``hatui`` only, host keys pinned in a generated known_hosts file, every
command answered by a :class:`~hatui.demo.node_shell.NodeShell`. Faults show
up at the transport level the way they do on real machines:

* crash: the node's listener closes and live connections are aborted (new
  connections are refused) until restore;
* hang: commands are accepted but never answered until unhang (hatui's own
  timeout must fire);
* drop: the connection is cut while a command runs (the asyncssh client sees
  ``exit_status None``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from pathlib import Path

import asyncssh

from hatui import paths
from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.follow import Follow
from hatui.demo.node_shell import NodeShell
from hatui.demo.sim_parts import SimNode

TICK_SECONDS = 0.05
DEMO_USER = "hatui"
_STDIN_SHELL = re.compile(r"^\s*(/bin/|/usr/bin/)?(sh|bash|dash)(\s+-s)?\s*$")


class _NodeServer(asyncssh.SSHServer):
    """Per-connection auth policy and bookkeeping for one node."""

    def __init__(self, pair: DemoPair, node: str) -> None:
        self._pair, self._node = pair, node
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._pair._conns[self._node].add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._pair._conns[self._node].discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # always require authentication

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == DEMO_USER and key.public_data == self._pair._client_key.public_data


class DemoPair:
    """The simulated pair behind two SSH servers on 127.0.0.1."""

    def __init__(self, sim: ClusterSim, state_dir: Path, config_path: Path, time_scale: float) -> None:
        self.sim, self.state_dir, self.config_path = sim, state_dir, config_path
        self.time_scale = time_scale
        self.ports: tuple[int, int] = (0, 0)
        self.shells = {n: NodeShell(sim, n) for n in sim.names}
        self._conns: dict[str, set[asyncssh.SSHServerConnection]] = {n: set() for n in sim.names}
        self._busy: dict[str, set[asyncssh.SSHServerConnection]] = {n: set() for n in sim.names}
        self._listeners: dict[str, asyncssh.SSHAcceptor | None] = {n: None for n in sim.names}
        self._port_of: dict[str, int] = {}
        self._host_keys: dict[str, asyncssh.SSHKey] = {}
        self._client_key: asyncssh.SSHKey
        self._task: asyncio.Task[None] | None = None
        self._t0 = 0.0
        self._stopped = False  # late sync_faults() tasks must not re-open listeners

    # ---- lifecycle ------------------------------------------------------------------

    @classmethod
    async def start(cls, config_path: Path | None, *, state_dir: Path, time_scale: float = 1.0,
                    ports: tuple[int, int] | None = None) -> DemoPair:
        """Generate keys, listen on 127.0.0.1, write known_hosts and the TOML config."""
        state_dir = Path(state_dir)
        paths.private_dir(state_dir)
        loop = asyncio.get_running_loop()
        # Simulated time starts at 0 now; wall-clock stamps are real (hatui checks skew).
        pair = cls(ClusterSim(wall_clock=time.time), state_dir,
                   Path(config_path or state_dir / "hatui-demo.toml"), time_scale)
        pair._t0 = loop.time()
        pair._client_key = _load_or_make_key(state_dir / "id_ed25519", write_public=True)
        for name in pair.sim.names:
            pair._host_keys[name] = _load_or_make_key(state_dir / f"ssh_host_{name}_ed25519_key")
        wanted = ports or (0, 0)
        try:
            for name, port in zip(pair.sim.names, wanted):
                await pair._listen(name, port)
        except BaseException:
            await pair.stop()
            raise
        pair.ports = tuple(pair._port_of[n] for n in pair.sim.names)  # type: ignore[assignment]
        pair._write_known_hosts()
        paths.write_private(pair.config_path, pair.config_text())
        pair._task = asyncio.create_task(pair._ticker(), name="hatui-demo-ticker")
        return pair

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        for name in self.sim.names:
            await self._close_node(name)

    async def __aenter__(self) -> DemoPair:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- files ---------------------------------------------------------------------

    @property
    def client_key_path(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.state_dir / "known_hosts"

    def _write_known_hosts(self) -> None:
        lines = []
        for name in self.sim.names:
            pub = self._host_keys[name].export_public_key("openssh").decode().split()
            lines.append(f"[127.0.0.1]:{self._port_of[name]} {pub[0]} {pub[1]}\n")
        paths.write_private(self.known_hosts_path, "".join(lines))

    def config_text(self) -> str:
        """The TOML config (docs/config-format.md) pointing hatui at this pair."""
        q = json.dumps  # TOML basic strings accept JSON string escapes
        sim = self.sim
        out = ['[cluster]', 'name = "demo"', "poll_interval = 1.0", "command_timeout = 5.0",
               "connect_timeout = 3.0", 'command_prefix = ""', f"preferred_node = {q(sim.names[0])}", ""]
        for name in sim.names:
            out += ["[[nodes]]", f"name = {q(name)}", 'host = "127.0.0.1"', f"port = {self._port_of[name]}",
                    f'user = "{DEMO_USER}"', f"identity_file = {q(str(self.client_key_path))}",
                    f"known_hosts = {q(str(self.known_hosts_path))}", ""]
        out += ["[vip]", f"address = {q(sim.vip)}", f"interface = {q(sim.interface)}", "",
                "[keepalived]", 'instance = "VI_1"', f"unit = {q(sim.keepalived_unit)}",
                'pid_file = "/run/keepalived.pid"', 'json_file = "/tmp/keepalived.json"', "",
                "[[drbd]]", f"resource = {q(sim.drbd.resource)}", f"device = {q(sim.device)}",
                f"mount_point = {q(sim.mount_point)}", f"fs_type = {q(sim.fs_type)}",
                f"backing_disk = {q(sim.backing_disk)}", "",
                "[services.nfs]", f"unit = {q(sim.nfs_unit)}",
                "exports = [" + ", ".join(q(e) for e in sim.exports) + "]", "",
                "[services.dag_processor]", f"unit = {q(sim.dag_unit)}",
                'health_command = "airflow jobs check --job-type DagProcessorJob --local"', "health_every = 5", "",
                "[timing]", "detect = 10", "vip = 15", "promote = 20", "mount = 25", "services = 30",
                "available = 35", ""]
        return "\n".join(out)

    # ---- listeners and faults --------------------------------------------------------

    async def _listen(self, name: str, port: int) -> None:
        async def process_factory(process: asyncssh.SSHServerProcess) -> None:
            await self._handle(name, process)

        acceptor = await asyncssh.listen(
            "127.0.0.1", port, server_factory=lambda: _NodeServer(self, name),
            server_host_keys=[self._host_keys[name]], process_factory=process_factory,
            encoding="utf-8", agent_forwarding=False, allow_pty=False, x11_forwarding=False,
        )
        self._listeners[name] = acceptor
        self._port_of[name] = acceptor.get_port()

    async def _close_node(self, name: str) -> None:
        acceptor, self._listeners[name] = self._listeners[name], None
        if acceptor is not None:
            acceptor.close()
            await acceptor.wait_closed()
        self._abort_connections(name)

    def _abort_connections(self, name: str, only_busy: bool = False) -> None:
        for conn in list(self._busy[name] if only_busy else self._conns[name]):
            conn.abort()  # no goodbye: like a dead host / cut cable

    def _apply_crashes(self) -> None:
        """Synchronous part of :meth:`sync_faults`: crashed nodes stop answering now."""
        for name in self.sim.names:
            if not self.sim.node(name).up:
                acceptor, self._listeners[name] = self._listeners[name], None
                if acceptor is not None:
                    acceptor.close()
                self._abort_connections(name)

    def sim_now(self) -> float:
        return (asyncio.get_running_loop().time() - self._t0) * self.time_scale

    async def sync_faults(self) -> None:
        """Make the transport match the simulation (crash/restore/drop)."""
        if self._stopped:
            return
        for name in self.sim.names:
            node = self.sim.node(name)
            if not node.up and (self._listeners[name] is not None or self._conns[name]):
                await self._close_node(name)
            elif node.up and self._listeners[name] is None:
                await self._listen(name, self._port_of[name])
            if node.up and node.drop_pending and self._busy[name]:
                node.drop_pending = False
                self._abort_connections(name, only_busy=True)

    async def fault(self, kind: str, node: str | None = None, unit: str | None = None) -> str:
        """Inject a fault (same kinds as ``hatui-sim fault``) and apply it at once."""
        self.sim.tick(self.sim_now())
        message = self.sim.fault(kind, node, unit)
        await self.sync_faults()
        return message

    async def _ticker(self) -> None:
        while True:
            try:
                self.sim.tick(self.sim_now())
                await self.sync_faults()
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken tick must not kill the demo; next tick retries
                pass
            await asyncio.sleep(TICK_SECONDS)

    # ---- commands -----------------------------------------------------------------------

    async def _handle(self, name: str, process: asyncssh.SSHServerProcess) -> None:
        conn = process.get_extra_info("connection")
        node = self.sim.node(name)
        command = process.command
        self._busy[name].add(conn)
        try:
            if command is None:
                process.stderr.write("hatui demo: no interactive shell here; run a command\n")
                process.exit(1)
                return
            # hang: accepted, never answered, until unhang (or crash / drop).
            while node.up and node.hung and not node.drop_pending:
                await asyncio.sleep(0.02)
            if not node.up:
                conn.abort()
                return
            if node.drop_pending:
                node.drop_pending = False
                conn.abort()
                return
            self.sim.tick(self.sim_now())
            follow = self.shells[name].follow(command)
            if follow is not None:
                await _stream(process, node, follow)
                return
            stdin = await process.stdin.read() if _STDIN_SHELL.match(command) else ""
            self.sim.tick(self.sim_now())
            out, err, rc = self.shells[name].run(command, stdin)
            self._apply_crashes()  # before answering: the caller must see the crash next
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(rc)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
            pass  # the client went away (timeout, drop): nothing to answer
        finally:
            self._busy[name].discard(conn)
            # A fault command may have crashed a node (maybe this one): apply now.
            asyncio.get_running_loop().create_task(self.sync_faults())


async def _stream(process: asyncssh.SSHServerProcess, node: SimNode, follow: Follow) -> None:
    """A command that keeps running: its output as it comes, until the client closes the channel
    (or the node dies); then the follow is closed, so nothing stays subscribed."""
    try:
        process.stdout.write(follow.first)
        while not process.is_closing() and node.up:
            await asyncio.sleep(TICK_SECONDS)
            text = "" if node.hung else follow.take()
            if text and not process.is_closing():
                process.stdout.write(text)
    finally:
        follow.close()


def _load_or_make_key(path: Path, *, write_public: bool = False) -> asyncssh.SSHKey:
    """Reuse a key from state_dir (stable known_hosts) or generate ed25519, mode 0600."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"hatui-demo {path.name}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key("openssh"))
    os.chmod(path, 0o600)
    if write_public:
        paths.write_private(path.with_name(path.name + ".pub"), key.export_public_key("openssh"))
    return key


class DemoThreadHandle:
    """A DemoPair running in its own event loop thread (the Textual TUI owns the main loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pair: DemoPair | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def config_path(self) -> Path:
        assert self.pair is not None
        return self.pair.config_path

    @property
    def ports(self) -> tuple[int, int]:
        assert self.pair is not None
        return self.pair.ports

    def _run(self, config_path: Path | None, state_dir: Path, time_scale: float,
             ports: tuple[int, int] | None) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.pair = self.loop.run_until_complete(
                DemoPair.start(config_path, state_dir=state_dir, time_scale=time_scale, ports=ports))
        except BaseException as exc:  # reported to the starting thread
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.pair.stop())
        self.loop.close()

    def fault(self, kind: str, node: str | None = None, unit: str | None = None, timeout: float = 5.0) -> str:
        """Thread-safe fault injection; returns the sim's message."""
        assert self.pair is not None
        fut = asyncio.run_coroutine_threadsafe(self.pair.fault(kind, node, unit), self.loop)
        return fut.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        if self.pair is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        self._thread = None


def start_in_thread(config_path: Path | None = None, *, state_dir: Path, time_scale: float = 1.0,
                    ports: tuple[int, int] | None = None, timeout: float = 15.0) -> DemoThreadHandle:
    """Start a DemoPair in a daemon thread; returns once it listens (or raises)."""
    handle = DemoThreadHandle()
    thread = threading.Thread(target=handle._run, args=(config_path, Path(state_dir), time_scale, ports),
                              name="hatui-demo", daemon=True)
    handle._thread = thread
    thread.start()
    if not handle._ready.wait(timeout):
        raise TimeoutError("hatui demo pair did not start in time")
    if handle.error is not None:
        thread.join(1)
        raise handle.error
    return handle
