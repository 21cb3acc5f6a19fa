"""``exportfs -v`` parser (layout from nfs-utils exportfs.c dump())."""

from __future__ import annotations

from hatui.probes.nfs import parse_exportfs

OPTS = "sync,wdelay,hide,no_subtree_check,fsid=1,sec=sys,rw,secure,root_squash,no_all_squash"


def test_long_path_wraps_client_onto_next_line():
    # paths longer than 14 characters: printf("%-14s\n\t\t%s", path, client)
    text = f"/srv/ha/export/data\n\t\t<world>({OPTS})\n/srv/ha/export/other\n\t\t192.168.10.0/24(ro,sync)\n"
    first, second = parse_exportfs(text).exports
    assert first.path == "/srv/ha/export/data" and first.client == "*"
    assert first.options == tuple(OPTS.split(",")) and "fsid=1" in first.options
    assert (second.path, second.client, second.options) == ("/srv/ha/export/other", "192.168.10.0/24", ("ro", "sync"))


def test_fourteen_character_path_stays_on_one_line():
    (export,) = parse_exportfs(f"/srv/ha/export\t<world>({OPTS})\n").exports
    assert export.path == "/srv/ha/export" and export.client == "*"


def test_short_path_padded_with_tab():
    # printf("%-14s\t%s", path, client): padding to 14 columns, then a tab
    text = f"/srv/nfs      \t<world>({OPTS})\n/a b          \tnodeb.example(rw)\n"
    one, two = parse_exportfs(text).exports
    assert (one.path, one.client) == ("/srv/nfs", "*") and one.options[-1] == "no_all_squash"
    assert (two.path, two.client, two.options) == ("/a b", "nodeb.example", ("rw",))


def test_empty_warnings_and_errors():
    assert parse_exportfs("").exports == () and parse_exportfs("").error is None
    warn = "exportfs: /etc/exports [1]: Neither 'subtree_check' or 'no_subtree_check' specified\n"
    mixed = parse_exportfs(warn + f"/srv/nfs      \t<world>({OPTS})\n")
    assert len(mixed.exports) == 1 and mixed.error is None
    err = parse_exportfs("exportfs: could not open /var/lib/nfs/.etab.lock for locking: errno 13 (Permission denied)")
    assert err.exports == () and err.error.startswith("exportfs: could not open")
