"""The node kit (``scripts/node/``): render its keepalived.conf, kit.conf and DRBD fencing sections.

The kit itself is shell (``hatui-notify``, ``hatui-check``, ``hatui-fence-peer``) so
that it runs on any node without Python; this module only fills in its configuration files,
for the lab and for anyone scripting an install. Every value is validated
before it is written: names by pattern, addresses by :mod:`ipaddress`, numbers
by range, so nothing unchecked reaches keepalived's parser or a root shell that
sources kit.conf. Pure and stdlib only.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from string import Template

KIT_DIR = Path(__file__).resolve().parents[3] / "scripts" / "node"
TEMPLATE = "keepalived.conf.in"
FENCING_TEMPLATE = "drbd-fencing.res.in"
FENCE_HANDLER = "hatui-fence-peer"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # node, instance, resource names
_IFACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}")  # Linux: at most 15 characters
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,14}")
_UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,200}\.(service|target|socket)")
_PATH = re.compile(r"/[A-Za-z0-9_./@+-]{0,250}")  # absolute, no spaces, quotes or shell syntax


class KitError(ValueError):
    """A value that cannot go into the node kit's configuration."""


def require_kit_dir() -> Path:
    """The kit's folder in this checkout, or a clear error if it is not there."""
    if not (KIT_DIR / TEMPLATE).is_file():
        raise KitError(f"node kit not found at {KIT_DIR} (expected {TEMPLATE} there): "
                       "hatui must run from a checkout or an install that ships scripts/node/")
    return KIT_DIR


def _match(pattern: re.Pattern[str], value: object, what: str) -> str:
    text = str(value)
    if not pattern.fullmatch(text):
        raise KitError(f"invalid {what}: {text!r}")
    return text


def _path(value: object, what: str) -> str:
    text = _match(_PATH, value, what)
    if "/../" in text + "/" or "//" in text:
        raise KitError(f"invalid {what}: {text!r} (no '..' or '//')")
    return text


