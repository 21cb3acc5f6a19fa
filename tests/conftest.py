"""Fixtures every test folder shares: where the repository and its real tool outputs are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import REPO, TEST_FIXTURES


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository's root (the checkout under test, wherever it is)."""
    return REPO


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """``tests/fixtures``: real outputs of drbdsetup, keepalived, ip … (origin of each in its README)."""
    return TEST_FIXTURES
