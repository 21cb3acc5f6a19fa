"""Dialog controls whose state is a glyph and a word, never only a colour.

:class:`Toggle` reads ``[x] switch anyway — ticked`` or ``[ ] switch anyway —
not ticked``; :class:`ChoiceList` reads ``(•) vm12 — VICTIM: …`` for the
chosen option and ``( ) vm2 — …`` for the others, with ``›`` at the cursor.
``space`` and ``enter`` act on the focused control (tick, choose); neither
ever closes the dialog around it.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

MUTED = "$text-muted"


class Toggle(Widget, can_focus=True):
    """A checkbox: ``[x]`` / ``[ ]`` and the word for it; space or enter flips it."""

    BINDINGS = [Binding("space,enter", "toggle", "Tick / untick", show=False)]
    COMPONENT_CLASSES = {"toggle--focus"}

    value: reactive[bool] = reactive(False)

    class Changed(Message):
        def __init__(self, toggle: Toggle, value: bool) -> None:
            super().__init__()
            self.toggle = toggle
            self.value = value

        @property
        def control(self) -> Toggle:
            return self.toggle

    def __init__(self, label: str, *, on_word: str = "ticked", off_word: str = "not ticked", **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.on_word, self.off_word = on_word, off_word

    def render(self) -> Content:
        box = "[x]" if self.value else "[ ]"
        word = self.on_word if self.value else self.off_word
        hint = " (space unticks)" if self.value else " (space ticks)"
        return Content.assemble((box, "bold"), " ", (self.label, "bold" if self.value else ""), " — ", word,
                                (hint if self.has_focus else "", MUTED))

    def get_content_height(self, container, viewport, width: int) -> int:
        return 1

    def watch_value(self, value: bool) -> None:
        self.post_message(self.Changed(self, value))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_toggle(self) -> None:
        self.value = not self.value


class ChoiceList(Widget, can_focus=True):
    """Radio buttons: one line per option, ``(•)`` chosen, ``( )`` not; ↑↓ move, space/enter choose."""

    BINDINGS = [
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("down", "move(1)", "Next", show=False),
        Binding("space,enter", "choose", "Choose", show=False),
    ]
    COMPONENT_CLASSES = {"choice-list--cursor"}

    cursor: reactive[int] = reactive(0)
    chosen: reactive[str | None] = reactive(None)

    class Changed(Message):
        def __init__(self, choices: ChoiceList, value: str) -> None:
            super().__init__()
            self.choices = choices
            self.value = value

        @property
        def control(self) -> ChoiceList:
            return self.choices

    def __init__(self, options: list[str], *, chosen_word: str, other_word: str, none_word: str = "not chosen",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.chosen_word, self.other_word, self.none_word = chosen_word, other_word, none_word

    def render(self) -> Content:
        lines = []
        cursor_style = self.get_visual_style("choice-list--cursor")
        for index, name in enumerate(self.options):
            picked = self.chosen == name
            mark = "(•)" if picked else "( )"
            word = self.chosen_word if picked else (self.other_word if self.chosen else self.none_word)
            here = index == self.cursor and self.has_focus
            line = Content.assemble(("› " if here else "  ", "bold"), (mark, "bold"), " ",
                                    (name, "bold"), " — ", (word, "bold" if picked else MUTED))
            if here:
                line = line.stylize(cursor_style)
            lines.append(line)
        if self.has_focus:
            lines.append(Content.styled("  ↑↓ move · space or enter chooses", MUTED))
        return Content("\n").join(lines)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.options) + 1

    def watch_chosen(self, value: str | None) -> None:
        if value is not None:
            self.post_message(self.Changed(self, value))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def watch_cursor(self) -> None:
        self.refresh()

    def action_move(self, delta: int) -> None:
        self.cursor = (self.cursor + delta) % len(self.options)

    def action_choose(self) -> None:
        self.chosen = self.options[self.cursor]
