"""The simulated pair's node records, and what its components (:class:`~hatui.demo.vrrp.Vrrp`,
:class:`~hatui.demo.notify_kit.NotifyKit`) may use of the simulator (:class:`PairSim`).

The components are given the simulator through that protocol, so they depend on this module and
not on :mod:`hatui.demo.cluster_sim` (which owns them): no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hatui.emulator.drbd_machine import DrbdMachine


@dataclass
class Unit:
    """One systemd unit's visible state."""

    name: str
    active: bool = False
    main_pid: int = 0
    enter_wall: float | None = None  # ActiveEnterTimestamp (kept after stop, as systemd does)


@dataclass
class Keepalived:
    """keepalived's VRRP instance VI_1 on one node."""

    running: bool = True
    state: str = "BACKUP"  # INIT / BACKUP / MASTER / FAULT
    pid: int = 0
    last_transition: float = 0.0
    down_deadline: float | None = None  # simulated time the master-down timer fires
    next_advert: float = 0.0
    master_priority: int = 0
    become_master: int = 0
    release_master: int = 0
    advert_sent: int = 0
    advert_rcvd: int = 0
    pri_zero_sent: int = 0
    pri_zero_rcvd: int = 0


@dataclass
class SimNode:
    name: str
    address: str
    priority: int
    up: bool = True
    vip: bool = False
    mounted: bool = False
    hung: bool = False  # the SSH server accepts but never answers (server.py obeys)
    drop_pending: bool = False  # the SSH server cuts the next/current command
    units: dict[str, Unit] = field(default_factory=dict)
    ka: Keepalived = field(default_factory=Keepalived)
    journal: list[dict[str, object]] = field(default_factory=list)
    plan: list[tuple[float, str]] = field(default_factory=list)  # pending notify_master steps
    last_heartbeat: float | None = None  # wall time of the DAG processor's last heartbeat
    next_heartbeat: float = 0.0
    heartbeats: int = 0
    boot_wall: float = 0.0
    # Small node-local files (/run is a tmpfs: gone after a crash): path → text, None = a directory.
    files: dict[str, str | None] = field(default_factory=dict)


class PairSim(Protocol):
    """The part of :class:`~hatui.demo.cluster_sim.ClusterSim` its components use."""

    nodes: dict[str, SimNode]
    drbd: DrbdMachine
    now: float
    vrrp_blocked: bool
    advert_int: float
    step_delay: float
    vip: str
    interface: str
    device: str
    mount_point: str
    nfs_unit: str
    dag_unit: str
    keepalived_unit: str

    def wall(self) -> float: ...  # noqa: E704
    def node(self, name: str) -> SimNode: ...  # noqa: E704
    def peer_of(self, name: str) -> SimNode: ...  # noqa: E704
    def unit(self, node: str, unit: str) -> Unit: ...  # noqa: E704
    def record(self, node: str, step: str, detail: str, ok: bool = True) -> None: ...  # noqa: E704
    def start_unit(self, node: SimNode, unit: str, at: float | None = None) -> None: ...  # noqa: E704
    def stop_unit(self, node: SimNode, unit: str) -> None: ...  # noqa: E704
    def release(self, node: SimNode, why: str) -> None: ...  # noqa: E704
    def mount(self, name: str) -> str | None: ...  # noqa: E704
    def start_service(self, name: str, unit: str) -> None: ...  # noqa: E704
