"""``drbdadm`` and ``drbdsetup`` over the shared DRBD machine: one implementation for the demo and the lab.

The messages and exit codes are DRBD's where hatui can see them (a missing
resource is 10, an unknown command 20, the state-change refusals the machine
returns). The demo's node shell and the lab's DRBD daemon both dispatch these
two commands here, so hatui's parsers and guards cannot tell them apart.
"""

from __future__ import annotations

from hatui.emulator.drbd_fencing import drbdadm_dump, drbdsetup_show
from hatui.emulator.drbd_formats import MachineView, drbd_events2_now, drbd_status_json, drbdadm_status

Result = tuple[str, str, int]
DRBD_VERBS = ("primary", "secondary", "connect", "disconnect", "invalidate", "invalidate-remote", "verify", "outdate",
              "resume-io")


def is_mutating(argv: list[str]) -> bool:
    """The command line changes DRBD's state (the lab forwards those to the pair's coordinator)."""
    pos = [a for a in argv[1:] if not a.startswith("-")]
    return bool(pos) and pos[0] in DRBD_VERBS


class DrbdCommands:
    """The two commands of node ``node`` on ``view.drbd``."""

    def __init__(self, view: MachineView, node: str) -> None:
        self.view, self.node = view, node

    def _resource_ok(self, res: str | None) -> bool:
        return res in (None, "all", self.view.drbd.resource)

    def drbdsetup(self, args: list[str]) -> Result:
        flags = [a for a in args if a.startswith("-")]
        pos = [a for a in args if not a.startswith("-")]
        sub = pos[0] if pos else ""
        res = pos[1] if len(pos) > 1 else None
        if sub in ("status", "events2", "show") and not self._resource_ok(res):
            return "", f"{res}: No such resource\n", 10
        if sub == "show":
            return drbdsetup_show(self.view.drbd, self.node), "", 0
        if sub == "status":
            if "--json" in flags or "-j" in flags:
                return drbd_status_json(self.view, self.node), "", 0
            return drbdadm_status(self.view, self.node), "", 0
        if sub == "events2":
            # One-shot: the dump. Kept open (without --now) it is the caller's stream: drbd_events.
            return drbd_events2_now(self.view, self.node, statistics="--statistics" in flags,
                                    timestamps="--timestamps" in flags), "", 0
        if sub in DRBD_VERBS:
            if res != self.view.drbd.resource:
                return "", f"{res}: No such resource\n", 10
            out, err, rc = self._verb(sub, flags)
            return out, err.split("\n")[0] + "\n" if err else "", rc
        return "", f"drbdsetup: unknown command '{sub}'\n", 20

    def drbdadm(self, args: list[str]) -> Result:
        flags = [a for a in args if a.startswith("-")]
        pos = [a for a in args if not a.startswith("-")]
        if not pos:
            return "", "USAGE: drbdadm COMMAND [OPTION...] {all|RESOURCE...}\n", 20
        sub, resources = pos[0], pos[1:] or (["all"] if pos[0] == "status" else [])
        for res in resources:
            if not self._resource_ok(res):
                return "", f"'{res}' not defined in your config (for this host).\n", 10
        m = self.view.drbd
        if sub == "status":
            return drbdadm_status(self.view, self.node), "", 0
        if not resources:
            return "", f"drbdadm {sub}: missing resource name\n", 20
        if sub == "role":
            return m.node(self.node).role + "\n", "", 0
        if sub == "cstate":
            return m.node(self.node).conn + "\n", "", 0
        if sub == "dstate":
            return f"{m.node(self.node).disk}/{m.peer_disk(self.node)}\n", "", 0
        if sub in ("up", "down", "adjust", "attach"):
            return "", "", 0
        if sub == "dump":
            return drbdadm_dump(m, self.node), "", 0
        if sub in DRBD_VERBS:
            return self._verb(sub, flags)
        return "", f"drbdadm: Unknown command '{sub}'\n", 20

    def _verb(self, sub: str, flags: list[str]) -> Result:
        m, n = self.view.drbd, self.node
        actions = {
            "primary": lambda: m.primary(n, force="--force" in flags),
            "secondary": lambda: m.secondary(n),
            "connect": lambda: m.connect(n, discard_my_data="--discard-my-data" in flags),
            "disconnect": lambda: m.disconnect(n),
            "invalidate": lambda: m.invalidate(n),
            "invalidate-remote": lambda: m.invalidate_remote(n),
            "outdate": lambda: m.outdate(n),
            "resume-io": lambda: m.resume_io(n),
            "verify": lambda: m.verify(n),
        }
        r = actions[sub]()
        return r.stdout, r.stderr, r.rc
