"""DRBD fencing in the state machine: why a Primary that loses its peer may stop acknowledging writes.

With ``fencing dont-care`` (DRBD's default) a Primary that loses the connection
keeps acknowledging writes while the peer still calls itself UpToDate; if the
Primary then dies, the peer is promoted without those writes and they are lost
silently. DRBD closes that hole with a ``fence-peer`` handler, and this module
gives the shared :class:`~hatui.emulator.drbd_machine.DrbdMachine` (demo pair and
lab emulator alike) DRBD 9's behaviour:

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from hatui.emulator.drbd_base import CONNECTED, OUTDATED, PRIMARY, UPTODATE, CommandResult, DrbdNode, SyncJob
from hatui.emulator.drbd_events import Events2Stream, emits

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


HelperRunner = Callable[["FencingMixin", HelperCall], int]


class FencingMixin:
    """Fencing state and verbs (mixed into the machine, which owns the state named below)."""

    nodes: dict[str, DrbdNode]
    resource: str
    minor: int
    now: float
    sync: SyncJob | None
    helpers: list[tuple[float, str, str]]
    fencing: FencingConfig
    helper_calls: list[HelperCall]  # handlers to run (when no in-process runner is set)
    run_helper: HelperRunner | None  # in-process handler runner (the demo); None: queue for the driver
    events: Events2Stream
    public_cut: set[str]  # demo: nodes cut off the public network (the handler cannot reach them)

    if TYPE_CHECKING:  # provided by the machine
        def peer(self, name: str) -> DrbdNode: ...  # noqa: E704
        def connected(self, name: str) -> bool: ...  # noqa: E704
        def _path_ok(self) -> bool: ...  # noqa: E704
        def _lose(self, node: DrbdNode, why: str) -> None: ...  # noqa: E704
        def _fail(self, code: int, text: str, rc: int, cmd: str) -> CommandResult: ...  # noqa: E704
        def _log(self, node: str, message: str) -> None: ...  # noqa: E704

    def _fencing_init(self, fencing: FencingConfig | str | None, run_helper: HelperRunner | None) -> None:
        if fencing is None or isinstance(fencing, str):
            fencing = FencingConfig(fencing or DONT_CARE)
        self.fencing, self.run_helper = fencing, run_helper
        self.helper_calls, self.public_cut = [], set()

    # ---- queries ------------------------------------------------------------------------

    def fencing_active(self) -> bool:
        return self.fencing.policy != DONT_CARE

    def suspended(self, name: str) -> str | None:
        """Why I/O on ``name`` is suspended ("fencing", "user"), None when it is not."""
        return self.nodes[name].suspended

    def promote_needs_fencing(self, name: str) -> bool:
        """A disconnected node with fencing must fence its peer before it may become Primary."""
        node = self.nodes[name]
        return (self.fencing_active() and node.role != PRIMARY and node.disk == UPTODATE
                and not self.connected(name) and node.peer_fenced is None)

    # ---- verbs ----------------------------------------------------------------------------

    @emits
    def outdate(self, name: str) -> CommandResult:
        """``drbdadm outdate``: mark this disk as not having the newest data (persisted by the lab)."""
        node = self.nodes[name]
        if node.role == PRIMARY:
            return self._fail(-2, "Need access to UpToDate data", 17, "outdate")
        if self.connected(name):
            return self._fail(-6, "Refusing to be Outdated while Connected", 11, "outdate")
        if node.disk not in (UPTODATE, OUTDATED):
            return self._fail(-16, "Disk state is lower than outdated", 5, "outdate")
        if node.disk == UPTODATE:
            node.disk = OUTDATED
            self._log(name, "disk( UpToDate -> Outdated )")
        return CommandResult(0)

    @emits
    def resume_io(self, name: str) -> CommandResult:
        """``drbdadm resume-io``: the operator lifts a suspension (after establishing the peer's state)."""
        self._resume(self.nodes[name], "resume-io by the operator")
        return CommandResult(0)

    @emits
    def helper_done(self, call: HelperCall, rc: int) -> None:
        """A handler finished with exit code ``rc``: resume I/O on 4 or 7, keep it suspended otherwise."""
        node = self.nodes[call.node]
        self.events.helper(call.node, call.helper, rc)
        self._log(call.node, f"helper command: /sbin/drbdadm {call.helper} {self.resource} exit code {rc}")
        if call.helper != "fence-peer" or self.connected(call.node):
            return  # unfence-peer only informs; a connection that came back made fencing moot
        meaning = EXIT_MEANING.get(rc, "fence-peer helper broken")
        if rc in RESUME_CODES:
            node.peer_fenced, node.unfence_due = rc, True
            self._log(call.node, f"fence-peer helper returned {rc} ({meaning})")
            self._log(call.node, "pdsk( DUnknown -> Outdated )")
            self._resume(node, meaning)
            return
        if rc == PEER_UNREACHABLE and node.role != PRIMARY and node.disk == UPTODATE:
            # DRBD: a disconnected UpToDate Secondary whose peer cannot be reached may be promoted
            # ("assumed to be dead"); a Primary's frozen I/O, though, resumes only on 4 or 7.
            node.peer_fenced = rc
            self._log(call.node, "fence-peer helper returned 5 (peer is unreachable, assumed to be dead)")
            return
        if rc == PEER_REFUSED and node.role != PRIMARY and node.disk == UPTODATE:
            self._log(call.node, "Peer is primary, outdating myself.")
            node.disk = OUTDATED
            self._log(call.node, "disk( UpToDate -> Outdated )")
        if node.suspended == "fencing":
            self._log(call.node, f"fence-peer helper returned {rc} ({meaning}): I/O stays suspended "
                                 "(drbdadm resume-io once the peer's state is known)")

    def take_helper_calls(self) -> list[HelperCall]:
        calls, self.helper_calls = self.helper_calls, []
        return calls

    # ---- hooks the machine calls ------------------------------------------------------

    def _fence_on_disconnect(self, node: DrbdNode) -> None:
        """``node`` just lost its connection: a Primary with fencing fences its peer."""
        node.peer_fenced = None
        if not self.fencing_active() or node.role != PRIMARY or not node.up:
            return
        if self.fencing.policy == RESOURCE_AND_STONITH and node.suspended is None:
            node.suspended = "fencing"
            self._log(node.name, "susp-io( no -> fencing )")
        self.call_helper(node.name, "fence-peer")

    def _graceful_disconnect(self, a: DrbdNode, b: DrbdNode) -> None:
        """``drbdadm disconnect`` is agreed over the still-working connection: with fencing the
        Secondary of a Primary becomes Outdated at once (no handler, no suspension), as in DRBD."""
        if not self.fencing_active():
            return
        for node, other in ((a, b), (b, a)):
            if node.role == PRIMARY and other.role != PRIMARY and other.disk == UPTODATE:
                other.disk = OUTDATED
                self._log(other.name, "disk( UpToDate -> Outdated )")
                node.peer_fenced, node.unfence_due = PEER_OUTDATED, True

    def _fence_on_connect(self, node: DrbdNode) -> None:
        """The connection is back: the peer receives every write again, fencing is moot."""
        node.peer_fenced = None
        self._resume(node, "connection established")

    def check_unfence(self, name: str) -> None:
        """The fenced peer is UpToDate again after a resync: run unfence-peer (once)."""
        node, peer = self.nodes[name], self.peer(name)
        if node.unfence_due and self.connected(name) and self.sync is None and peer.disk == UPTODATE:
            node.unfence_due = False
            self.call_helper(name, "unfence-peer")

    def call_helper(self, name: str, helper: str) -> HelperCall:
        call = HelperCall(name, helper, self.fencing.handler(helper), self.resource, self.peer(name).name)
        self.helpers.append((self.now, name, helper))
        self._log(name, f"helper command: /sbin/drbdadm {helper} {self.resource}")
        self.events.helper(name, helper)
        if self.run_helper is not None:
            self.helper_done(call, self.run_helper(self, call))
        else:
            self.helper_calls.append(call)
        return call

    def _resume(self, node: DrbdNode, why: str) -> None:
        if node.suspended is not None:
            self._log(node.name, f"susp-io( {node.suspended} -> no ): {why}")
            node.suspended = None

    def _suspended_write(self, node: DrbdNode) -> CommandResult | None:
        if node.suspended is None:
            return None
        return CommandResult(5, stderr=f"/dev/drbd{self.minor}: I/O suspended ({node.suspended}): write not "
                                       "acknowledged\n")


def simulated_fence_peer(m: FencingMixin, call: HelperCall) -> int:
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
    if peer.conn == CONNECTED and not m._path_ok():
        m._lose(peer, "PingAck did not arrive in time.")
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


def drbdsetup_show(m: FencingMixin, name: str) -> str:
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


def drbdadm_dump(m: FencingMixin, name: str, config_file: str = "/etc/drbd.d/r0.res") -> str:
    """``drbdadm dump RES``: the parsed configuration, fencing policy and handlers included."""
    lines = [f"# resource {m.resource} on {name}: not ignored, not stacked", f"# defined at {config_file}:1",
             f"resource {m.resource} {{"]
    for node in m.nodes.values():
        lines += [f"    on {node.name} {{", f"        node-id {node.node_id};", "        volume 0 {",
                  f"            device       minor {m.minor};", "            meta-disk    internal;", "        }",
                  "    }"]
    lines += config_sections(m.fencing)
    return "\n".join(lines + ["}"]) + "\n"

