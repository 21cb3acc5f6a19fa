"""``python -m hatui.lab.node.exportfs [-v|-a|-r|-ra|-u ...]``: exportfs for a lab node.

``-v`` prints the node's exports (``env.exports``) in nfs-utils' verbose layout
(:func:`hatui.emulator.tool_text.exportfs_v`, the demo's renderer) while the NFS
stand-in unit is active AND serves them (its ``{run_dir}/nfs-exports`` file),
nothing otherwise, as the kernel's export table is empty without nfsd. Without
options: the short layout (path, client). ``-a``, ``-r``, ``-ra``, ``-u``: accepted
no-ops (the stand-in exports while it runs), exit 0.
"""

from __future__ import annotations

import os
import sys

from hatui.emulator import tool_text
from hatui.lab.node import unit_runner
from hatui.lab.node_env import NodeEnv, load_node_env


def served_exports(env: NodeEnv) -> tuple[str, ...]:
    """The exports the node serves right now (empty when the NFS stand-in is not serving)."""
    if env.nfs_unit not in env.units:
        return ()
    if unit_runner.unit_state(env, env.nfs_unit)["active"] != "active":
        return ()  # a killed stand-in leaves its marker behind: the unit state decides first
    if not os.path.exists(os.path.join(env.run_dir, "nfs-exports")):
        return ()
    return tuple(env.exports)


def _flags(args: list[str]) -> str:
    return "".join(a.lstrip("-") for a in args if a.startswith("-") and not a.startswith("--"))


def lists(args: list[str]) -> bool:
    """``args`` ask for the export table (``-v`` or no option) rather than changing it."""
    return not args or "v" in _flags(args)


def run(env: NodeEnv, args: list[str]) -> tuple[str, str, int]:
    """What ``exportfs ARGS`` prints: (stdout, stderr, exit code)."""
    if lists(args):
        paths = served_exports(env)
        if "v" in _flags(args):
            return tool_text.exportfs_v(paths), "", 0
        out = []
        for p in paths:  # nfs-utils dump(): a path over 14 columns puts the client on its own line
            sep = "\n\t\t" if len(p) > 14 else "\t"
            out.append(f"{p:<14}{sep}<world>\n")
        return "".join(out), "", 0
    flags = _flags(args)
    if set(flags) <= set("arufs") and flags:
        return "", "", 0
    return "", (f"exportfs: invalid option -- '{args[0]}'\n"
                "usage: exportfs [-adfhioruvs] [host:/path]\n"), 1


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    out, err, rc = run(load_node_env(), list(sys.argv[1:] if argv is None else argv))
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


if __name__ == "__main__":
    sys.exit(main())
