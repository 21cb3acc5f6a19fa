"""The live console (Textual). Renders the core's model; never parses command output."""
