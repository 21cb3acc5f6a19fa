"""The fleet overview with the keyboard only: rows, sort, filter, enter/esc, a broken pair, a hung pair.

Every pair has a scripted poller (tests/functional/scenarios.py pictures) and the clock sits at
T0 + 30 s, so rows and ages are fixed; overview polls happen only when asked (`r`) unless a
test says otherwise. What is checked is what the operator sees: the table's cells (read
through DataTable's public API), the line under it, the header, and the notifications.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from hatui.fleet import Fleet, PairEntry
from hatui.model import ClusterSnapshot
from hatui.probes.journal import JournalEntry
from hatui.ui.fleet_app import FleetApp
from hatui.ui.fleet_screen import FleetHeader, FleetScreen, PairDetail
from hatui.ui.fleet_table import FleetTable
from hatui.ui.main_screen import MainScreen
from tests import builders as b
from tests.functional import scenarios as sc

NOW = sc.T0 + 30
FOLDER = Path("/etc/hatui/conf.d")
BROKEN = f"{FOLDER}/zz-broken.toml: nodes: is required; vip.adress: is not a known setting (typo?)"


def pair_config(name: str, **cluster):
    config = b.config()
    return config.model_copy(update={"cluster": config.cluster.model_copy(update={"name": name, **cluster})})


def named(snap: ClusterSnapshot, name: str) -> ClusterSnapshot:
    return dataclasses.replace(snap, config=pair_config(name))


def took_over_10_min_ago() -> ClusterSnapshot:
    """Healthy, and vm2's node kit journal has its takeover of ten minutes ago."""
    steps = ("detect", "vip", "promote", "mount", "nfs", "dag", "available")
    journal = tuple(JournalEntry(sc.T0 - 600 + i * 0.5, "vm2", step, "ok") for i, step in enumerate(steps))
    snap = sc.healthy()
    return dataclasses.replace(snap, nodes=(dataclasses.replace(snap.nodes[0], journal=journal), snap.nodes[1]))


def scenes() -> dict[str, list[ClusterSnapshot]]:
    """Each pair's polls in order (the last one repeats)."""
    return {
        "nfs-a": [sc.healthy()],
        "nfs-b": [sc.node_down()],
        "nfs-c": [sc.syncing()],
        "nfs-d": [sc.split_brain()],
        "nfs-e": [sc.healthy(), sc.vip_moved(sc.T0 + 20)],  # vm2 → vm12 seen between its two polls
        "nfs-f": [took_over_10_min_ago()],
    }


def fleet_of(names, broken: bool = True, **cluster) -> Fleet:
    entries = [PairEntry(n, FOLDER / f"{n}.toml", pair_config(n, **cluster)) for n in names]
    if broken:
        entries.append(PairEntry("zz-broken", FOLDER / "zz-broken.toml", None, BROKEN))
    return Fleet(FOLDER, tuple(entries))


