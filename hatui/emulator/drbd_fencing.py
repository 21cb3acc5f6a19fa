"""DRBD fencing in the state machine: why a Primary that loses its peer may stop acknowledging writes.

With ``fencing dont-care`` (DRBD's default) a Primary that loses the connection
keeps acknowledging writes while the peer still calls itself UpToDate; if the
Primary then dies, the peer is promoted without those writes and they are lost
silently. DRBD closes that hole with a ``fence-peer`` handler. :class:`Fencing`, a
component the shared :class:`~hatui.emulator.drbd_machine.DrbdMachine` owns (demo
pair and lab emulator alike), gives it DRBD 9's behaviour:

* ``resource-only``: a Primary that loses the connection calls ``fence-peer``.
* ``resource-and-stonith``: it also suspends all I/O (``suspended:fencing``)
  until the handler returns; I/O resumes only when it exits 4 (peer Outdated)
  or 7 (peer fenced), otherwise it stays suspended until ``drbdadm resume-io``
  or the connection comes back (then the peer has every write again).
* A disconnected node with fencing that is asked to become Primary first
  calls ``fence-peer``: 4/7 or 5 with an UpToDate disk (DRBD: "peer is
  unreachable, assumed to be dead") let it promote; 6 (the peer is Primary)
  outdates this node; otherwise "(-7) Refusing to be Primary while peer is not
  outdated". A crashed Primary is thus replaced; in a partition the old Primary
  stays frozen, so the split brain that follows holds no acknowledged write on it.
* ``drbdadm outdate``: refused on a Primary ((-2), exit 17), on a connected
  node ((-6), exit 11) and on a disk below Outdated ((-16), exit 5); an
  Outdated disk cannot be promoted ((-2), exit 17) until a resync makes it
  UpToDate. ``unfence-peer`` runs once a resync brings the fenced peer back.

Handlers are run by whoever drives the machine: the demo in-process
(:func:`simulated_fence_peer`, which "reaches the peer over the public network"
unless it is down or partitioned), the lab as real programs (the calls queue in
``helper_calls``; the daemon reports each exit code with :meth:`helper_done`).
The component holds the configuration and the queued calls; the nodes and the
rest come from the machine through :class:`FencingHost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from hatui.emulator.drbd_base import CONNECTED, OUTDATED, PRIMARY, UPTODATE, CommandResult, DrbdNode, PairView

DONT_CARE, RESOURCE_ONLY, RESOURCE_AND_STONITH = "dont-care", "resource-only", "resource-and-stonith"
POLICIES = (DONT_CARE, RESOURCE_ONLY, RESOURCE_AND_STONITH)
# fence-peer exit codes as DRBD defines them
PEER_INCONSISTENT, PEER_OUTDATED, PEER_UNREACHABLE, PEER_REFUSED, PEER_FENCED = 3, 4, 5, 6, 7
RESUME_CODES = (PEER_OUTDATED, PEER_FENCED)
EXIT_MEANING = {PEER_INCONSISTENT: "peer is inconsistent or worse", PEER_OUTDATED: "peer was fenced",
                PEER_UNREACHABLE: "peer is unreachable", PEER_REFUSED: "peer is active (Primary)",
                PEER_FENCED: "peer was stonithed"}


@dataclass
class FencingConfig:
    """The resource's ``net { fencing ...; }`` and ``handlers { ... }`` (handler command lines)."""

    policy: str = DONT_CARE
    fence_peer: str | None = None
    unfence_peer: str | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown fencing policy {self.policy!r} (one of {', '.join(POLICIES)})")

    def handler(self, helper: str) -> str | None:
        return self.fence_peer if helper == "fence-peer" else self.unfence_peer


@dataclass(frozen=True)
class HelperCall:
    """One handler DRBD runs: on ``node``, ``helper`` "fence-peer" or "unfence-peer", ``command`` from the config."""

    node: str
    helper: str
    command: str | None
    resource: str
    peer: str


