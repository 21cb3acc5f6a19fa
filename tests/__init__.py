"""hatui's tests. ``TEST_FIXTURES``: the real tool outputs the tests read (see fixtures/README.md)."""

from pathlib import Path

TEST_FIXTURES = Path(__file__).resolve().parent / "fixtures"
