"""The shell of one simulated node: answers the command strings hatui sends.

Two kinds of input arrive over SSH:

* the batched poll script (first line ``# hatui-poll v1``, see
  :mod:`hatui.probes.script`): ``_N=``/``_P=`` set, the preamble's function
  definitions are skipped, and every ``_h NAME ALT...`` line is answered with
  exactly the framing the real ``_h`` prints;
* simple command lists (``a && b || c; d 2>&1``) with ``sudo -n`` and
  ``timeout N`` prefixes stripped.

:meth:`NodeShell.run` returns ``(stdout, stderr, exit_status)``. The command
implementations live in :mod:`hatui.demo.node_commands`.
"""

from __future__ import annotations

import os
import functools
import shlex

from hatui.demo.cluster_sim import ClusterSim
from hatui.demo.basic_commands import BasicCommands
from hatui.demo.cmdutil import UsageError
from hatui.demo.file_commands import FileCommands
from hatui.demo.follow import Follow, follow_command
from hatui.demo.node_commands import NodeCommands
from hatui.demo.shparse import Pipeline, ShellSyntaxError, SimpleCommand, parse

POLL_HEADER = "# hatui-poll v1"
Result = tuple[str, str, int]


class NodeShell:
    """Interprets commands on node ``node`` of ``sim``; stateless between calls
    except the variables a script sets and keepalived's dump file."""

    def __init__(self, sim: ClusterSim, node: str, *, keepalived_pid_file: str = "/run/keepalived.pid",
                 keepalived_json_file: str = "/tmp/keepalived.json") -> None:
        sim.node(node)  # KeyError early for a wrong name
        self.sim, self.node = sim, node
        self.pid_file, self.json_file = keepalived_pid_file, keepalived_json_file
        self.vars: dict[str, str] = {}
        self.json_dumped = False  # /tmp/keepalived.json exists (written by the JSON signal)
        # The command table: each group's cmd_NAME answers NAME (cmd_hatui_sim: hatui-sim).
        self.commands: dict[str, object] = {}
        for part in (FileCommands(self), BasicCommands(self), NodeCommands(self)):
            self.commands.update(part.commands())

    # ---- entry points -------------------------------------------------------------

    def run(self, command: str, stdin: str = "") -> Result:
        """Run a command string (one line, a command list or a whole script)."""
        self.vars = {"_P": "", "LC_ALL": "C", "HOSTNAME": self.node}
        if "\n" in command.strip() or command.startswith(POLL_HEADER):
            return self.run_script(command)
        return self.run_list(command, stdin)

    def follow(self, command: str) -> Follow | None:
        """The running output of a command that keeps running (``drbdsetup events2`` without ``--now``,
        ``tail -F`` on the kit journal), None for every other command (:mod:`hatui.demo.follow`)."""
        if "\n" in command.strip():
            return None
        try:
            pipelines = _parse_cached(command, ())
        except ShellSyntaxError:
            return None
        if len(pipelines) != 1 or len(pipelines[0].commands) != 1:
            return None
        words = list(pipelines[0].commands[0].words)
        while words and _is_assignment(words[0]):
            words.pop(0)
        return follow_command(self.sim, self.node, _strip_prefixes(words))

    def run_script(self, text: str) -> Result:
        """Line by line; function definitions skipped, ``_h`` lines framed."""
        out, err, rc = [], [], 0
        lines = text.split("\n")
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            i += 1
            if not line or line.startswith("#"):
                continue
            if line.endswith("{") and "()" in line:
                # A function definition (the preamble's _h / _ka_json): the demo
                # implements them natively, so skip the body up to the closing brace.
                depth = 1
                while i < len(lines) and depth:
                    stripped = lines[i].strip()
                    depth += stripped.endswith("{") - (stripped == "}" or stripped.startswith("}"))
                    i += 1
                continue
            if line.startswith("_h "):
                o, _ = self._framed(line)
                out.append(o)
                rc = 0  # the script's status is printf's, like the real _h
                continue
            o, e, rc = self.run_list(line)
            out.append(o)
            err.append(e)
        return "".join(out), "".join(err), rc

    def _framed(self, line: str) -> tuple[str, int]:
        """What the real ``_h`` prints: stdout+stderr of the alternative used."""
        try:
            words = _split_cached(line)
        except ValueError:
            return "", 2
        name, alts = (words[1] if len(words) > 1 else ""), words[2:]
        text, rc = "", 127
        for alt in alts:
            o, e, rc = self.run_list(alt)
            text = o + e
            if rc == 0:
                break
        nonce = self.vars.get("_N", "")
        text = text.rstrip("\n")  # $(...) strips every trailing newline
        return (f"@@hatui:{nonce}:begin:{name}@@\n{text}\n"
                f"@@hatui:{nonce}:end:{name}:rc={rc}@@\n"), rc

    # ---- command lists ------------------------------------------------------------------

    def run_list(self, text: str, stdin: str = "") -> Result:
        try:
            env_key = tuple(sorted(self.vars.items())) if "$" in text else ()
            pipelines = _parse_cached(text, env_key)
        except ShellSyntaxError as exc:
            return "", f"sh: 1: {exc}\n", 2
        out, err, rc = [], [], 0
        for pipeline in pipelines:
            if (pipeline.connector == "&&" and rc != 0) or (pipeline.connector == "||" and rc == 0):
                continue
            o, e, rc = self._pipeline(pipeline, stdin)
            out.append(o)
            err.append(e)
        return "".join(out), "".join(err), rc

    def _pipeline(self, pipeline: Pipeline, stdin: str) -> Result:
        out, errs, rc = "", [], 0
        data = stdin
        for cmd in pipeline.commands:
            out, e, rc = self._simple(cmd, data)
            errs.append(e)
            data = out
        return out, "".join(errs), rc

    def _simple(self, cmd: SimpleCommand, stdin: str) -> Result:
        words = list(cmd.words)
        # Leading NAME=value words: assignments (alone) or a per-command environment.
        while words and _is_assignment(words[0]):
            if len(words) == 1:
                key, _, value = words[0].partition("=")
                self.vars[key] = value
            words.pop(0)
        out, err, rc = self.dispatch(words, stdin) if words else ("", "", 0)
        for r in cmd.redirects:
            if r.op == ">&" and r.fd == 2 and r.target == "1":
                out, err = out + err, ""
            elif r.op == ">&" and r.fd == 1 and r.target == "2":
                out, err = "", err + out
            elif r.op in (">", ">>"):
                # Files are not modelled: /dev/null and any other file swallow the stream.
                if r.fd in (1, -1):
                    out = ""
                if r.fd in (2, -1):
                    err = ""
        return out, err, rc

    def dispatch(self, argv: list[str], stdin: str = "") -> Result:
        """Strip prefixes (sudo -n, timeout, env, command) and run one command."""
        argv = _strip_prefixes(argv)
        if not argv:
            return "", "", 0
        name = os.path.basename(argv[0]) if argv[0].startswith("/") else argv[0]
        handler = self.commands.get(name.replace("-", "_").replace(".", "_"))
        if handler is None or name.startswith("_") and name not in ("_ka_json", "_init", "_done"):
            return "", f"sh: 1: {argv[0]}: not found\n", 127
        try:
            return handler(argv[1:], stdin)
        except UsageError as exc:
            return "", f"{name}: {exc}\n", exc.rc