def _int(value: object, what: str, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise KitError(f"invalid {what}: {value!r} (not an integer)") from None
    if not low <= number <= high:
        raise KitError(f"invalid {what}: {number} (must be {low}..{high})")
    return number


def _ip(value: object, what: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise KitError(f"invalid {what}: {value!r} (not an IP address)") from None


def _vip(value: object) -> str:
    """``address/prefix`` (a bare address gets /32 or /128): keepalived's VIP syntax."""
    text = str(value)
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise KitError(f"invalid VIP: {text!r} (want address/prefix, e.g. 192.168.83.200/24)") from None
    return f"{iface.ip}/{iface.network.prefixlen}"


def _advert_int(value: object) -> str:
    try:
        number = float(str(value))
    except ValueError:
        raise KitError(f"invalid advert_int: {value!r}") from None
    if not 0.01 <= number <= 255:
        raise KitError(f"invalid advert_int: {number} (must be 0.01..255 seconds)")
    return f"{number:g}"


def _unicast(src: str | None, peer: str | None) -> str:
    if src is None and peer is None:
        return ("    # VRRP adverts are multicast (224.0.0.18): both nodes must share this L2 segment\n"
                "    # and multicast must not be filtered. Render with unicast peers otherwise.\n")
    if src is None or peer is None:
        raise KitError("unicast needs both unicast_src and unicast_peer (or neither, for multicast)")
    src_ip, peer_ip = _ip(src, "unicast_src"), _ip(peer, "unicast_peer")
    if ipaddress.ip_address(src_ip).version != ipaddress.ip_address(peer_ip).version or src_ip == peer_ip:
        raise KitError(f"unicast_src {src_ip} and unicast_peer {peer_ip} must be two addresses of one family")
    return ("    # VRRP adverts go straight to the peer (unicast), not to multicast 224.0.0.18:\n"
            "    # works where multicast is filtered. This node's own address, then the peer's.\n"
            f"    unicast_src_ip {src_ip}\n"
            "    unicast_peer {\n"
            f"        {peer_ip}\n"
            "    }\n")


def render_keepalived_conf(
    *, node: str, priority: int, instance: str, interface: str, vip: str, vip_label: str, vrid: int,
    advert_int: float, kit_dir: str | Path, unicast_src: str | None = None, unicast_peer: str | None = None,
) -> str:
    """keepalived.conf for one node, from ``scripts/node/keepalived.conf.in``."""
    template = Template((require_kit_dir() / TEMPLATE).read_text())
    label = _match(_LABEL, vip_label, "vip_label")
    iface = _match(_IFACE, interface, "interface")
    if len(f"{iface}:{label}") > 15:
        raise KitError(f"label {iface}:{label} is longer than 15 characters (the kernel's limit)")
    values = {
        "NODE": _match(_NAME, node, "node name"),
        "PRIORITY": str(_int(priority, "priority", 1, 254)),
        "INSTANCE": _match(_NAME, instance, "instance name"),
        "INTERFACE": iface,
        "VIP": _vip(vip),
        "VIP_LABEL": label,
        "VRID": str(_int(vrid, "vrid", 1, 255)),
        "ADVERT_INT": _advert_int(advert_int),
        "KIT_DIR": _path(str(kit_dir).rstrip("/") or "/", "kit_dir"),
        "UNICAST": _unicast(unicast_src, unicast_peer),
    }
    return template.substitute(values)


def _host(value: object, what: str) -> str:
    """An IP address or a host name; "" = not configured."""
    text = str(value)
    if text == "":
        return text
    try:
        return _ip(text, what)
    except KitError:
        return _match(re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}"), text, what)


def _names(value: object, what: str) -> str:
    words = str(value).split()
    if not words:
        raise KitError(f"invalid {what}: {value!r} (at least one name)")
    return " ".join(_match(_NAME, w, what) for w in words)


def render_drbd_fencing(*, resource: str, kit_dir: str | Path) -> str:
    """The DRBD resource's ``net { fencing ...; }`` and ``handlers`` sections (``drbd-fencing.res.in``)."""
    template = Template((require_kit_dir() / FENCING_TEMPLATE).read_text())
    return template.substitute(RESOURCE=_match(_NAME, resource, "DRBD resource"),
                               KIT_DIR=_path(str(kit_dir).rstrip("/") or "/", "kit_dir"))


def authorized_fence_key(public_key: str, kit_dir: str | Path) -> str:
    """The peer's authorized_keys line for a fencing key: it can run ``hatui-fence-peer --serve`` and nothing else."""
    key = " ".join(public_key.split()[:2])
    if not re.fullmatch(r"(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+", key):
        raise KitError(f"invalid public key for fencing: {public_key[:40]!r}")
    handler = _path(f"{str(kit_dir).rstrip('/')}/{FENCE_HANDLER}", "kit_dir")
    return (f'command="{handler} --serve",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding,'
            f"no-user-rc {key} hatui-fence\n")


# kit.conf: setting name → (validator, default). Defaults are the seed's layout.
_KIT_SETTINGS = {
    "node": (lambda v: _match(_NAME, v, "node name"), None),
    "resource": (lambda v: _match(_NAME, v, "DRBD resource"), "r0"),
    "device": (lambda v: _path(v, "device"), "/dev/drbd0"),
    "mount_point": (lambda v: _path(v, "mount_point"), "/srv/ha"),
    "fs_type": (lambda v: _match(re.compile(r"[a-z0-9]{2,16}"), v, "fs_type"), "ext4"),
    "nfs_unit": (lambda v: _match(_UNIT, v, "nfs_unit"), "nfs-server.service"),
    "dag_unit": (lambda v: _match(_UNIT, v, "dag_unit"), "airflow-dag-processor.service"),
    "vip": (_vip, None),
    "vip_interface": (lambda v: _match(_IFACE, v, "vip_interface"), None),
    "journal": (lambda v: _path(v, "journal"), "/var/lib/hatui/journal.jsonl"),
    "state_dir": (lambda v: _path(v, "state_dir"), "/run/hatui-kit"),
    "step_timeout": (lambda v: str(_int(v, "step_timeout", 1, 600)), "10"),
    "promote_wait": (lambda v: str(_int(v, "promote_wait", 0, 120)), "5"),
    "nfs_port": (lambda v: str(_int(v, "nfs_port", 1, 65535)), "2049"),
    # fencing (hatui-fence-peer): the peer on the PUBLIC network, the key that can only outdate it
    "fence_peer": (lambda v: _host(v, "fence_peer"), ""),
    "fence_user": (lambda v: _match(_NAME, v, "fence_user"), "root"),
    "fence_port": (lambda v: str(_int(v, "fence_port", 1, 65535)), "22"),
    "fence_key": (lambda v: _path(v, "fence_key"), "/etc/hatui/fence_ed25519"),
    "fence_known_hosts": (lambda v: _path(v, "fence_known_hosts"), "/etc/hatui/fence_known_hosts"),
    "fence_connect_timeout": (lambda v: str(_int(v, "fence_connect_timeout", 1, 60)), "3"),
    "fence_timeout": (lambda v: str(_int(v, "fence_timeout", 1, 600)), "15"),
    "fence_resources": (lambda v: _names(v, "fence_resources"), "r0"),
    "fence_serve_wait": (lambda v: str(_int(v, "fence_serve_wait", 0, 120)), "5"),
}


def render_kit_conf(**settings: object) -> str:
    """``/etc/hatui/kit.conf`` (sourced by the kit's shell scripts as root).

    Settings are the lower-case names of the file's variables (``node``,
    ``resource``, ``vip``, ``vip_interface``, ``journal``, ``step_timeout`` …);
    ``node``, ``vip`` and ``vip_interface`` are required, the rest default to
    the seed's layout. Unknown names are an error, not silently dropped.
    """
    unknown = sorted(set(settings) - set(_KIT_SETTINGS))
    if unknown:
        raise KitError(f"unknown kit.conf setting(s): {', '.join(unknown)} (known: {', '.join(_KIT_SETTINGS)})")
    lines = ["# hatui node kit settings, sourced by hatui-notify and hatui-check (as root).",
             "# Written by hatui.lab.host.kit.render_kit_conf; see scripts/node/hatui-kit.conf.example."]
    for name, (check, default) in _KIT_SETTINGS.items():
        value = settings.get(name, default)
        if value is None:
            raise KitError(f"kit.conf needs {name}")
        # Validated values contain no quote, space or shell syntax; quoting is belt and braces.
        lines.append(f"{name.upper()}='{check(value)}'")
    return "\n".join(lines) + "\n"
