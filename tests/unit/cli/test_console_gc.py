"""`hatui` opens the console with the garbage collector quieted (hatui/ui/gc_tuning.py)."""

from __future__ import annotations

import gc

import pytest

from hatui.cli import console
from hatui.ui import app as app_module
from hatui.ui.gc_tuning import FULL_EVERY


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_console_starts_with_what_is_loaded_frozen_and_full_collections_rarer(
        restored_gc, monkeypatch, repo) -> None:
    seen = {}

    def fake_run_console(config, **kwargs) -> None:
        seen.update(frozen=gc.get_freeze_count(), threshold=gc.get_threshold(), pair=config.cluster.name)

    monkeypatch.setattr(app_module, "run_console", fake_run_console)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    console.open_console({"config_path": str(repo / "hatui" / "config_example.toml"), "read_only": True,
                          "theme": None, "ascii": True})
    assert seen["frozen"] > 10_000  # the modules loaded by then: Textual, asyncssh, pydantic, hatui
    assert seen["threshold"][2] == FULL_EVERY and seen["threshold"][:2] == gc.get_threshold()[:2]
