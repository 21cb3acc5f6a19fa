"""What a lab node's programs know about the node they run on.

``hatui lab up`` writes one JSON file per node, ``node.json``, and bind-mounts
that node's folder at ``/etc/hatui-lab`` inside the node's own mount namespace,
so every program on the node (the DRBD emulator, systemctl, the stand-ins, the
node kit) finds its node's settings at the same fixed path. Tests that run the
node programs without namespaces point ``$HATUI_LAB_ETC`` (and
``$HATUI_LAB_RUN``) at a temporary folder instead.

Fixed in-node paths (inside the node's mount namespace):

* ``/etc/hatui-lab/node.json``   this file (:class:`NodeEnv`)
* ``/etc/hatui-lab/drbd.res``    the DRBD resource's fencing policy and handlers (from the node kit)
* ``/run/hatui-lab/``            sockets, unit state, logs (a private tmpfs per node)
* ``/var/lib/hatui-lab-disk/``   the node's backing disk (a real loop-device ext4 when possible)
* ``/var/lib/hatui-lab-disk/data/``  the DRBD device's contents, one file per block key
* ``/srv/ha``                    the mount point (the data folder bind-mounted there while "mounted")
* ``/usr/local/sbin``            the lab's stand-in commands, first on root's PATH
"""

from __future__ import annotations

import json
import os

# Plain classes, not dataclasses: every stand-in command imports this module on
# every call (several per poll), and dataclasses pulls in inspect (~5 ms each).

ETC_DIR = "/etc/hatui-lab"
RUN_DIR = "/run/hatui-lab"
NODE_FILE = "node.json"


class _Record:
    """Keyword-only fields with defaults (``_FIELDS``), equality and repr by value."""

    _FIELDS: dict[str, object] = {}

    def __init__(self, **values: object) -> None:
        unknown = set(values) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
        for name, default in self._FIELDS.items():
            if name not in values and default is _REQUIRED:
                raise TypeError(f"missing field: {name}")
            value = values.get(name, default)
            setattr(self, name, dict(value) if isinstance(value, dict) else value)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self._FIELDS}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.as_dict() == self.as_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"


_REQUIRED = object()


class UnitSpec(_Record):
    """One service the lab's systemctl manages: argv, description, pid_file, ready_file, env.

    ``pid_file``: a daemon that writes its own pid file (keepalived);
    ``ready_file``: created by the program once it serves (the stand-ins).
    """

    _FIELDS = {"argv": _REQUIRED, "description": "", "pid_file": None, "ready_file": None, "env": {}}
    argv: tuple[str, ...]
    description: str
    pid_file: str | None
    ready_file: str | None
    env: dict[str, str]


class NodeEnv(_Record):
    """One lab node's settings, as written by ``hatui lab up``."""

    _FIELDS = {
        "node": _REQUIRED, "peer": _REQUIRED,
        "nodes": _REQUIRED,  # DRBD node-id order: nodes[0] has node-id 0
        "resource": "r0", "device": "/dev/drbd0", "minor": 0,
        "repl_listen": "127.0.0.1:7789",  # host:port this node's DRBD emulator listens on
        "repl_peer": "127.0.0.1:7790",  # host:port of the peer's DRBD emulator
        "disk_dir": "/var/lib/hatui-lab-disk", "mount_point": "/srv/ha", "fs_type": "ext4",
        "exports": ("/srv/ha",), "nfs_port": 2049,
        "nfs_unit": "nfs-server.service", "dag_unit": "airflow-dag-processor.service",
        "keepalived_unit": "keepalived.service",
        "sync_rate_kib_s": 400 * 1024,  # emulated resync speed (each block key is 4 MiB)
        "drbd_conf": None,  # the DRBD resource file (fencing policy, handlers); None: dont-care, no handlers
        "units": {}, "etc_dir": ETC_DIR, "run_dir": RUN_DIR,
    }
    node: str
    peer: str
    nodes: tuple[str, str]
    resource: str
    device: str
    minor: int
    repl_listen: str
    repl_peer: str
    disk_dir: str
    mount_point: str
    fs_type: str
    exports: tuple[str, ...]
    nfs_port: int
    nfs_unit: str
    dag_unit: str
    keepalived_unit: str
    sync_rate_kib_s: float
    drbd_conf: str | None
    units: dict[str, UnitSpec]
    etc_dir: str
    run_dir: str

    @property
    def data_dir(self) -> str:
        return os.path.join(self.disk_dir, "data")

    @property
    def drbd_socket(self) -> str:
        return os.path.join(self.run_dir, "drbd.sock")

    def to_json(self) -> str:
        doc = self.as_dict()
        doc.pop("etc_dir")
        doc.pop("run_dir")
        doc["units"] = {name: u.as_dict() for name, u in self.units.items()}
        return json.dumps(doc, indent=2) + "\n"

    def write(self, folder: object) -> str:
        path = os.path.join(str(folder), NODE_FILE)
        with open(path, "w") as f:
            f.write(self.to_json())
        return path


def is_mountpoint(path: str | os.PathLike) -> bool:
    """True when ``path`` is a mount point, bind mounts of the same filesystem included.

    ``os.path.ismount`` compares devices, so it misses a folder bound from the same
    filesystem (the lab's disk where there is no loop device); mountinfo does not.
    """
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            return any(len(fields) > 4 and fields[4] == target for fields in (line.split() for line in f))
    except OSError:
        return False


def load_node_env(etc_dir: str | None = None) -> NodeEnv:
    """This node's settings; ``$HATUI_LAB_ETC``/``$HATUI_LAB_RUN`` override the fixed paths."""
    etc = etc_dir or os.environ.get("HATUI_LAB_ETC", ETC_DIR)
    run = os.environ.get("HATUI_LAB_RUN", RUN_DIR)
    with open(os.path.join(etc, NODE_FILE)) as f:
        doc = json.load(f)
    units = {name: UnitSpec(argv=tuple(u["argv"]), description=u.get("description", ""),
                            pid_file=u.get("pid_file"), ready_file=u.get("ready_file"), env=dict(u.get("env", {})))
             for name, u in doc.pop("units", {}).items()}
    doc["nodes"] = tuple(doc["nodes"])
    doc["exports"] = tuple(doc.get("exports", ()))
    return NodeEnv(**doc, units=units, etc_dir=etc, run_dir=run)
