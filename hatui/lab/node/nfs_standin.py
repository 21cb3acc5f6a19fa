"""``python -m hatui.lab.node.nfs_standin``: the lab's NFS server stand-in (there is no kernel nfsd here).

It serves what a client needs to see failover as an NFS client would: a TCP
port (``env.nfs_port``, 2049 on a node) behind the VIP that accepts writes only
while this node has the replicated filesystem mounted. Line protocol (one
request line, one reply line, UTF-8, many requests per connection)::

    PING               -> PONG
    WRITE <key> <val>  -> OK <key>      only after the DRBD API acked (protocol C: the peer has it)
                       -> ERR <text>    the API refused or could not be reached
    READ <key>         -> VALUE <val> | NONE    read from the FILE {mount_point}/<key>
    COUNT              -> <n>           number of rec-* files under the mount point
    anything else      -> ERR unknown command

Keys are ``[A-Za-z0-9._-]+``; the value is the rest of the line. A bare
connect-and-close (``nc -z VIP 2049``) is harmless.

Lifecycle: refuses to start (exit 1) without the mount; writes the ready file
(``env.units[env.nfs_unit].ready_file``, else ``{run_dir}/nfs.ready``) and
``{run_dir}/nfs-exports`` (what ``exportfs -v`` shows) once listening, removes
both on exit; SIGTERM/SIGINT → exit 0 at once; mount gone → exit 2 (a real
nfsd loses its exports; the unit becomes failed). Its working directory is the
mount point, so ``umount`` says "target is busy" while it runs, as with a real
export in use.

Tests without root: ``HATUI_LAB_ASSUME_MOUNTED=1`` makes "mounted" mean "the
mount point is an existing directory" (see :func:`mounted`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from hatui.lab.drbd import api as drbd_api
from hatui.lab.node_env import NodeEnv, is_mountpoint, load_node_env

MOUNT_CHECK_S = 0.2  # how fast a lost mount is noticed


def mounted(path: str) -> bool:
    """The replicated filesystem is mounted at ``path``.

    A mount point per mountinfo on a node; with ``HATUI_LAB_ASSUME_MOUNTED=1`` (tests,
    no root) an existing directory counts, and removing it means "unmounted".
    """
    if os.environ.get("HATUI_LAB_ASSUME_MOUNTED") == "1":
        return os.path.isdir(path)
    return is_mountpoint(path)


def ready_path(env: NodeEnv, unit: str, default_name: str) -> str:
    """The unit's ready file from node.json, else ``{run_dir}/<default_name>``."""
    spec = env.units.get(unit)
    return (spec.ready_file if spec and spec.ready_file else None) or os.path.join(env.run_dir, default_name)


def exports_marker(env: NodeEnv) -> str:
    """The file that says "exports are served" (read by the lab's exportfs)."""
    return os.path.join(env.run_dir, "nfs-exports")


def count_records(folder: str) -> int:
    """Number of ``rec-*`` files in ``folder`` (0 when it cannot be read)."""
    try:
        with os.scandir(folder) as it:
            return sum(1 for e in it if e.name.startswith("rec-"))
    except OSError:
        return 0


def read_file_value(folder: str, key: str) -> str | None:
    """The content of ``folder/key``, None when there is no such file."""
    try:
        with open(os.path.join(folder, key), encoding="utf-8", errors="replace") as f:
            return f.read().rstrip("\n")
    except FileNotFoundError:
        return None