class FencingHost(PairView, Protocol):
    """What fencing needs of the machine beyond :class:`~hatui.emulator.drbd_base.PairView`."""

    def helper_event(self, node: str, helper: str, status: int | None = None) -> None: ...


class FenceWorld(Protocol):
    """What an in-process handler (:func:`simulated_fence_peer`) may see and do: the whole pair."""

    nodes: dict[str, DrbdNode]
    public_cut: set[str]

    def path_ok(self) -> bool: ...
    def lose_connection(self, name: str, why: str) -> None: ...
    def outdate(self, name: str) -> CommandResult: ...


HelperRunner = Callable[[FenceWorld, HelperCall], int]


class Fencing:
    """The pair's fencing: the policy and handlers, the handler calls to run, suspension and outdating.

    ``run`` runs a handler in-process and returns its exit code, or returns None: then the call
    waits in ``helper_calls`` for whoever drives the machine (the lab's daemon), which reports the
    exit code with :meth:`helper_done`.
    """

    def __init__(self, m: FencingHost, config: FencingConfig | str | None,
                 run: Callable[[HelperCall], int | None]) -> None:
        if config is None or isinstance(config, str):
            config = FencingConfig(config or DONT_CARE)
        self.m, self.config, self._run = m, config, run
        self.helper_calls: list[HelperCall] = []  # handlers to run (when no in-process runner is set)

    # ---- queries ------------------------------------------------------------------------

    def active(self) -> bool:
        return self.config.policy != DONT_CARE

    def promote_needs_fencing(self, name: str) -> bool:
        """A disconnected node with fencing must fence its peer before it may become Primary."""
        node = self.m.nodes[name]
        return (self.active() and node.role != PRIMARY and node.disk == UPTODATE
                and not self.m.connected(name) and node.peer_fenced is None)

    def peer_fenced_for_promote(self, name: str, *, run: bool) -> bool:
        """``drbdadm primary`` on ``name``: may it promote as far as fencing goes? A disconnected node
        with fencing calls fence-peer first (``run``: in-process; the lab's daemon ran it already)."""
        if not self.promote_needs_fencing(name):
            return True
        if run:
            self.call_helper(name, "fence-peer")
        return self.m.nodes[name].peer_fenced is not None

    # ---- verbs ----------------------------------------------------------------------------

    def outdate(self, name: str) -> CommandResult:
        """``drbdadm outdate``: mark this disk as not having the newest data (persisted by the lab)."""
        m = self.m
        node = m.nodes[name]
        if node.role == PRIMARY:
            return m.refuse(-2, "Need access to UpToDate data", 17, "outdate")
        if m.connected(name):
            return m.refuse(-6, "Refusing to be Outdated while Connected", 11, "outdate")
        if node.disk not in (UPTODATE, OUTDATED):
            return m.refuse(-16, "Disk state is lower than outdated", 5, "outdate")
        if node.disk == UPTODATE:
            node.disk = OUTDATED
            m.kernel_log(name, "disk( UpToDate -> Outdated )")
        return CommandResult(0)

    def resume_io(self, name: str) -> CommandResult:
        """``drbdadm resume-io``: the operator lifts a suspension (after establishing the peer's state)."""
        self._resume(self.m.nodes[name], "resume-io by the operator")
        return CommandResult(0)

    def helper_done(self, call: HelperCall, rc: int) -> None:
        """A handler finished with exit code ``rc``: resume I/O on 4 or 7, keep it suspended otherwise."""
        m = self.m
        node = m.nodes[call.node]
        m.helper_event(call.node, call.helper, rc)
        m.kernel_log(call.node, f"helper command: /sbin/drbdadm {call.helper} {m.resource} exit code {rc}")
        if call.helper != "fence-peer" or m.connected(call.node):
            return  # unfence-peer only informs; a connection that came back made fencing moot
        meaning = EXIT_MEANING.get(rc, "fence-peer helper broken")
        if rc in RESUME_CODES:
            node.peer_fenced, node.unfence_due = rc, True
            m.kernel_log(call.node, f"fence-peer helper returned {rc} ({meaning})")
            m.kernel_log(call.node, "pdsk( DUnknown -> Outdated )")
            self._resume(node, meaning)
            return
        if rc == PEER_UNREACHABLE and node.role != PRIMARY and node.disk == UPTODATE:
            # DRBD: a disconnected UpToDate Secondary whose peer cannot be reached may be promoted
            # ("assumed to be dead"); a Primary's frozen I/O, though, resumes only on 4 or 7.
            node.peer_fenced = rc
            m.kernel_log(call.node, "fence-peer helper returned 5 (peer is unreachable, assumed to be dead)")
            return
        if rc == PEER_REFUSED and node.role != PRIMARY and node.disk == UPTODATE:
            m.kernel_log(call.node, "Peer is primary, outdating myself.")
            node.disk = OUTDATED
            m.kernel_log(call.node, "disk( UpToDate -> Outdated )")
        if node.suspended == "fencing":
            m.kernel_log(call.node, f"fence-peer helper returned {rc} ({meaning}): I/O stays suspended "
                                    "(drbdadm resume-io once the peer's state is known)")

    def take_helper_calls(self) -> list[HelperCall]:
        calls, self.helper_calls = self.helper_calls, []
        return calls

    def call_helper(self, name: str, helper: str) -> HelperCall:
        m = self.m
        call = HelperCall(name, helper, self.config.handler(helper), m.resource, m.peer(name).name)
        m.kernel_log(name, f"helper command: /sbin/drbdadm {helper} {m.resource}")
        m.helper_event(name, helper)
        rc = self._run(call)
        if rc is None:
            self.helper_calls.append(call)
        else:
            self.helper_done(call, rc)
        return call

    # ---- what the machine tells it ----------------------------------------------------

    def on_disconnect(self, node: DrbdNode) -> None:
        """``node`` just lost its connection: a Primary with fencing fences its peer."""
        node.peer_fenced = None
        if not self.active() or node.role != PRIMARY or not node.up:
            return
        if self.config.policy == RESOURCE_AND_STONITH and node.suspended is None:
            node.suspended = "fencing"
            self.m.kernel_log(node.name, "susp-io( no -> fencing )")
        self.call_helper(node.name, "fence-peer")

    def on_graceful_disconnect(self, a: DrbdNode, b: DrbdNode) -> None:
        """``drbdadm disconnect`` is agreed over the still-working connection: with fencing the
        Secondary of a Primary becomes Outdated at once (no handler, no suspension), as in DRBD."""
        if not self.active():
            return
        for node, other in ((a, b), (b, a)):
            if node.role == PRIMARY and other.role != PRIMARY and other.disk == UPTODATE:
                other.disk = OUTDATED
                self.m.kernel_log(other.name, "disk( UpToDate -> Outdated )")
                node.peer_fenced, node.unfence_due = PEER_OUTDATED, True

    def on_connect(self, node: DrbdNode) -> None:
        """The connection is back: the peer receives every write again, fencing is moot."""
        node.peer_fenced = None
        self._resume(node, "connection established")

    def check_unfence(self, name: str) -> None:
        """The fenced peer is UpToDate again after a resync: run unfence-peer (once)."""
        m = self.m
        node, peer = m.nodes[name], m.peer(name)
        if node.unfence_due and m.connected(name) and m.sync is None and peer.disk == UPTODATE:
            node.unfence_due = False
            self.call_helper(name, "unfence-peer")

    def suspended_write(self, node: DrbdNode) -> CommandResult | None:
        """A write on ``node`` while its I/O is suspended: not applied, not acknowledged."""
        if node.suspended is None:
            return None
        return CommandResult(5, stderr=f"/dev/drbd{self.m.minor}: I/O suspended ({node.suspended}): write not "
                                       "acknowledged\n")

    def _resume(self, node: DrbdNode, why: str) -> None:
        if node.suspended is not None:
            self.m.kernel_log(node.name, f"susp-io( {node.suspended} -> no ): {why}")
            node.suspended = None


