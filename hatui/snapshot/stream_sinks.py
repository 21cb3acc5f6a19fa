"""What the two streams feed: DRBD's events2 state and the node kit's journal window.

Both follow :class:`~hatui.snapshot.stream_follow.LineSink`: ``reset()`` when
a run starts (so a reconnect starts from the fresh initial output),
``feed(line)`` → changed, ``live`` once the state is complete.
"""

from __future__ import annotations

from collections import deque

from hatui.probes.events2 import Events2State
from hatui.probes.journal import JournalEntry, parse_journal
from hatui.probes.records import DrbdReport

# The poll reads the last 200 journal lines (catalog.JOURNAL_LINES); the stream keeps the same window.
JOURNAL_WINDOW = 200


class DrbdEventsSink:
    """``drbdsetup events2`` lines → the node's current DRBD report (once the initial dump ended)."""

    def __init__(self) -> None:
        self.state = Events2State()
        self._report: DrbdReport | None = None

    def reset(self) -> None:
        self.state.reset()
        self._report = None

    def feed(self, line: str) -> bool:
        changed = bool(self.state.feed(line))
        if changed:
            self._report = None
            # The recent helper calls ride on the report; the queue is for one-shot readers: keep it empty.
            self.state.take_helper_calls()
        return changed

    @property
    def live(self) -> bool:
        return bool(self.state.initial_done)

    @property
    def malformed(self) -> int:
        return int(self.state.malformed)

    def report(self) -> DrbdReport | None:
        """The DRBD state as the stream tells it (None until the initial dump ended)."""
        if not self.live:
            return None
        if self._report is None:
            self._report = self.state.report()
        return self._report


class JournalSink:
    """``tail -n 200 -F`` of the node kit's journal → its last :data:`JOURNAL_WINDOW` entries.

    Live once the stream delivered a line (an empty or missing journal leaves
    the poll reading it, as before). A line seen twice (``tail -F`` re-reading
    a replaced file) is kept once.
    """

    def __init__(self) -> None:
        self.entries: deque[JournalEntry] = deque(maxlen=JOURNAL_WINDOW)
        self._keys: set[tuple] = set()
        self._fed = False

    def reset(self) -> None:
        self.entries.clear()
        self._keys.clear()
        self._fed = False

    def feed(self, line: str) -> bool:
        self._fed = True
        parsed = parse_journal(line)
        if not parsed:
            return False
        entry = parsed[0]
        key = (entry.ts, entry.node, entry.step, entry.detail, entry.ok)
        if key in self._keys:
            return False
        if len(self.entries) == self.entries.maxlen:
            old = self.entries[0]
            self._keys.discard((old.ts, old.node, old.step, old.detail, old.ok))
        self.entries.append(entry)
        self._keys.add(key)
        return True

    @property
    def live(self) -> bool:
        return self._fed

    def window(self) -> tuple[JournalEntry, ...]:
        return tuple(self.entries)
