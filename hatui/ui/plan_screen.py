"""The plan screen: every step of an action, its refusals, and the typed confirmation.

Opened by ``F`` / ``B`` / ``R`` (see :mod:`hatui.ui.actions_ui`) after the plan
was built from the latest snapshot and preflight ran. It shows the refusals
first (each with what to do, in the console's own controls), then warnings, a
split brain's evidence with the victim chooser, and every step with its node
and exact command. The operator types the target node's name (for a split
brain: the victim's); the run button stays disabled until it matches, nothing
blocks, and a recent role change is acknowledged with ``[x] switch anyway``.

Focus follows the reading order (the body, the checkbox, the victim list,
then Cancel, the name box, Run) and starts on the first decision still open:
the checkbox, else the victim list, else the name box (the body when nothing
can run). ``enter`` acts on the focused control and never cancels by itself;
``esc`` or the Cancel button cancels.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from hatui.actions.guards import Refusal
from hatui.actions.plan import Plan
from hatui.actions.session import ACKABLE, Decision, Prepared
from hatui.ui.console_hints import console_hint
from hatui.ui.controls import ChoiceList, Toggle

DEFAULT_KEYS = {"failover": "F", "failback": "B", "resync": "R"}


def refusal_text(refusals: list[Refusal], *, acked: bool = False, keys: dict[str, str] | None = None) -> Text:
    out = Text()
    for r in refusals:
        ackable = r.code in ACKABLE
        head = ("✔ ACKNOWLEDGED: " if acked else "▲ NEEDS YOUR OK: ") if ackable else "✖ REFUSED: "
        out.append(head, style="bold" if ackable and acked else "bold reverse")
        out.append(f"{r.reason}\n")
        out.append(f"   → {console_hint(r.hint, keys or DEFAULT_KEYS)}\n" if r.hint else "", style="italic")
    out.rstrip()
    return out


def steps_text(plan: Plan) -> Text:
    out = Text()
    out.append(f"{plan.title}\n\n", style="bold")
    for i, s in enumerate(plan.steps, 1):
        out.append(f"{i:2d}. ", style="bold")
        out.append(f"{s.node:<6} ", style="bold")
        out.append(f"[{s.phase}] {s.description}\n")
        out.append(f"    $ {s.command}\n" if s.command is not None else "    (waits and checks only)\n",
                   style="bold" if s.command else "dim")
        out.append(f"    check: {s.check.text} ({s.wait_text})\n", style="dim")
    for note in plan.notes:
        out.append(f"note: {note}\n", style="italic")
    for w in plan.warnings:
        out.append(f"▲ warning: {w.message}\n", style="bold")
    return out


class PlanScreen(ModalScreen[Decision | None]):
    """Review a plan and confirm it by typing the node name."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "explain", show=False)]
    AUTO_FOCUS = None

    def __init__(self, label: str, prepared: Prepared, *, rebuild: Callable[[str], Prepared] | None = None,
                 victims: tuple[str, ...] = (), evidence: list[str] | None = None,
                 keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.label = label  # "failover", "resync split-brain" …
        self.prepared = prepared
        self.rebuild = rebuild
        self.victims = victims
        self.evidence = evidence or []
        self.keys = keys or DEFAULT_KEYS
        self.typed = ""

    @property
    def split_brain(self) -> bool:
        return bool(self.victims)

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            with VerticalScroll(id="plan-body"):
                yield Static(id="plan-refusals")
                yield Toggle("switch anyway", on_word="ticked: the recent role change is accepted",
                             off_word="not ticked: the run stays refused", id="plan-ack")
                if self.split_brain:
                    yield Static(self._evidence(), id="plan-evidence")
                    yield ChoiceList(list(self.victims), chosen_word="VICTIM: its changes since the split are discarded",
                                     other_word="survivor: keeps its changes", id="plan-victim")
                yield Static(id="plan-steps")
            yield Static(id="plan-hint")
            with Horizontal(id="plan-confirm"):
                yield Button("Cancel", id="plan-cancel", variant="primary")
                yield Input(id="plan-input", placeholder="type the node name", select_on_focus=False)
                yield Button(f"Run {self.label}", id="plan-run", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = f"Plan: {self.label}"
        self.query_one("#plan-box").border_subtitle = ("esc or Cancel closes · tab moves · space ticks/chooses · "
                                                       "nothing runs until you confirm")
        self._show()
        self.first_open_control().focus()

    def first_open_control(self) -> Widget:
        """Where focus starts: the first decision still open, in reading order."""
        prep = self.prepared
        if prep.needs_ack and not prep.blocking and not self.acked:
            return self.query_one(Toggle)
        if self.split_brain and self.query_one(ChoiceList).chosen is None:
            return self.query_one(ChoiceList)
        box = self.query_one(Input)
        return self.query_one("#plan-body") if box.disabled else box

    @property
    def acked(self) -> bool:
        return self.query_one(Toggle).value

    def _evidence(self) -> Text:
        out = Text("Split brain: both sides have changes the other lacks. Evidence:\n", style="bold")
        for line in self.evidence:
            out.append(f"  • {line}\n")
        out.append("Choose the VICTIM: the node whose changes since the split are thrown away.", style="bold")
        return out

    def _show(self) -> None:
        prep = self.prepared
        refusals = self.query_one("#plan-refusals", Static)
        refusals.display = bool(prep.refusals)
        refusals.update(refusal_text(prep.refusals, acked=self.acked, keys=self.keys))
        self.query_one(Toggle).display = bool(prep.needs_ack)
        steps = self.query_one("#plan-steps", Static)
        if prep.plan is not None:
            steps.update(steps_text(prep.plan))
        elif prep.error is not None:
            steps.update(Text.assemble((f"No plan: {prep.error.reason}\n", "bold"),
                                       f"   → {console_hint(prep.error.hint, self.keys)}"))
        if prep.plan is not None:
            self.query_one(Input).placeholder = f"type {prep.plan.confirm_node}"
        self._update_hint()
        self._update_button()

    def hint_text(self) -> str:
        """What to do next, naming this dialog's controls."""
        prep = self.prepared
        if prep.plan is None:
            if self.split_brain:
                return "Choose the victim in the list above (↑↓, then space): its changes are discarded."
            return "Nothing to run. esc or Cancel closes this."
        if prep.blocking:
            return f"Refused ({len(prep.blocking)}): nothing can run until that is fixed. esc or Cancel closes this."
        node = prep.plan.confirm_node
        role = "the VICTIM, whose changes are discarded" if self.split_brain else "the target"
        if prep.needs_ack and not self.acked:
            return f"Tick [x] switch anyway above (space), then type {node} ({role}) in the name box and press enter."
        return f"To run it, type {node} ({role}) in the name box, then press enter."

    def _update_hint(self) -> None:
        bold = self.prepared.plan is None or bool(self.prepared.blocking)
        self.query_one("#plan-hint", Static).update(Text(self.hint_text(), style="bold" if bold else ""))

    def ready(self) -> bool:
        prep = self.prepared
        if prep.plan is None or prep.blocking:
            return False
        if prep.needs_ack and not self.acked:
            return False
        return self.query_one(Input).value.strip() == prep.plan.confirm_node

    def _update_button(self) -> None:
        blocked = self.prepared.plan is None or bool(self.prepared.blocking)
        self.query_one(Input).disabled = blocked
        self.query_one("#plan-run", Button).disabled = not self.ready()

    def on_key(self, event) -> None:
        """Typing a name while focus is elsewhere goes into the name box (not space: it ticks and chooses)."""
        box = self.query_one(Input)
        char = event.character
        if char and char.isprintable() and char != " " and not box.disabled and self.focused is not box:
            event.stop()
            event.prevent_default()
            box.focus()
            box.insert_text_at_cursor(char)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update_button()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.ready():
            self._confirm()
        elif self.prepared.needs_ack and not self.acked:
            self.notify("tick [x] switch anyway first (shift+tab to it, then space)", severity="warning", timeout=4)
        else:
            self.notify("the name does not match: type it exactly", severity="warning", timeout=3)

    def on_toggle_changed(self, event: Toggle.Changed) -> None:
        self._show()

    def on_choice_list_changed(self, event: ChoiceList.Changed) -> None:
        if self.rebuild is not None:
            self.prepared = self.rebuild(event.value)
            self.query_one(Input).value = ""
            self._show()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan-run" and self.ready():
            self._confirm()
        elif event.button.id == "plan-cancel":
            self.action_cancel()

    def _confirm(self) -> None:
        prep = self.prepared
        assert prep.plan is not None
        acked = tuple(r.code for r in prep.needs_ack) if self.acked else ()
        self.dismiss(Decision(prep.plan, self.query_one(Input).value.strip(), acked))

    def action_explain(self) -> None:
        """enter where no control takes it: say what to do instead of doing nothing (or cancelling)."""
        self.notify(self.hint_text(), title="enter does nothing here", timeout=5)

    def action_cancel(self) -> None:
        self.typed = self.query_one(Input).value.strip()  # for the audit log's "cancelled" record
        self.dismiss(None)
