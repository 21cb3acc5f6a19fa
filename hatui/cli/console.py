"""`hatui` with no command: the console on the configured pair, or the fleet overview when the
configuration names more than one pair (without Textual installed: ``status --watch``)."""

from __future__ import annotations

from hatui.config import load_config
from hatui.errors import HatuiError

from hatui.cli.errors import one_line_errors
from hatui.cli.status import watch_status


@one_line_errors
def open_console(opts: dict) -> None:
    fleet, config_path = _console_pairs(opts["config_path"])
    if fleet is not None:  # more than one pair: the fleet overview first (hatui/ui/fleet_app.py)
        from hatui.ui.ascii import locale_is_utf8
        from hatui.ui.fleet_app import run_fleet_console
        from hatui.ui.gc_tuning import quiet_gc

        quiet_gc()
        run_fleet_console(fleet, read_only=opts["read_only"], theme=opts["theme"],
                          ascii=bool(opts.get("ascii")) or not locale_is_utf8())
        return
    config = load_config(config_path)
    try:
        from hatui.ui.app import run_console  # the Textual layer is optional at import time
    except ImportError:
        watch_status(config)
        return
    from hatui.ui.ascii import locale_is_utf8
    from hatui.ui.gc_tuning import quiet_gc

    quiet_gc()
    run_console(config, read_only=opts["read_only"], theme=opts["theme"],
                ascii=bool(opts.get("ascii")) or not locale_is_utf8())


def _console_pairs(config_path: str | None):
    """``(fleet, None)`` when more than one pair is configured, else ``(None, the one pair file)``."""
    from hatui.fleet import fleet_files, load_fleet

    try:
        _source, files = fleet_files(config_path)
    except HatuiError:
        return None, config_path  # load_config says what is missing, as it always did
    return (load_fleet(config_path), None) if len(files) > 1 else (None, str(files[0]))
