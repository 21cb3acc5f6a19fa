"""The lab's DRBD emulator, one per node: daemon, peer link and wire, store, fencing, local API and CLI."""