def simulated_fence_peer(m: FenceWorld, call: HelperCall) -> int:
    """The demo's handler: "SSH" to the peer over the public network and outdate it there.

    Unreachable (5) when the peer is down or either node is cut off the public
    network; otherwise the peer's ``drbdadm outdate`` decides: 0 -> 4, disk below
    Outdated -> 3, peer Primary -> 6. A peer that has not yet noticed the lost
    link is given the time to (the real handler retries for a few seconds).
    """
    if call.helper != "fence-peer":
        return 0
    peer = m.nodes[call.peer]
    if not peer.up or {call.node, call.peer} & m.public_cut:
        return PEER_UNREACHABLE
    if peer.conn == CONNECTED and not m.path_ok():
        m.lose_connection(call.peer, "PingAck did not arrive in time.")
    rc = m.outdate(call.peer).rc
    return {0: PEER_OUTDATED, 5: PEER_INCONSISTENT, 17: PEER_REFUSED}.get(rc, PEER_UNREACHABLE)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_sections(fencing: FencingConfig, indent: str = "    ") -> list[str]:
    """The ``net``/``handlers`` sections of a resource in DRBD's config syntax (defaults omitted, as DRBD does)."""
    lines: list[str] = []
    if fencing.policy != DONT_CARE:
        lines += [f"{indent}net {{", f"{indent}    fencing         {fencing.policy};", f"{indent}}}"]
    handlers = [(h, fencing.handler(h)) for h in ("fence-peer", "unfence-peer")]
    if any(cmd for _, cmd in handlers):
        lines.append(f"{indent}handlers {{")
        lines += [f"{indent}    {h:<16}{_q(cmd)};" for h, cmd in handlers if cmd]
        lines.append(f"{indent}}}")
    return lines


