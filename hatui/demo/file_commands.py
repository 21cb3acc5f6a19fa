"""Files and probes a simulated node answers for the actions: the lock and the VIP check.

The actions keep their lock as ``mkdir /run/hatui.lock.d`` plus an owner file
written with ``printf … | tee``, read it with ``test -d``/``cat`` and drop it
with ``rm -f``/``rmdir``; after a failover they check the service through the
VIP with ``nc -z -w N VIP 2049``. The files live on the simulated node (and,
like /run, vanish when it crashes).
"""

from __future__ import annotations

from hatui.demo.cmdutil import Result, ShellPart

NFS_PORT = "2049"


def _paths(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


class FileCommands(ShellPart):
    """mkdir, rmdir, test, printf, tee, nc: the node's small files (a tmpfs: gone after a crash)."""

    @property
    def files(self) -> dict[str, str | None]:
        return self.sim.node(self.node).files

    def cmd_mkdir(self, args, stdin) -> Result:
        for path in _paths(args):
            if path in self.files:
                if "-p" in args:
                    continue
                return "", f"mkdir: cannot create directory '{path}': File exists\n", 1
            self.files[path] = None
        return "", "", 0

    def cmd_rmdir(self, args, stdin) -> Result:
        for path in _paths(args):
            if path not in self.files:
                return "", f"rmdir: failed to remove '{path}': No such file or directory\n", 1
            if any(p.startswith(path + "/") for p in self.files):
                return "", f"rmdir: failed to remove '{path}': Directory not empty\n", 1
            del self.files[path]
        return "", "", 0

    def cmd_test(self, args, stdin) -> Result:
        if len(args) == 2 and args[0] in ("-d", "-e", "-f"):
            present = args[1] in self.files
            kind = self.files.get(args[1])
            ok = present and (args[0] == "-e" or (args[0] == "-d") == (kind is None))
            return "", "", 0 if ok else 1
        return "", "", 2

    def cmd_printf(self, args, stdin) -> Result:
        fmt, rest = (args[0], args[1:]) if args else ("", [])
        if fmt == "%s\\n":
            return "".join(a + "\n" for a in rest), "", 0
        if fmt == "%s":
            return "".join(rest), "", 0
        return fmt.replace("\\n", "\n"), "", 0

    def cmd_tee(self, args, stdin) -> Result:
        for path in _paths(args):
            parent = path.rsplit("/", 1)[0]
            if parent not in self.files and parent not in ("", "/tmp", "/run"):
                return stdin, f"tee: {path}: No such file or directory\n", 1
            self.files[path] = (self.files.get(path) or "") + stdin if "-a" in args else stdin
        return stdin, "", 0

    def node_file(self, path: str) -> str | None:
        """Text of a file written on this node (for cat), None if there is none."""
        value = self.files.get(path)
        return value if isinstance(value, str) else None

    def remove_node_file(self, path: str) -> None:
        if isinstance(self.files.get(path), str):
            del self.files[path]

    def cmd_nc(self, args, stdin) -> Result:
        """`nc -z [-w N] HOST PORT`: open when HOST's holder serves NFS on 2049."""
        pos = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "-w")]
        if len(pos) != 2:
            return "", "usage: nc -z [-w secs] host port\n", 1
        host, port = pos
        sim = self.sim
        if host == sim.vip.split("/")[0]:
            holders = [n for n in sim.nodes.values() if n.up and n.vip]
        else:
            holders = [n for n in sim.nodes.values() if n.up and n.address == host]
        serves = (
            len(holders) == 1 and port == NFS_PORT and holders[0].mounted
            and sim.drbd.node(holders[0].name).role == "Primary" and holders[0].units[sim.nfs_unit].active
        )
        if serves:
            return "", "", 0
        return "", f"nc: connect to {host} port {port} (tcp) failed: Connection refused\n", 1
