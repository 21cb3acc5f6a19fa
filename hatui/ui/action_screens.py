"""Small modals of the action flow: the resync chooser and the failed-run dialog."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

RESYNC_CHOICES = (
    ("reconnect", "reconnect: after a replication link loss; waits until both are UpToDate"),
    ("split-brain", "split-brain: see both sides, choose the node whose changes are discarded"),
    ("full", "full: resync the Secondary from scratch (drbdadm invalidate; its data is thrown away)"),
    ("verify", "verify: online verify from the Primary; reports blocks out of sync"),
)


class ResyncChooser(ModalScreen[str | None]):
    """``R``: which guided resync flow (enter chooses, esc cancels)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="resync-box"):
            yield OptionList(*(Option(text, id=kind) for kind, text in RESYNC_CHOICES), id="resync-options")

    def on_mount(self) -> None:
        box = self.query_one("#resync-box")
        box.border_title = "Resync: which flow?"
        box.border_subtitle = "enter chooses · esc cancels · the plan is shown before anything runs"

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FailureScreen(ModalScreen[str]):
    """A run stopped: the failed step, its error, both nodes' state; retry, roll back or leave."""

    BINDINGS = [Binding("escape", "leave", "Leave as is")]
    AUTO_FOCUS = "#failure-leave"

    def __init__(self, result) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        r = self.result
        step = r.failed_step
        with Vertical(id="failure-box"):
            with VerticalScroll(id="failure-body"):
                yield Static(self._text(), id="failure-text")
            with Horizontal(id="failure-buttons"):
                number = f" {r.failed_index + 1}" if step is not None else ""
                yield Button(f"Retry step{number}", id="failure-retry", variant="warning",
                             disabled=not r.status.can_retry or step is None)
                yield Button("Roll back", id="failure-rollback", variant="error",
                             disabled=not r.status.can_roll_back)
                yield Button("Leave as is (free the lock)", id="failure-leave", variant="primary")

    def on_mount(self) -> None:
        box = self.query_one("#failure-box")
        box.border_title = f"{self.result.plan.kind} {self.result.status.upper()}"
        box.border_subtitle = "nothing continues past a failed step · the lock stays held until you choose"

    def _text(self) -> Text:
        r = self.result
        out = Text()
        step = r.failed_step
        if step is not None:
            out.append(f"✖ Stopped at step {r.failed_index + 1} of {len(r.plan.steps)}: ", style="bold")
            out.append(f"{step.description} on {step.node}\n")
            out.append(f"   $ {step.command}\n" if step.command else "   (wait/check step)\n")
            out.append(f"   check: {step.check.text}\n", style="dim")
        out.append("Error: ", style="bold")
        out.append(f"{r.error}\n\n")
        out.append("Both nodes now:\n", style="bold")
        for line in r.node_states() or ["(no fresh state: the nodes did not answer)"]:
            out.append(f"  {line}\n")
        out.append("\nRetry runs the failed step again and continues (steps already done are skipped). "
                   "Roll back undoes what ran, in reverse, when that is safe. Leave frees the lock and "
                   "changes nothing.", style="italic")
        return out

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss({"failure-retry": "retry", "failure-rollback": "rollback"}.get(event.button.id or "", "leave"))

    def action_leave(self) -> None:
        self.dismiss("leave")
