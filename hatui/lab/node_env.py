"""What a lab node's programs know about the node they run on.

``hatui lab up`` writes one JSON file per node, ``node.json``, and bind-mounts
that node's folder at ``/etc/hatui-lab`` inside the node's own mount namespace,
so every program on the node (the DRBD emulator, systemctl, the stand-ins, the
node kit) finds its node's settings at the same fixed path. Tests that run the
node programs without namespaces point ``$HATUI_LAB_ETC`` (and
``$HATUI_LAB_RUN``) at a temporary folder instead.

Fixed in-node paths (inside the node's mount namespace):

* ``/etc/hatui-lab/node.json``   this file (:class:`NodeEnv`)
* ``/run/hatui-lab/``            sockets, unit state, logs (a private tmpfs per node)
* ``/var/lib/hatui-lab-disk/``   the node's backing disk (a real loop-device ext4 when possible)
* ``/var/lib/hatui-lab-disk/data/``  the DRBD device's contents, one file per block key
* ``/srv/ha``                    the mount point (the data folder bind-mounted there while "mounted")
* ``/usr/local/sbin``            the lab's stand-in commands, first on root's PATH
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

ETC_DIR = "/etc/hatui-lab"
RUN_DIR = "/run/hatui-lab"
NODE_FILE = "node.json"


@dataclass(frozen=True)
class UnitSpec:
    """One service the lab's systemctl manages."""

    argv: tuple[str, ...]
    description: str = ""
    pid_file: str | None = None  # a daemon that writes its own pid file (keepalived)
    ready_file: str | None = None  # created by the program once it serves (stand-ins)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeEnv:
    """One lab node's settings, as written by ``hatui lab up``."""

    node: str
    peer: str
    nodes: tuple[str, str]  # DRBD node-id order: nodes[0] has node-id 0
    resource: str = "r0"
    device: str = "/dev/drbd0"
    minor: int = 0
    repl_listen: str = "127.0.0.1:7789"  # host:port this node's DRBD emulator listens on
    repl_peer: str = "127.0.0.1:7790"  # host:port of the peer's DRBD emulator
    disk_dir: str = "/var/lib/hatui-lab-disk"
    mount_point: str = "/srv/ha"
    fs_type: str = "ext4"
    exports: tuple[str, ...] = ("/srv/ha",)
    nfs_port: int = 2049
    nfs_unit: str = "nfs-server.service"
    dag_unit: str = "airflow-dag-processor.service"
    keepalived_unit: str = "keepalived.service"
    sync_rate_kib_s: float = 400 * 1024  # emulated resync speed (each block key is 4 MiB)
    units: dict[str, UnitSpec] = field(default_factory=dict)
    etc_dir: str = ETC_DIR
    run_dir: str = RUN_DIR

    @property
    def data_dir(self) -> str:
        return os.path.join(self.disk_dir, "data")

    @property
    def drbd_socket(self) -> str:
        return os.path.join(self.run_dir, "drbd.sock")

    def to_json(self) -> str:
        doc = asdict(self)
        doc.pop("etc_dir")
        doc.pop("run_dir")
        return json.dumps(doc, indent=2) + "\n"

    def write(self, folder: Path) -> Path:
        path = Path(folder) / NODE_FILE
        path.write_text(self.to_json())
        return path


def load_node_env(etc_dir: str | None = None) -> NodeEnv:
    """This node's settings; ``$HATUI_LAB_ETC``/``$HATUI_LAB_RUN`` override the fixed paths."""
    etc = etc_dir or os.environ.get("HATUI_LAB_ETC", ETC_DIR)
    run = os.environ.get("HATUI_LAB_RUN", RUN_DIR)
    doc = json.loads((Path(etc) / NODE_FILE).read_text())
    units = {name: UnitSpec(argv=tuple(u["argv"]), description=u.get("description", ""),
                            pid_file=u.get("pid_file"), ready_file=u.get("ready_file"), env=dict(u.get("env", {})))
             for name, u in doc.pop("units", {}).items()}
    doc["nodes"] = tuple(doc["nodes"])
    doc["exports"] = tuple(doc.get("exports", ()))
    return NodeEnv(**doc, units=units, etc_dir=etc, run_dir=run)
