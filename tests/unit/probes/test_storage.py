"""findmnt and lsblk JSON parsers."""

from __future__ import annotations

import json

from hatui.probes.storage import parse_findmnt, parse_lsblk


def test_findmnt_single_mount():
    text = json.dumps({"filesystems": [
        {"target": "/srv/ha", "source": "/dev/drbd0", "fstype": "ext4", "options": "rw,relatime"}]})
    (mount,) = parse_findmnt(text).mounts
    assert (mount.target, mount.source, mount.fstype, mount.options) == ("/srv/ha", "/dev/drbd0", "ext4", "rw,relatime")


def test_findmnt_nested_children_flattened_in_order():
    text = json.dumps({"filesystems": [{"target": "/", "source": "/dev/vda1", "fstype": "ext4", "options": "rw",
        "children": [
            {"target": "/srv/ha", "source": "/dev/drbd0", "fstype": "ext4", "options": "rw",
             "children": [{"target": "/srv/ha/nfs", "source": "nfsd", "fstype": "nfsd", "options": None}]},
            {"target": "/tmp", "source": "tmpfs", "fstype": "tmpfs", "options": "rw"}]}]})
    assert [m.target for m in parse_findmnt(text).mounts] == ["/", "/srv/ha", "/srv/ha/nfs", "/tmp"]
    assert parse_findmnt(text).mounts[2].options is None


def test_findmnt_empty_means_not_mounted():
    report = parse_findmnt("")
    assert report.mounts == () and report.error is None
    assert parse_findmnt("findmnt: can't read /proc/self/mountinfo").error


def test_lsblk_new_style_types():
    text = json.dumps({"blockdevices": [{"name": "vdb", "path": "/dev/vdb", "type": "disk", "size": 1073741824,
        "ro": False, "state": "running", "mountpoint": None,
        "children": [{"name": "vdb1", "path": "/dev/vdb1", "type": "part", "size": 1072693248, "ro": True,
                      "state": None, "mountpoint": "/srv/ha"}]}]})
    (disk,) = parse_lsblk(text).devices
    assert (disk.name, disk.path, disk.type, disk.size_bytes) == ("vdb", "/dev/vdb", "disk", 1073741824)
    assert disk.read_only is False and disk.state == "running" and disk.mountpoint is None
    (part,) = disk.children
    assert part.read_only is True and part.mountpoint == "/srv/ha" and part.size_bytes == 1072693248


def test_lsblk_old_style_strings_and_mountpoints_list():
    text = json.dumps({"blockdevices": [{"name": "loop0", "path": "/dev/loop0", "type": "loop",
        "size": "104857600", "ro": "1", "state": None, "mountpoints": [None]}]})
    (dev,) = parse_lsblk(text).devices
    assert dev.size_bytes == 104857600 and dev.read_only is True and dev.mountpoint is None


def test_lsblk_errors():
    assert parse_lsblk("lsblk: /dev/vdz: not a block device").error.startswith("lsblk output is not JSON")
    assert parse_lsblk("").error
    assert parse_lsblk("[]").error
