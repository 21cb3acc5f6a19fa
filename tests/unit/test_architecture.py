"""The architecture holds: import-linter's contracts (pyproject.toml), Textual only in the console, small modules."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hatui
from tests import REPO

ROOT = REPO
# Every top-level package and module but the console, found rather than listed.
NOT_CONSOLE = sorted(m.name for m in pkgutil.iter_modules(hatui.__path__, "hatui.") if m.name != "hatui.ui")


@pytest.mark.parametrize("module", NOT_CONSOLE)
def test_nothing_but_the_console_loads_textual(module: str) -> None:
    """The contract checks imports as written; this checks what importing really loads (the CLI too)."""
    code = f"import sys, {module}; bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"{module} pulls in Textual: {out.stdout}"


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is a test dependency (pip install -e '.[test]')"
    out = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_no_module_over_400_lines() -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "hatui").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not too_long, too_long


def _cycles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles() -> None:
    """Imports written anywhere (inside functions and under TYPE_CHECKING too) form no cycle."""
    import sys as _sys

    import grimp

    _sys.setrecursionlimit(max(_sys.getrecursionlimit(), 10000))
    assert _cycles(grimp.build_graph("hatui")) == []


def test_cycle_finder_finds_a_cycle() -> None:
    class Graph:
        modules = {"a", "b", "c"}
        edges = {"a": {"b"}, "b": {"a"}, "c": {"a"}}

        def find_modules_directly_imported_by(self, m: str) -> set[str]:
            return self.edges[m]

    assert _cycles(Graph()) == [["a", "b"]]
