"""`python -m hatui.cli`: the same as the `hatui` command."""

from hatui.cli import main

main()
