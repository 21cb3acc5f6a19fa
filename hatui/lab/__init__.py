"""The network-namespace lab: a real two-node pair on this machine (root, Linux), split by where code runs.

* :mod:`hatui.lab.host`: on the machine running the lab (root namespace): namespaces, links, the
  nodes' files and boot, faults, the node kit's install, ``hatui lab status``, the client (in its
  own namespace) and the chaos run.
* :mod:`hatui.lab.node`: inside a node's namespaces: the systemctl-compatible service manager,
  exportfs, mount/umount, the NFS and DAG-processor stand-ins.
* :mod:`hatui.lab.drbd`: the DRBD emulator of a node: its daemon, the peer link and its wire, the
  on-disk store, fencing, the local API and the ``drbdadm``/``drbdsetup`` front end.
* :mod:`hatui.lab.node_env`: a node's settings (``node.json``), written by the host, read by
  every program in the node.

Imports go host -> node -> drbd -> node_env, never back (an import-linter contract in
pyproject.toml). Nothing here imports Textual or the demo.
"""
