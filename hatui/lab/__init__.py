"""The network-namespace lab: a real two-node pair on this machine (root, Linux).

Node side (runs *inside* a node's namespaces): the DRBD emulator daemon and its
drbdadm/drbdsetup front end, the systemctl-compatible service manager, the NFS
and DAG-processor stand-ins. Host side: namespaces, sshd, keepalived, faults
(``hatui lab up|down|status|fault``). Nothing here imports Textual.
"""
