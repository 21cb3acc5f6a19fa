"""The lab's host side: what runs on the machine running the lab (``hatui lab``, the chaos run, the client)."""
