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


# Console commands whose keys `[keys]` may change, and their default keys (hatui.ui.keys binds them).
DEFAULT_KEYS: dict[str, str] = {
    "help": "?", "quit": "q", "refresh": "r", "failover": "F", "failback": "B", "resync": "R",
    "filter": "/", "theme": "t", "zoom": "z", "copy": "c", "findings": "f", "events": "e", "timing": "l",
}
# Keys the console keeps for navigation and dialogs: no command may take them.
FIXED_KEYS: dict[str, str] = {
    **dict.fromkeys(("up", "down", "j", "k", "home", "end"), "choosing a layer"),
    **dict.fromkeys(("left", "right", "h"), "switching node"),
    "enter": "opening details / activating the focused control", "tab": "moving focus",
    "shift+tab": "moving focus", "escape": "going back", "space": "ticking a checkbox",
    "ctrl+p": "the command palette", "ctrl+c": "copying a selection", "ctrl+q": "quitting",
}
_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_NAMED_KEYS = frozenset({"escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end",
                         "pageup", "pagedown", "up", "down", "left", "right", *(f"f{i}" for i in range(1, 25))})
_KEY_ALIASES = {"esc": "escape", "return": "enter", "del": "delete", "pgup": "pageup", "pgdn": "pagedown"}
_CHAR_NAME_REPLACEMENTS = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
                           "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}


def _char_key(char: str) -> str:
    """One printable character as the console names its key: "?" → question_mark, "F" → F."""
    import unicodedata

    if char.isalnum():
        return char
    name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    return _CHAR_NAME_REPLACEMENTS.get(name, name)


_CHAR_NAMES = {_char_key(chr(c)): chr(c) for c in range(33, 127)}


def key_name(text: str) -> str:
    """A key as written in ``[keys]`` ("?", "F", "ctrl+f", "f5") → the console's key name; ValueError if
    it is not a key a terminal can send."""
    raw = text.strip()
    if len(raw) == 1:
        if not raw.isprintable() or raw.isspace() or not raw.isascii():
            raise ValueError(f"{text!r} is not a key (use a letter, digit, punctuation mark or a key name like f5)")
        return _char_key(raw)
    *mods, base = raw.split("+") if "+" in raw[:-1] else [raw]
    mods = [m.strip().lower() for m in mods]
    bad = [m for m in mods if m not in _MODIFIERS]
    if bad:
        raise ValueError(f"{text!r}: unknown modifier {bad[0]!r} (use ctrl, shift or alt)")
    base = base.strip()
    if len(base) == 1 and base.isascii() and base.isprintable() and not base.isspace():
        name = _char_key(base.lower() if mods else base)
    else:
        name = _KEY_ALIASES.get(base.lower(), base.lower())
        if name not in _NAMED_KEYS and name not in _CHAR_NAMES:
            raise ValueError(f"{text!r} is not a key (letters, digits, punctuation, or names like f5, "
                             "pageup, ctrl+x)")
    return "+".join([*mods, name])


def key_display(name: str) -> str:
    """How a key name is shown: question_mark → ?, ctrl+f → ctrl+f."""
    *mods, base = name.split("+") if "+" in name[:-1] else [name]
    return "+".join([*mods, _CHAR_NAMES.get(base, base)])


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

        try:
            words = shlex.split(value)
        except ValueError:
            raise ValueError("has an unbalanced quote") from None
        for word in words:
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
        try:
            ipaddress.ip_interface(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address with a prefix length, e.g. 192.168.83.200/24") from None
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
    keys: dict[str, str] = Field(default_factory=dict)

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        """Each command's keys, normalized; clashes with another command or a fixed key are errors."""
        unknown = sorted(set(value) - set(DEFAULT_KEYS))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a console command (one of {', '.join(DEFAULT_KEYS)})")
        out: dict[str, str] = {}
        for command, keys in value.items():
            names = [key_name(k) for k in keys.split(",") if k.strip()] if keys.strip() != "," else [key_name(",")]
            if not names:
                raise ValueError(f"{command}: needs at least one key")
            out[command] = ",".join(names)
        taken: dict[str, str] = {}
        for command, default in DEFAULT_KEYS.items():
            for name in out.get(command, key_name(default)).split(","):
                if name in FIXED_KEYS:
                    raise ValueError(f"{command} = {key_display(name)!r} clashes with the fixed key for "
                                     f"{FIXED_KEYS[name]}")
                if name in taken:
                    raise ValueError(f"{command} = {key_display(name)!r} clashes with {taken[name]} = "
                                     f"{key_display(name)!r} (give one of them another key)")
                taken[name] = command
        return out

    def key_for(self, command: str) -> str:
        """The console key name(s) of a command ("F", "question_mark", "ctrl+f,f5")."""
        return self.keys.get(command) or key_name(DEFAULT_KEYS[command])

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


# What each pattern allows, in words (the regex itself is no help to an operator).
_PATTERN_WORDS = {
    NAME: "letters, digits and _.- only, at most 64",
    RESOURCE: "letters, digits and _.+- only, at most 64",
    UNIT: "a systemd unit name such as nfs-server.service",
    IFACE: "an interface name: letters, digits and _.:@- only, at most 15",
    HOST: "a host name or IP address: letters, digits and _.:%[]- only",
    ABS_PATH: "an absolute path of letters, digits and _./+@:,- only",
    r"^[a-z_][a-z0-9_.-]{0,31}$": "a login name: lowercase letters, digits and _.-",
    r"^[a-z0-9]{1,16}$": "a file system type such as ext4",
}
_TYPE_WORDS = {
    "string_type": "must be text in quotes",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number", "float_type": "must be a number",
    "float_parsing": "must be a number", "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "tuple_type": "must be a list in brackets, e.g. [\"…\"]", "list_type": "must be a list in brackets, e.g. [\"…\"]",
    "dict_type": "must be a table (a [section])", "model_type": "must be a table (a [section])",
    "model_attributes_type": "must be a table (a [section])", "missing": "is required",
    "extra_forbidden": "is not a known setting (typo?)",
}
_BOUND_WORDS = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most"),
                "greater_than": ("gt", "more than"), "less_than": ("lt", "less than")}


def _message(e: dict) -> str:
    """One pydantic error in hatui's words (never the library's)."""
    kind, ctx = e["type"], e.get("ctx") or {}
    loc = tuple(e["loc"])
    if kind == "string_pattern_mismatch":
        rule = _PATTERN_WORDS.get(ctx.get("pattern", ""), "plain words only")
        return f"{e['input']!r} is not allowed here ({rule})"
    if kind in _BOUND_WORDS:
        key, words = _BOUND_WORDS[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind in ("too_short", "too_long") and loc[:1] == ("nodes",):
        return f"exactly two [[nodes]] tables are needed (found {ctx.get('actual_length', '?')})"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s)"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error") or e["msg"]).removeprefix("Value error, ")
    return f"{e.get('input')!r} is not a value hatui can use here"


def _describe(err: ValidationError) -> str:
    parts = []
    errors = err.errors()
    locs = [e["loc"] for e in errors]
    for e in errors:
        # pydantic also reports the container of a bad item; the item says more.
        if any(other != e["loc"] and other[: len(e["loc"])] == e["loc"] for other in locs):
            continue
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        parts.append(f"{loc}: {_message(e)}")
    return "; ".join(dict.fromkeys(parts))


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
