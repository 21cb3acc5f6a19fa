"""Generic shell utilities a simulated node answers (true, date, cat, tail, kill …).

Split from :mod:`hatui.demo.node_commands` (which keeps the HA tools) to keep
modules small; mixed into :class:`~hatui.demo.node_shell.NodeShell` the same way.
"""

from __future__ import annotations

import json

from hatui.demo import formats as fmt
from hatui.emulator.drbd_formats import proc_drbd
from hatui.demo.cmdutil import JOURNAL_PATH, KA_SIGNUM as _KA_SIGNUM, TOOLS as _TOOLS, ShellPart, ok as _ok


class BasicCommands(ShellPart):
    """The shell's plain commands: true/false/echo, cat/tail/rm of the node's files, keepalived's signal."""

    # ---- trivial ---------------------------------------------------------------------

    def cmd_true(self, args, stdin):
        return _ok()

    def cmd_false(self, args, stdin):
        return "", "", 1

    cmd_export = cmd_true
    cmd_sleep = cmd_true  # hangs come from the hang() fault only

    def cmd_echo(self, args, stdin):
        if args and args[0] == "-n":
            return _ok(" ".join(args[1:]))
        return _ok(" ".join(args) + "\n")

    def cmd_hostname(self, args, stdin):
        return _ok(self.node + "\n")

    def cmd_uname(self, args, stdin):
        if args == ["-n"]:
            return _ok(self.node + "\n")
        return _ok(f"Linux {self.node} 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 x86_64 GNU/Linux\n")

    def cmd_date(self, args, stdin):
        form = next((a for a in args if a.startswith("+")), None)
        return _ok(fmt.date_output(self.sim.wall(), form))

    def cmd_command(self, args, stdin):  # only `command -v X` reaches here
        names = [a for a in args if a != "-v"]
        found = [f"/usr/sbin/{n}" for n in names if n in _TOOLS]
        return ("\n".join(found) + "\n" if found else ""), "", 0 if len(found) == len(names) else 1

    cmd_which = cmd_command

    def cmd_sh(self, args, stdin):
        if "-c" in args:
            i = args.index("-c")
            return self.shell.run_list(args[i + 1] if i + 1 < len(args) else "")  # type: ignore[attr-defined]
        return self.shell.run_script(stdin)  # type: ignore[attr-defined]

    cmd_bash = cmd_sh

    def cmd_cat(self, args, stdin):
        files = [a for a in args if not a.startswith("-")]
        if not files:
            return _ok(stdin)
        out, err, rc = [], [], 0
        for path in files:
            text = self._file(path)
            if text is None:
                err.append(f"cat: {path}: No such file or directory\n")
                rc = 1
            else:
                out.append(text)
        return "".join(out), "".join(err), rc

    def _file(self, path: str) -> str | None:
        node = self.sim.node(self.node)
        written = node.files.get(path)
        if isinstance(written, str):
            return written
        if path == "/proc/drbd":
            return proc_drbd(self.sim, self.node)
        if path == self.pid_file:
            return f"{node.ka.pid}\n" if node.ka.running else None
        if path == self.json_file:
            return fmt.keepalived_json(self.sim, self.node) if self.json_dumped else None
        if path == "/etc/hostname":
            return self.node + "\n"
        if path == JOURNAL_PATH:
            return "".join(json.dumps(e) + "\n" for e in node.journal) or None
        return None

    def cmd_tail(self, args, stdin):
        """`tail -n N FILE` (the node-journal probe)."""
        count, files, it = 10, [], iter(args)
        for arg in it:
            if arg == "-n":
                count = int(next(it, "10"))
            elif arg.startswith("-n"):
                count = int(arg[2:])
            else:
                files.append(arg)
        text = self._file(files[0]) if files else stdin
        if text is None:
            return "", f"tail: cannot open '{files[0]}' for reading: No such file or directory\n", 1
        lines = text.splitlines(keepends=True)
        return _ok("".join(lines[-count:] if count else []))

    def cmd_rm(self, args, stdin):
        if self.json_file in args:
            self.json_dumped = False
        files = self.sim.node(self.node).files
        for path in (a for a in args if not a.startswith("-")):
            if isinstance(files.get(path), str):
                del files[path]
        return _ok()

    # ---- keepalived ---------------------------------------------------------------------

    def cmd_keepalived(self, args, stdin):
        if any(a.startswith("--signum") for a in args):
            return _ok(_KA_SIGNUM + "\n")
        return "", "Keepalived v2.2.7 (01/16,2022)\n", 0

    def cmd_kill(self, args, stdin):
        node = self.sim.node(self.node)
        sig, pids = "TERM", []
        it = iter(args)
        for a in it:
            if a == "-s":
                sig = next(it, "TERM")
            elif a.startswith("-"):
                sig = a[1:]
            else:
                pids.append(a)
        for pid in pids:
            if not (node.ka.running and pid == str(node.ka.pid)):
                return "", "sh: 1: kill: No such process\n", 1
            if sig in (_KA_SIGNUM, "RTMIN+2", "SIGRTMIN+2"):
                self.json_dumped = True
            elif sig in ("TERM", "SIGTERM", "15", "KILL", "9"):
                self.sim.vrrp.stop_keepalived(self.node)
        return _ok()

    def cmd__init(self, args, stdin):
        """The preamble's ``_init``/``_done`` (concurrent probes): the demo runs probes in turn."""
        return _ok()

    cmd__done = cmd__init

    def cmd__ka_json(self, args, stdin):
        """The preamble's ``_ka_json``, answered natively."""
        if not self.sim.node(self.node).ka.running:
            return f"keepalived pid file {self.pid_file} not readable\n", "", 3
        self.json_dumped = True
        return _ok(fmt.keepalived_json(self.sim, self.node))

    # ---- DRBD ---------------------------------------------------------------------------

    def _resource_ok(self, res: str | None) -> bool:
        return res in (None, "all", self.sim.drbd.resource)