class ConfigView(Protocol):
    """What the configuration printers read: the pair's nodes and its fencing configuration."""

    nodes: dict[str, DrbdNode]
    resource: str
    minor: int
    fencing: FencingConfig

    def peer(self, name: str) -> DrbdNode: ...


def drbdsetup_show(m: ConfigView, name: str) -> str:
    """``drbdsetup show RES``: the kernel's view of the resource (handlers are drbdadm's, not shown)."""
    node, peer = m.nodes[name], m.peer(name)
    net = [f"            fencing         {m.fencing.policy};"] if m.fencing.policy != DONT_CARE else []
    lines = [f"resource {m.resource} {{", "    options {", "    }",
             "    _this_host {", f"        node-id\t\t\t{node.node_id};", "        volume 0 {",
             f"            device\t\t\tminor {m.minor};", "            meta-disk\t\t\tinternal;", "        }",
             "    }", "    connection {", f"        _peer_node_id {peer.node_id};", "        net {", *net,
             f"            _name           {_q(peer.name)};", "        }",
             "    }", "}"]
    return "\n".join(lines) + "\n"


def drbdadm_dump(m: ConfigView, name: str, config_file: str = "/etc/drbd.d/r0.res") -> str:
    """``drbdadm dump RES``: the parsed configuration, fencing policy and handlers included."""
    lines = [f"# resource {m.resource} on {name}: not ignored, not stacked", f"# defined at {config_file}:1",
             f"resource {m.resource} {{"]
    for node in m.nodes.values():
        lines += [f"    on {node.name} {{", f"        node-id {node.node_id};", "        volume 0 {",
                  f"            device       minor {m.minor};", "            meta-disk    internal;", "        }",
                  "    }"]
    lines += config_sections(m.fencing)
    return "\n".join(lines + ["}"]) + "\n"