class NotedFleetApp(FleetApp):
    """The fleet console, keeping every notification it showed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def notify(self, message: str, *, title: str = "", **kwargs) -> None:
        self.notes.append(f"{title}: {message}" if title else message)
        super().notify(message, title=title, **kwargs)


def make_fleet_app(pictures: dict[str, list[ClusterSnapshot]] | None = None, *, pollers=None, fleet=None,
                   **kwargs) -> NotedFleetApp:
    pictures = pictures if pictures is not None else scenes()
    pollers = pollers or {n: sc.ScriptedPoller(*(named(s, n) for s in snaps)) for n, snaps in pictures.items()}
    kwargs.setdefault("fleet_interval", 3600)
    kwargs.setdefault("poll_interval", 3600)
    kwargs.setdefault("stagger", 0)
    return NotedFleetApp(fleet or fleet_of(pictures), make_poller=lambda e: pollers[e.name], clock=lambda: NOW,
                         **kwargs)


def table(app) -> FleetTable:
    return app.overview.query_one(FleetTable)


def rows(app) -> list[list[str]]:
    t = table(app)
    return [[cell.plain.strip() for cell in t.get_row_at(i)] for i in range(t.row_count)]


def column(app, name: str) -> list[str]:
    index = table(app).columns_shown.index(name)
    return [r[index] for r in rows(app)]


def detail(app) -> str:
    return str(app.overview.query_one(PairDetail).content)


def header(app) -> str:
    return str(app.overview.query_one(FleetHeader).content)


async def until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def polled(app, pilot, count: int | None = None) -> None:
    """Until every pair with a config has answered ``count`` times (default once) and the table shows it."""
    count = count or 1
    await until(lambda: all(w.polls >= count for w in app.polling.watches.values() if w.poller is not None))
    await until(lambda: "polling" not in header(app) and not any("first poll" in r[-1] for r in rows(app)))
    await pilot.pause(0.3)  # the table draws what came in meanwhile (at most every 0.25 s)


WIDE = (160, 48)


@pytest.mark.asyncio
async def test_one_row_per_pair_worst_first() -> None:
    app = make_fleet_app()
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        assert column(app, "pair") == ["nfs-b", "nfs-d", "zz-broken", "nfs-c", "nfs-a", "nfs-e", "nfs-f"]
        by_pair = {r[1]: r for r in rows(app)}
        assert by_pair["nfs-b"][:6] == ["✖ CRITICAL", "nfs-b", "vm12", "vm12 (vm2 unknown)", "Connecting", "—"]
        assert by_pair["nfs-b"][7].startswith("node-unreachable vm2: vm2 is unreachable")
        assert by_pair["nfs-c"][0] == "▲ WARNING" and by_pair["nfs-c"][5] == "vm2→vm12 42.5% ETA 0:29"
        assert by_pair["nfs-d"][2:4] == ["vm2+vm12", "BOTH vm2 + vm12"]
        assert by_pair["nfs-d"][7].startswith("split-brain")
        assert by_pair["nfs-a"] == ["✔ OK", "nfs-a", "vm2", "vm2", "Connected", "—", "—", "—"]
        # the node kit's takeover ten minutes (and 30 s) before the console's clock
        assert by_pair["nfs-f"][6] == "10m30s ago"
        assert "7 pairs" in header(app) and "✖ 2 CRITICAL" in header(app) and "✔ 3 OK" in header(app)
        # the cursor starts on the worst pair, whose root finding is shown whole under the table
        assert detail(app).startswith("nfs-b ✖ CRITICAL  node-unreachable vm2: vm2 is unreachable")
        assert "→ vm12 serves." in detail(app)


@pytest.mark.asyncio
async def test_a_broken_pair_is_a_row_with_its_error() -> None:
    app = make_fleet_app()
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        broken = next(r for r in rows(app) if r[1] == "zz-broken")
        assert broken[0] == "? UNKNOWN" and broken[7].startswith("error: /etc/hatui/conf.d/zz-broken.toml: nodes")
        await pilot.press("down", "down")
        assert detail(app) == f"zz-broken ? UNKNOWN  error: {BROKEN}"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen) and app.pair is None
        assert "zz-broken cannot be opened: " in app.notes[-1] and "Fix /etc/hatui/conf.d/zz-broken.toml" in app.notes[-1]


@pytest.mark.asyncio
async def test_s_cycles_the_sort_and_the_cursor_stays_on_its_pair() -> None:
    app = make_fleet_app()
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        await pilot.press("r")  # nfs-e's second poll: vm2 → vm12 seen 10 s before the clock
        await polled(app, pilot, 2)
        assert dict(zip(column(app, "pair"), column(app, "failover")))["nfs-e"] == "10s ago"
        await pilot.press("down", "down", "down")  # nfs-c
        assert table(app).selected_key == "nfs-c"
        await pilot.press("s")
        await pilot.pause()
        assert column(app, "pair") == ["nfs-a", "nfs-b", "nfs-c", "nfs-d", "nfs-e", "nfs-f", "zz-broken"]
        assert "sorted: name" in header(app) and table(app).selected_key == "nfs-c"
        await pilot.press("s")
        await pilot.pause()
        # most recent failover first, pairs without one (—) after them by name
        assert column(app, "pair")[:2] == ["nfs-e", "nfs-f"] and column(app, "failover")[2:] == ["—"] * 5
        assert "sorted: last failover" in header(app)
        await pilot.press("s")
        await pilot.pause()
        assert column(app, "pair")[:3] == ["nfs-b", "nfs-d", "zz-broken"] and "sorted: worst first" in header(app)
        assert table(app).selected_key == "nfs-c"


@pytest.mark.asyncio
async def test_slash_filters_by_name_or_any_text_and_esc_clears() -> None:
    app = make_fleet_app()
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        await pilot.press("slash", *"nfs-c")
        await pilot.pause()
        assert column(app, "pair") == ["nfs-c"] and "filter 'nfs-c': 1 of 7 pairs" in header(app)
        await pilot.press(*["backspace"] * 5, *"critical")
        await pilot.pause()
        assert column(app, "pair") == ["nfs-b", "nfs-d"]
        await pilot.press("enter")  # keeps the filter, back in the table
        await pilot.press("down")
        assert table(app).selected_key == "nfs-d" and "filter 'critical'" in header(app)
        await pilot.press("slash", *["backspace"] * 8, *"split-brain")  # any text: the root finding
        await pilot.pause()
        assert column(app, "pair") == ["nfs-d"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(rows(app)) == 7 and "filter" not in header(app).split("·")[0]
        await pilot.press("slash", *"no-such-pair", "enter")
        await pilot.pause()
        assert rows(app) == [] and detail(app) == "no pair matches 'no-such-pair' (esc clears the filter)"
        await pilot.press("enter")
        assert app.notes[-1].startswith("open: no pair to open")


@pytest.mark.asyncio
async def test_enter_opens_the_pair_screen_and_esc_comes_back() -> None:
    pictures = scenes()
    pollers = {n: sc.ScriptedPoller(*(named(s, n) for s in snaps)) for n, snaps in pictures.items()}
    app = make_fleet_app(pollers=pollers)
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        await pilot.press("down", "down", "down", "enter")  # nfs-c, syncing
        await until(lambda: isinstance(app.screen, MainScreen) and app.snapshot is not None)
        assert app.pair == "nfs-c" and app.snapshot.config.cluster.name == "nfs-c"
        await until(lambda: pollers["nfs-c"].polls >= 2)  # the pair screen polls it itself
        assert app.snapshot.facts.main.resync is not None
        overview_polls = {n: p.polls for n, p in pollers.items()}
        await pilot.press("r")  # the pair screen's refresh: this pair only
        await until(lambda: pollers["nfs-c"].polls > overview_polls["nfs-c"])
        assert all(pollers[n].polls == overview_polls[n] for n in pollers if n != "nfs-c")
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")  # closes the help, still on the pair
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen) and app.pair is None
        assert table(app).selected_key == "nfs-c"
        await pilot.press("up", "up", "enter")  # another pair: its own config, poller and trackers
        await until(lambda: isinstance(app.screen, MainScreen) and app.snapshot is not None)
        assert app.pair == "nfs-d" and app.config.cluster.name == "nfs-d" and app.poller is pollers["nfs-d"]
        assert app.snapshot.config.cluster.name == "nfs-d" and app.snapshot.facts.split_brain


@pytest.mark.asyncio
async def test_esc_in_the_events_pane_without_a_filter_goes_back_to_the_overview() -> None:
    app = make_fleet_app()
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, MainScreen) and app.snapshot is not None)
        await pilot.press("e")  # the Events pane has focus, no filter open
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen) and app.pair is None


@pytest.mark.asyncio
async def test_pair_keys_on_the_overview_say_to_open_a_pair() -> None:
    app = make_fleet_app()
    async with app.run_test(size=WIDE) as pilot:
        await polled(app, pilot)
        for key in ("F", "z", "e"):
            await pilot.press(key)
            await pilot.pause()
            assert "works on one pair: choose it and press enter" in app.notes[-1], key
        await pilot.press("x")
        assert app.notes[-1] == "'x' is not a key here: ? lists every key"
        await pilot.press("t")  # themes: the table is drawn again in the new theme's colours
        await pilot.pause()
        assert app.notes[-1] == f"theme {app.theme}" and len(rows(app)) == 7
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "FleetHelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen)


class HangingPoller:
    """A pair whose poll never finishes (its nodes accept and never answer)."""

    def __init__(self) -> None:
        self.polls = 0

    async def poll(self) -> ClusterSnapshot:
        self.polls += 1
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_hung_pair_does_not_delay_the_others() -> None:
    """Each pair on its own: the others answer every interval while the hung one waits out its own bound
    (connect 0.5 + command 0.5 + 3 s), then says so in its row."""
    pictures = {"nfs-a": [sc.healthy()], "nfs-b": [sc.node_down()], "nfs-c": [sc.syncing()]}
    pollers = {n: sc.ScriptedPoller(*(named(s, n) for s in snaps)) for n, snaps in pictures.items()}
    pollers["nfs-h"] = HangingPoller()
    fleet = fleet_of(["nfs-h", *pictures], broken=False, connect_timeout=0.5, command_timeout=0.5)
    app = make_fleet_app(pollers=pollers, fleet=fleet, fleet_interval=0.3, stagger=2.0)
    async with app.run_test(size=WIDE) as pilot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await until(lambda: all(pollers[n].polls >= 3 for n in pictures), timeout=3)
        assert loop.time() - started < 3.0
        await pilot.pause(0.3)
        by_pair = {r[1]: r for r in rows(app)}
        assert by_pair["nfs-h"][0] == "… polling" and by_pair["nfs-a"][0] == "✔ OK"
        await until(lambda: "no answer" in {r[1]: r for r in rows(app)}["nfs-h"][-1], timeout=8)
        hung = {r[1]: r for r in rows(app)}["nfs-h"]
        assert hung[0] == "? UNKNOWN" and hung[-1] == "error: no answer from the pair within 4s"
        assert pollers["nfs-a"].polls >= 10  # kept its 0.3 s pace all along


def test_the_console_opens_the_overview_only_for_more_than_one_pair(tmp_path, monkeypatch) -> None:
    """`hatui` (and `hatui demo --pairs N`): a folder of two pair files opens the overview; one file its pair."""
    from hatui.cli import console as cli

    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    text = b.EXAMPLE
    (tmp_path / "a.toml").write_text(text.replace('name = "ha-pair"', 'name = "nfs-a"'))
    fleet, path = cli._console_pairs(str(tmp_path))
    assert fleet is None and path == str(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text(text.replace('name = "ha-pair"', 'name = "nfs-b"'))
    fleet, path = cli._console_pairs(str(tmp_path))
    assert path is None and fleet.names == ("nfs-a", "nfs-b")
    opened = []
    monkeypatch.setattr("hatui.ui.fleet_app.run_fleet_console", lambda f, **kw: opened.append((f.names, kw)))
    cli.open_console({"config_path": str(tmp_path), "read_only": True, "theme": None, "ascii": False})
    assert opened == [(("nfs-a", "nfs-b"), {"read_only": True, "theme": None, "ascii": False})]
