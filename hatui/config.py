"""TOML configuration → validated, immutable, typed config.

Pydantic does the typing and reports *where* a value is wrong (``nodes.1.port``);
the patterns below make sure every value that can reach a remote shell is a
plain word before it is ever quoted, so a config file cannot smuggle shell
syntax onto a node even by mistake. The file format is documented in README.md.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hatui import paths
from hatui.errors import ConfigError

NAME = r"^[A-Za-z0-9_.-]{1,64}$"
RESOURCE = r"^[A-Za-z0-9_.+-]{1,64}$"
UNIT = r"^[A-Za-z0-9_.@:\\-]{1,128}\.(service|socket|target|mount)$"
IFACE = r"^[A-Za-z0-9_.:@-]{1,15}$"
HOST = r"^[A-Za-z0-9_.:%\[\]-]{1,253}$"
ABS_PATH = r"^/[A-Za-z0-9_./+@:,-]*$"
PREFIX_WORD = r"^[A-Za-z0-9_./=:,-]+$"

Name = Annotated[str, Field(pattern=NAME)]
AbsPath = Annotated[str, Field(pattern=ABS_PATH, max_length=4096)]
UnitName = Annotated[str, Field(pattern=UNIT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterConfig(_Strict):
    name: Name = "cluster"
    poll_interval: Annotated[float, Field(ge=0.2, le=3600)] = 2.0
    command_timeout: Annotated[float, Field(ge=0.5, le=600)] = 10.0
    connect_timeout: Annotated[float, Field(ge=0.5, le=600)] = 5.0
    command_prefix: str = ""
    preferred_node: Name | None = None

    @field_validator("command_prefix")
    @classmethod
    def _prefix_words(cls, value: str) -> str:
        import re

        for word in shlex.split(value):
            if not re.match(PREFIX_WORD, word):
                raise ValueError(f"word {word!r} is not allowed (letters, digits and _./=:,- only)")
        return value

    @property
    def prefix_words(self) -> tuple[str, ...]:
        return tuple(shlex.split(self.command_prefix))


class NodeConfig(_Strict):
    name: Name
    host: Annotated[str, Field(pattern=HOST)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")] | None = None
    identity_file: str | None = None
    known_hosts: str | None = None


class VipConfig(_Strict):
    address: str = Field(description="address/prefix")
    interface: Annotated[str, Field(pattern=IFACE)]

    @field_validator("address")
    @classmethod
    def _interface_address(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError("needs a prefix length, e.g. 192.168.83.200/24")
        ipaddress.ip_interface(value)  # raises ValueError with a clear text
        return value

    @property
    def ip(self) -> str:
        """The VIP without prefix length, as `ip addr` shows it."""
        return str(ipaddress.ip_interface(self.address).ip)


class KeepalivedConfig(_Strict):
    instance: Name = "VI_1"
    unit: UnitName = "keepalived.service"
    pid_file: AbsPath = "/run/keepalived.pid"
    json_file: AbsPath = "/tmp/keepalived.json"


class DrbdResourceConfig(_Strict):
    resource: Annotated[str, Field(pattern=RESOURCE)]
    device: AbsPath
    mount_point: AbsPath
    fs_type: Annotated[str, Field(pattern=r"^[a-z0-9]{1,16}$")] = "ext4"
    backing_disk: AbsPath | None = None


class NfsConfig(_Strict):
    unit: UnitName = "nfs-server.service"
    exports: tuple[AbsPath, ...] = ()


class DagProcessorConfig(_Strict):
    unit: UnitName = "airflow-dag-processor.service"
    # Run as given on the node (it is the operator's own command); it is not
    # interpolated with anything else and runs under the command timeout.
    health_command: str | None = None
    health_every: Annotated[int, Field(ge=1, le=1000)] = 5


class ServicesConfig(_Strict):
    nfs: NfsConfig = NfsConfig()
    dag_processor: DagProcessorConfig = DagProcessorConfig()


class TimingConfig(_Strict):
    """The documented failover sequence: seconds after T+0 (the seed's defaults)."""

    detect: Annotated[float, Field(ge=0)] = 10
    vip: Annotated[float, Field(ge=0)] = 15
    promote: Annotated[float, Field(ge=0)] = 20
    mount: Annotated[float, Field(ge=0)] = 25
    services: Annotated[float, Field(ge=0)] = 30
    available: Annotated[float, Field(ge=0)] = 35

    @model_validator(mode="after")
    def _ordered(self) -> TimingConfig:
        steps = [self.detect, self.vip, self.promote, self.mount, self.services, self.available]
        if steps != sorted(steps):
            raise ValueError("detect ≤ vip ≤ promote ≤ mount ≤ services ≤ available must hold")
        return self


class Config(_Strict):
    cluster: ClusterConfig = ClusterConfig()
    nodes: tuple[NodeConfig, NodeConfig]
    vip: VipConfig
    keepalived: KeepalivedConfig = KeepalivedConfig()
    drbd: Annotated[tuple[DrbdResourceConfig, ...], Field(min_length=1)]
    services: ServicesConfig = ServicesConfig()
    timing: TimingConfig = TimingConfig()
    theme: Annotated[str, Field(pattern=NAME)] | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        names = [n.name for n in self.nodes]
        if names[0] == names[1]:
            raise ValueError(f"the two nodes must have different names (both are {names[0]!r})")
        pref = self.cluster.preferred_node
        if pref is not None and pref not in names:
            raise ValueError(f"cluster.preferred_node {pref!r} is not one of the nodes {names}")
        resources = [d.resource for d in self.drbd]
        if len(set(resources)) != len(resources):
            raise ValueError("drbd resource names must be unique")
        return self

    @property
    def node_names(self) -> tuple[str, str]:
        return (self.nodes[0].name, self.nodes[1].name)

    @property
    def preferred(self) -> str:
        """The node failback returns the active role to."""
        return self.cluster.preferred_node or self.nodes[0].name

    def node(self, name: str) -> NodeConfig:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def _describe(err: ValidationError) -> str:
    parts = []
    errors = err.errors()
    locs = [e["loc"] for e in errors]
    for e in errors:
        # pydantic also reports the container of a bad item; the item says more.
        if any(other != e["loc"] and other[: len(e["loc"])] == e["loc"] for other in locs):
            continue
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "string_pattern_mismatch":
            msg = f"{e['input']!r} is not allowed here (must match {e['ctx']['pattern']})"
        elif e["type"] == "missing":
            msg = "is required"
        elif e["type"] == "extra_forbidden":
            msg = "is not a known setting (typo?)"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text; raises :class:`ConfigError` with one clear line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, then $HATUI_CONFIG, then the XDG config dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("HATUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return paths.default_config_file()


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Find, read and validate the config; :class:`ConfigError` says what is wrong."""
    path = resolve_config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no config at {path} (create one with `hatui config example > {path}`, or try `hatui demo`)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    return parse_config(text, str(path))
