"""How an action run ended, as one vocabulary every front end reads.

The outcome knows what may follow: a failed step can be retried, a run that
changed something can be rolled back (unless the runner refused to: past the
point of no return), and "stopped" is every outcome that waits for the
operator's choice. Front ends ask these questions instead of comparing
strings, so a new outcome cannot be half handled.
"""

from __future__ import annotations

from enum import StrEnum


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"
    ROLLBACK_REFUSED = "rollback-refused"

    @property
    def ok(self) -> bool:
        """The run ended in a consistent state it meant to reach."""
        return self in (RunOutcome.SUCCEEDED, RunOutcome.ROLLED_BACK)

    @property
    def stopped(self) -> bool:
        """Half done: the operator chooses retry, roll back or leave as is."""
        return self in (RunOutcome.FAILED, RunOutcome.ROLLBACK_FAILED, RunOutcome.ROLLBACK_REFUSED)

    @property
    def can_retry(self) -> bool:
        """The failed forward step can run again (a refused rollback leaves that open too)."""
        return self in (RunOutcome.FAILED, RunOutcome.ROLLBACK_REFUSED)

    @property
    def can_roll_back(self) -> bool:
        return self in (RunOutcome.FAILED, RunOutcome.ROLLBACK_FAILED)


class Choice(StrEnum):
    """The operator's answer to a stopped run."""

    RETRY = "retry"
    ROLLBACK = "rollback"
    LEAVE = "leave"
