"""What runs inside a lab node's namespaces: systemctl, exportfs, mount and the service stand-ins."""
