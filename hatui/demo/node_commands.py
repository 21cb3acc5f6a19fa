"""The service commands a simulated node knows (one of :class:`NodeShell`'s command groups).

Each ``cmd_NAME(args, stdin)`` returns ``(stdout, stderr, exit_status)`` with
the real tool's messages and exit codes where hatui can see them. Output
formats come from :mod:`hatui.demo.formats`.
"""

from __future__ import annotations

import json
import re

from hatui.demo import formats as fmt
from hatui.emulator.drbd_commands import DrbdCommands
from hatui.demo.cmdutil import ShellPart, ok as _ok, opt as _opt


class NodeCommands(ShellPart):
    """The node's service tools: DRBD (the emulator's), ip, systemctl, mount, exportfs, pgrep, airflow."""


    def cmd_drbdsetup(self, args, stdin):
        return DrbdCommands(self.sim, self.node).drbdsetup(args)

    def cmd_drbdadm(self, args, stdin):
        return DrbdCommands(self.sim, self.node).drbdadm(args)

    # ---- network ------------------------------------------------------------------------

    def cmd_ip(self, args, stdin):
        as_json = any(a in ("-j", "-json", "--json") for a in args)
        pos = [a for a in args if not a.startswith("-")]
        if not pos or pos[0] not in ("addr", "a", "address"):
            obj = pos[0] if pos else ""
            return "", f'Object "{obj}" is unknown, try "ip help".\n', 1
        verb = pos[1] if len(pos) > 1 else "show"
        node = self.sim.node(self.node)
        dev = pos[pos.index("dev") + 1] if "dev" in pos and pos.index("dev") + 1 < len(pos) else None
        if dev is not None and dev not in (self.sim.interface, "lo"):
            return "", f'Cannot find device "{dev}"\n', 1
        if verb in ("show", "list", "ls"):
            doc = json.loads(fmt.ip_addr_json(self.sim, self.node))
            if dev is not None:
                doc = [i for i in doc if i["ifname"] == dev]
            if as_json:
                return _ok(json.dumps(doc, separators=(",", ":")) + "\n")
            return _ok(_ip_text(doc))
        if verb in ("add", "del", "delete") and len(pos) > 2:
            is_vip = pos[2].split("/")[0] == self.sim.vip.split("/")[0]
            if verb == "add":
                if is_vip and node.vip:
                    return "", "RTNETLINK answers: File exists\n", 2
                node.vip = node.vip or is_vip
                return _ok()
            if not (is_vip and node.vip):
                return "", "RTNETLINK answers: Cannot assign requested address\n", 2
            node.vip = False
            return _ok()
        return "", f'Command "{verb}" is unknown, try "ip address help".\n', 1

    # ---- systemd ---------------------------------------------------------------------------

    def cmd_systemctl(self, args, stdin):
        props: list[str] = []
        words: list[str] = []
        it = iter(args)
        for a in it:
            if a in ("-p", "--property"):
                props += next(it, "").split(",")
            elif a.startswith("--property="):
                props += a.split("=", 1)[1].split(",")
            elif a.startswith("-p") and len(a) > 2:
                props += a[2:].split(",")
            elif not a.startswith("-"):
                words.append(a)
        if not words:
            return "", "systemctl: missing verb\n", 1
        verb, units = words[0], [u if "." in u else u + ".service" for u in words[1:]]
        known = self.sim.node(self.node).units
        if verb == "show":
            out = fmt.systemctl_show(self.sim, self.node, [p for p in props if p], units)
            if "--value" in args:
                out = "\n".join(line.split("=", 1)[1] for line in out.splitlines() if "=" in line) + "\n"
            return _ok(out)
        if verb == "is-active":
            states = ["active" if u in known and known[u].active else "inactive" for u in units]
            return "".join(s + "\n" for s in states), "", 0 if all(s == "active" for s in states) else 3
        if verb in ("start", "stop", "restart"):
            for u in units:
                if u not in known:
                    return "", f"Failed to {verb} {u}: Unit {u} not found.\n", 5
                if verb in ("stop", "restart"):
                    self.sim.stop_service(self.node, u)
                if verb in ("start", "restart"):
                    self.sim.start_service(self.node, u)
            return _ok()
        if verb == "status":
            rc, out = 0, []
            for u in units:
                unit = known.get(u)
                if unit is None:
                    return "", f"Unit {u} could not be found.\n", 4
                state = "active (running)" if unit.active else "inactive (dead)"
                rc = rc or (0 if unit.active else 3)
                out.append(f"● {u}\n     Loaded: loaded\n     Active: {state}\n")
            return "".join(out), "", rc
        return "", f'Unknown command verb {verb}.\n', 1

    # ---- mounts, disks, NFS, processes ----------------------------------------------------

    def cmd_mount(self, args, stdin):
        pos = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in ("-t", "-o"))]
        sim = self.sim
        if not pos:
            node = sim.node(self.node)
            return _ok(f"{sim.device} on {sim.mount_point} type {sim.fs_type} (rw,relatime)\n" if node.mounted else "")
        if not set(pos) <= {sim.device, sim.mount_point, sim.mount_point + "/"}:
            return "", f"mount: {pos[-1]}: special device {pos[0]} does not exist.\n", 32
        err = sim.mount(self.node)
        return ("", err + "\n", 32) if err else _ok()

    def cmd_umount(self, args, stdin):
        pos = [a for a in args if not a.startswith("-")]
        if not pos or pos[0].rstrip("/") not in (self.sim.device, self.sim.mount_point):
            return "", f"umount: {pos[0] if pos else ''}: no mount point specified.\n", 32
        err = self.sim.umount(self.node)
        return ("", err + "\n", 32) if err else _ok()

    def cmd_findmnt(self, args, stdin):
        cols = (_opt(args, "-o", "--output") or "TARGET,SOURCE,FSTYPE,OPTIONS").split(",")
        target = _opt(args, "-M", "--mountpoint", "-T", "--target")
        if target is None:
            rest = [a for i, a in enumerate(args) if not a.startswith("-") and args[i - 1] not in ("-o", "--output")]
            target = rest[0] if rest else self.sim.mount_point
        out, rc = fmt.findmnt_json(self.sim, self.node, cols, target)
        if rc == 0 and not any(a in ("-J", "--json") for a in args):
            doc = json.loads(out)["filesystems"][0]
            head = "" if "-n" in args else " ".join(c.upper() for c in doc) + "\n"
            out = head + " ".join(str(v) for v in doc.values()) + "\n"
        return out, "", rc

    def cmd_lsblk(self, args, stdin):
        cols = (_opt(args, "-o", "--output") or "NAME,SIZE,TYPE,MOUNTPOINT").split(",")
        devs = [a for i, a in enumerate(args) if a.startswith("/") and args[i - 1] not in ("-o", "--output")]
        out, rc = fmt.lsblk_json(self.sim, self.node, cols, devs)
        if rc:
            return "", f"lsblk: {devs[0]}: not a block device\n", rc
        return out, "", 0

    def cmd_exportfs(self, args, stdin):
        if "-v" in args or not args:
            text = fmt.exportfs_v(self.sim, self.node)
            if not args:  # plain `exportfs`: no options
                text = re.sub(r"\(.*\)", "", text)
            return _ok(text)
        return _ok()

    def cmd_pgrep(self, args, stdin):
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        pats = [a for a in args if not a.startswith("-")]
        if not pats:
            return "", "pgrep: no matching criteria specified\n", 2
        try:
            rx = re.compile(pats[0])
        except re.error:
            return "", "pgrep: invalid regular expression\n", 2
        found = []
        for pid, comm, cmdline in self._processes():
            subject = cmdline if "f" in flags else comm
            hit = rx.fullmatch(subject) if "x" in flags else rx.search(subject)
            if hit:
                found.append(f"{pid} {cmdline if 'a' in flags else comm}" if ("l" in flags or "a" in flags) else str(pid))
        return ("\n".join(found) + "\n" if found else ""), "", 0 if found else 1

    def _processes(self) -> list[tuple[int, str, str]]:
        node, sim = self.sim.node(self.node), self.sim
        procs = [(1, "systemd", "/sbin/init"), (412, "sshd", "sshd: /usr/sbin/sshd -D")]
        if node.ka.running:
            procs.append((node.ka.pid, "keepalived", "/usr/sbin/keepalived --dont-fork"))
        nfs = node.units[sim.nfs_unit]
        if nfs.active:
            procs += [(nfs.main_pid, "rpc.mountd", "/usr/sbin/rpc.mountd"), (nfs.main_pid + 1, "nfsd", "[nfsd]")]
        dag = node.units[sim.dag_unit]
        if dag.active:
            procs.append((dag.main_pid, "airflow", "/usr/bin/python3 /usr/local/bin/airflow dag-processor"))
        return procs

    def cmd_airflow(self, args, stdin):
        if args[:2] != ["jobs", "check"]:
            return "", "airflow: the demo only answers `airflow jobs check`\n", 2
        node = self.sim.node(self.node)
        if node.units[self.sim.dag_unit].active and node.mounted and node.last_heartbeat is not None:
            return _ok("Found one alive job.\n")
        return "No alive jobs found.\n", "", 1

    # ---- the demo's control command ------------------------------------------------------------

    def cmd_hatui_sim(self, args, stdin):
        sim = self.sim
        if not args:
            return "", "usage: hatui-sim {state|fault KIND [NODE] [UNIT]|write KEY VALUE|read KEY|journal [NODE]}\n", 2
        verb, rest = args[0], args[1:]
        try:
            if verb == "state":
                return _ok(json.dumps(sim.snapshot(), sort_keys=True) + "\n")
            if verb == "journal":
                name = rest[0] if rest else self.node
                return _ok("".join(json.dumps(e) + "\n" for e in sim.node(name).journal))
            if verb == "write" and len(rest) == 2:
                return _ok(f"written via {sim.write(rest[0], rest[1])}\n")
            if verb == "read" and len(rest) == 1:
                value = sim.read(rest[0])
                return (value + "\n", "", 0) if value is not None else ("", f"no such key {rest[0]}\n", 1)
            if verb == "fault" and rest:
                kind, extra = rest[0], rest[1:]
                node = next((e for e in extra if e in sim.nodes), None)
                unit = next((e for e in extra if e not in sim.nodes), None)
                if node is None and kind not in ("cut-link", "heal-link", "block-vrrp", "unblock-vrrp",
                                                 "split-brain", "sync"):
                    node = self.node
                return _ok(f"fault: {sim.fault(kind, node, unit)}\n")
        except (ValueError, KeyError) as exc:
            return "", f"hatui-sim: {exc}\n", 1
        return "", f"hatui-sim: bad arguments: {' '.join(args)}\n", 2


def _ip_text(doc: list[dict]) -> str:
    """Plain ``ip addr`` layout (enough for a human; hatui uses -j)."""
    out = []
    for i in doc:
        out.append(f"{i['ifindex']}: {i['ifname']}: <{','.join(i['flags'])}> mtu {i['mtu']} qdisc {i['qdisc']} "
                   f"state {i['operstate']} group default qlen {i['txqlen']}")
        out.append(f"    link/{i['link_type']} {i['address']} brd {i['broadcast']}")
        for a in i["addr_info"]:
            extra = " secondary" if a.get("secondary") else ""
            label = f" {a['label']}" if "label" in a else ""
            out.append(f"    {a['family']} {a['local']}/{a['prefixlen']} scope {a['scope']}{extra}{label}")
            out.append("       valid_lft forever preferred_lft forever")
    return "\n".join(out) + "\n"
