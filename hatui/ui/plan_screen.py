"""The plan screen: every step of an action, its refusals, and the typed confirmation.

Opened by ``F`` / ``B`` / ``R`` (see :mod:`hatui.ui.actions_ui`) after the plan
was built from the latest snapshot and preflight ran. It shows the refusals
first (each with what to do), then warnings, a split brain's evidence with the
victim chooser, and every step with its node and exact command. The operator
types the target node's name (for a split brain: the victim's); the run button
stays disabled until it matches, nothing blocks, and a recent role change is
acknowledged with its checkbox. Focus starts on Cancel; ``esc`` cancels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from hatui.actions.guards import Refusal
from hatui.actions.plan import Plan, PlanError

# Refusals the operator may accept explicitly in the console; every other one blocks.
ACKABLE = frozenset({"recent-role-change"})


@dataclass
class Prepared:
    """A plan (or why there is none) and what preflight says about it."""

    plan: Plan | None
    error: PlanError | None = None
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def blocking(self) -> list[Refusal]:
        return [r for r in self.refusals if r.code not in ACKABLE]

    @property
    def needs_ack(self) -> list[Refusal]:
        return [r for r in self.refusals if r.code in ACKABLE]


@dataclass(frozen=True)
class Decision:
    """What the operator confirmed."""

    plan: Plan
    confirm: str
    acknowledged: tuple[str, ...] = ()


def refusal_text(refusals: list[Refusal], *, acked: bool = False) -> Text:
    out = Text()
    for r in refusals:
        ackable = r.code in ACKABLE
        head = "▲ NEEDS YOUR OK: " if ackable else "✖ REFUSED: "
        out.append(head, style="bold" if ackable and acked else "bold reverse")
        out.append(f"{r.reason}\n")
        out.append(f"   → {r.hint}\n" if r.hint else "", style="italic")
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

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#plan-cancel"

    def __init__(self, label: str, prepared: Prepared, *, rebuild: Callable[[str], Prepared] | None = None,
                 victims: tuple[str, ...] = (), evidence: list[str] | None = None) -> None:
        super().__init__()
        self.label = label  # "failover", "resync split-brain" …
        self.prepared = prepared
        self.rebuild = rebuild
        self.victims = victims
        self.evidence = evidence or []

    @property
    def split_brain(self) -> bool:
        return bool(self.victims)

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            with VerticalScroll(id="plan-body"):
                yield Static(id="plan-refusals")
                yield Checkbox("I know the last role change was recent: switch anyway", id="plan-ack")
                if self.split_brain:
                    yield Static(self._evidence(), id="plan-evidence")
                    with RadioSet(id="plan-victim"):
                        for name in self.victims:
                            yield RadioButton(f"discard {name}'s changes (victim {name})", name=name)
                yield Static(id="plan-steps")
            yield Static(id="plan-hint")
            with Horizontal(id="plan-confirm"):
                yield Button("Cancel", id="plan-cancel", variant="primary")
                yield Input(id="plan-input", placeholder="type the node name", select_on_focus=False)
                yield Button(f"Run {self.label}", id="plan-run", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = f"Plan: {self.label}"
        self.query_one("#plan-box").border_subtitle = "esc cancels · tab moves · nothing runs until you confirm"
        self._show()

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
        refusals.update(refusal_text(prep.refusals, acked=self.query_one(Checkbox).value))
        self.query_one(Checkbox).display = bool(prep.needs_ack)
        steps = self.query_one("#plan-steps", Static)
        if prep.plan is not None:
            steps.update(steps_text(prep.plan))
        elif prep.error is not None:
            steps.update(Text.assemble((f"No plan: {prep.error.reason}\n", "bold"), f"   → {prep.error.hint}"))
        if prep.plan is not None:
            self.query_one(Input).placeholder = f"type {prep.plan.confirm_node}"
        self._update_hint()
        self._update_button()

    def _update_hint(self) -> None:
        prep, hint = self.prepared, self.query_one("#plan-hint", Static)
        if prep.plan is None:
            hint.update("Choose the victim above to see the plan." if self.split_brain else "Nothing to run.")
        elif prep.blocking:
            hint.update(Text(f"Refused ({len(prep.blocking)}): nothing can run until that is fixed. esc closes.",
                             style="bold"))
        else:
            node = prep.plan.confirm_node
            role = "the VICTIM, whose changes are discarded" if self.split_brain else "the target"
            hint.update(Text.assemble("To run it, type ", (node, "bold"), f" ({role}) in the box, then enter."))

    def ready(self) -> bool:
        prep = self.prepared
        if prep.plan is None or prep.blocking:
            return False
        if prep.needs_ack and not self.query_one(Checkbox).value:
            return False
        return self.query_one(Input).value.strip() == prep.plan.confirm_node

    def _update_button(self) -> None:
        blocked = self.prepared.plan is None or bool(self.prepared.blocking)
        self.query_one(Input).disabled = blocked
        self.query_one("#plan-run", Button).disabled = not self.ready()

    def on_key(self, event) -> None:
        """Typing a name while focus is elsewhere (it starts on Cancel) goes into the box.

        Only printable characters: enter and space keep acting on the focused
        button, so enter right after opening still cancels."""
        box = self.query_one(Input)
        char = event.character
        if (char and char.isprintable() and char != " " and not box.disabled and self.focused is not box
                and not isinstance(self.focused, (Checkbox, RadioSet, RadioButton))):
            event.stop()
            event.prevent_default()
            box.focus()
            box.insert_text_at_cursor(char)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update_button()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.ready():
            self._confirm()
        else:
            self.notify("the name does not match: type it exactly", severity="warning", timeout=3)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._show()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if self.rebuild is not None and event.pressed.name:
            self.prepared = self.rebuild(event.pressed.name)
            self.query_one(Input).value = ""
            self._show()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan-run" and self.ready():
            self._confirm()
        elif event.button.id == "plan-cancel":
            self.dismiss(None)

    def _confirm(self) -> None:
        prep = self.prepared
        assert prep.plan is not None
        acked = tuple(r.code for r in prep.needs_ack) if self.query_one(Checkbox).value else ()
        self.dismiss(Decision(prep.plan, self.query_one(Input).value.strip(), acked))

    def action_cancel(self) -> None:
        self.dismiss(None)
