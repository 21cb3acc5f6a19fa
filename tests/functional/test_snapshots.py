"""SVG snapshots of the main screen (pytest-textual-snapshot): update with --snapshot-update after looking."""

from __future__ import annotations

import dataclasses

import pytest

from tests.functional import scenarios as sc
from tests.functional.conftest import make_app

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
# Each scene is the sequence of polls that leads to it, so events, timing and sparkline have history.
SCENES = {
    "healthy": lambda: [sc.healthy()],
    "syncing": lambda: [sc.healthy(), sc.syncing(20.0, 20480.0, sc.T0 + 2), sc.syncing(30.0, 30720.0, sc.T0 + 3),
                        sc.syncing(42.5, 40960.0, sc.T0 + 4)],
    "split_brain": lambda: [sc.healthy(), sc.split_brain()],
    "split_brain_after": lambda: [sc.healthy(), sc.split_brain(), sc.split_brain_resolved()],
    "vrrp_split": lambda: [sc.healthy(), sc.vrrp_split()],
    "vrrp_split_after": lambda: [sc.healthy(), sc.vrrp_split(), sc.vrrp_split_fixed()],
    "node_down": lambda: [sc.healthy(), sc.crashed_before_failover(), sc.node_down()],
}


def _after_polls(count: int):
    async def run_before(pilot) -> None:
        app = pilot.app
        await app.wait_for_poll(1)
        for n in range(2, count + 1):
            await pilot.press("r")
            await app.wait_for_poll(n)
        await pilot.pause()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", SCENES)
def test_main_screen(snap_compare, scene: str, size: str) -> None:
    snapshots = SCENES[scene]()
    assert snap_compare(make_app(*snapshots), terminal_size=SIZES[size], run_before=_after_polls(len(snapshots)))


def _open_plan(*keys: str, then: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        from hatui.ui.plan_screen import PlanScreen

        await pilot.app.wait_for_poll(1)
        await pilot.press(*keys)
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(pilot.app.screen, PlanScreen):
                break
        await pilot.pause()
        await pilot.press(*then)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_plan_screen(snap_compare, size: str) -> None:
    """F on a healthy pair: every step with node and command, the typed confirmation, focus in the name box."""
    assert snap_compare(make_app(sc.healthy()), terminal_size=SIZES[size], run_before=_open_plan("F"))


def _recent_role_change():
    snap = sc.healthy()
    nodes = tuple(dataclasses.replace(n, vrrp=dataclasses.replace(n.vrrp, last_transition=sc.T0 - 30))
                  for n in snap.nodes)
    return dataclasses.replace(snap, nodes=nodes)


@pytest.mark.parametrize("ticked", [False, True], ids=["unticked", "ticked"])
def test_plan_screen_switch_anyway(snap_compare, ticked: bool, tmp_path, monkeypatch) -> None:
    """A recent role change: "[ ] switch anyway — not ticked" with the focus on it; space ticks it."""
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    assert snap_compare(make_app(_recent_role_change()), terminal_size=SIZES["80x24"],
                        run_before=_open_plan("F", then=("space",) if ticked else ()))


@pytest.mark.parametrize("chosen", [False, True], ids=["open", "vm12"])
def test_split_brain_chooser(snap_compare, chosen: bool, tmp_path, monkeypatch) -> None:
    """R → split-brain: the evidence and "( ) vm2 — not chosen"; then vm12 chosen as the VICTIM."""
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path))
    then = ("down", "space") if chosen else ()
    assert snap_compare(make_app(sc.split_brain()), terminal_size=SIZES["160x48"],
                        run_before=_open_plan("R", "down", "enter", then=then))


@pytest.mark.parametrize("size", SIZES)
def test_ascii_mode(snap_compare, size: str) -> None:
    """--ascii on a crashed active node: borders, glyphs and the footer in plain ASCII."""
    snapshots = SCENES["node_down"]()
    assert snap_compare(make_app(*snapshots, ascii=True), terminal_size=SIZES[size],
                        run_before=_after_polls(len(snapshots)))