def _is_assignment(word: str) -> bool:
    key, eq, _ = word.partition("=")
    return bool(eq) and key.replace("_", "a").isalnum() and not key[0].isdigit()


def _strip_prefixes(argv: list[str]) -> list[str]:
    while argv:
        head = argv[0]
        if head == "sudo":
            argv = argv[1:]
            while argv and argv[0].startswith("-"):
                argv = argv[2:] if argv[0] in ("-u", "-g") else argv[1:]
        elif head == "timeout":
            argv = argv[1:]
            while argv and argv[0].startswith("-"):
                flag = argv[0]
                argv = argv[2:] if flag in ("-k", "-s") else argv[1:]
            argv = argv[1:]  # the duration
        elif head == "env":
            argv = argv[1:]
            while argv and (_is_assignment(argv[0]) or argv[0] == "-i"):
                argv = argv[1:]
        elif head in ("command", "exec", "nice") and len(argv) > 1 and argv[1] != "-v":
            argv = argv[1:]
        else:
            return argv
    return argv


# Every poll sends the same probe lines (only the nonce differs, and it is not in
# them), so parsing once per distinct text keeps the simulated node cheap: the
# poll benchmark should measure hatui, not the demo's shell parser.
@functools.lru_cache(maxsize=512)
def _parse_cached(text: str, env_items: tuple[tuple[str, str], ...]) -> tuple:
    return tuple(parse(text, dict(env_items)))


@functools.lru_cache(maxsize=512)
def _split_cached(line: str) -> tuple[str, ...]:
    return tuple(shlex.split(line))
