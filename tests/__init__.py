"""hatui's tests, in folders that mirror the packages they test (``unit/<package>/``), plus the console's
Pilot and snapshot tests (``functional/``), end-to-end runs against the demo (``e2e/``) and the root-only
lab (``lab/``, marker ``lab``).

``REPO``: the repository's root (found from this file, whatever the checkout's location);
``TEST_FIXTURES``: the real tool outputs the tests read (see fixtures/README.md).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST_FIXTURES = REPO / "tests" / "fixtures"