class NfsStandin:
    """The asyncio server; :meth:`answer` is the protocol, :meth:`run` the lifecycle."""

    def __init__(self, env: NodeEnv, host: str = "0.0.0.0") -> None:
        self.env = env
        self.host = host
        self.stop = asyncio.Event()
        self.lost_mount = False
        self.writers: set[asyncio.StreamWriter] = set()
        # our own pool, not the loop's default one: asyncio.run() joins the default pool's
        # threads at exit, and a WRITE stuck on the DRBD API must not delay a stop
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="drbd-api")

    async def answer(self, line: str) -> str:
        """One request line → one reply line (without the newline)."""
        verb, _, rest = line.strip().partition(" ")
        verb = verb.upper()
        if verb == "PING":
            return "PONG"
        if verb == "COUNT":
            return str(count_records(self.env.mount_point))
        key, _, value = rest.partition(" ")
        if verb in ("WRITE", "READ") and not drbd_api.valid_key(key):
            return f"ERR bad key {key[:64]!r}"
        if verb == "READ":
            value_read = read_file_value(self.env.mount_point, key)
            return "NONE" if value_read is None else f"VALUE {value_read}"
        if verb == "WRITE":
            # the blocking client runs in a thread: the loop keeps serving PINGs and other clients
            try:
                loop = asyncio.get_running_loop()
                reply = await loop.run_in_executor(self.pool, drbd_api.write, self.env, key, value)
            except drbd_api.DrbdApiError as exc:
                return f"ERR {exc}"
            if reply.get("rc") == 0:
                return f"OK {key}"
            text = str(reply.get("stderr") or f"rc {reply.get('rc')}").strip().replace("\n", " ")
            return f"ERR {text}"
        return "ERR unknown command"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: requests answered in order until EOF."""
        self.writers.add(writer)
        try:
            while not self.stop.is_set():
                raw = await reader.readline()
                if not raw:
                    break  # EOF: also the nc -z probe
                reply = await self.answer(raw.decode("utf-8", errors="replace"))
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # ValueError: a line over the stream limit; drop that client
        except asyncio.CancelledError:
            # The stand-in is stopping (asyncio.run cancels every task). Ending quietly: a handler task
            # left cancelled makes Python 3.11's StreamReaderProtocol log a traceback ("Exception in callback").
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def watch_mount(self) -> None:
        """Stop serving (exit 2) when the filesystem is no longer mounted, as nfsd loses its exports."""
        while not self.stop.is_set():
            if not mounted(self.env.mount_point):
                print(f"nfs stand-in: {self.env.mount_point} is no longer mounted: exports lost", file=sys.stderr,
                      flush=True)
                self.lost_mount = True
                self.stop.set()
                return
            await asyncio.sleep(MOUNT_CHECK_S)

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT (0) or the mount disappears (2)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        server = await asyncio.start_server(self.handle, self.host, self.env.nfs_port, reuse_address=True)
        ready, marker = ready_path(self.env, self.env.nfs_unit, "nfs.ready"), exports_marker(self.env)
        try:
            with open(marker, "w") as f:
                f.write("".join(p + "\n" for p in self.env.exports))
            open(ready, "w").close()
            print(f"nfs stand-in: serving {', '.join(self.env.exports)} on {self.host}:{self.env.nfs_port}",
                  file=sys.stderr, flush=True)
            watcher = asyncio.create_task(self.watch_mount())
            await self.stop.wait()
            watcher.cancel()
        finally:
            for path in (ready, marker):
                try:
                    os.unlink(path)
                except OSError:
                    pass
            server.close()
            for w in list(self.writers):
                w.close()
            self.pool.shutdown(wait=False, cancel_futures=True)
        return 2 if self.lost_mount else 0


def main() -> int:
    """Entry point (see the module docstring)."""
    env = load_node_env()
    if not mounted(env.mount_point):
        print(f"nfs stand-in: {env.mount_point} is not a mount point: refusing to export it", file=sys.stderr)
        return 1
    os.chdir(env.mount_point)  # hold the filesystem like a served export: umount says "target is busy"
    try:
        return asyncio.run(NfsStandin(env).run())
    except OSError as exc:  # e.g. the port is taken
        print(f"nfs stand-in: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: a WRITE still waiting on the DRBD API in a worker thread must not delay the stop
    os._exit(code)
