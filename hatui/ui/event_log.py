"""Every state transition on either node, time-stamped, newest at the bottom, filterable with `/`."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from hatui.present.layers import GLYPH
from hatui.ui import cells
from hatui.present.events import StateEvent

MAX_EVENTS = 1000


def event_content(event: StateEvent, opened: float | None = None) -> Content:
    """One line; an event from before the console opened (``opened``) is dimmed, dated when not that day."""
    if opened is not None and event.at < opened:
        return Content.styled(f"{cells.past_text(event.at, opened)} {GLYPH[event.health]} {event.text}", "dim")
    return Content.assemble(
        (cells.clock_text(event.at), cells.MUTED), " ",
        (GLYPH[event.health], cells.STYLE[event.health]), " ", event.text,
    )


class EventLog(Vertical):
    """The log plus a filter box that `/` opens; esc clears the filter."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]
    ALLOW_MAXIMIZE = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.events: deque[StateEvent] = deque(maxlen=MAX_EVENTS)
        self.filter_text = ""
        self.hint = ""
        self.opened: float | None = None  # events before this came from the history (add_past)
        self.note = ""  # one line about the history (what was loaded, or why nothing was)
        self.border_title = "Events"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="events-scroll", can_focus=True):
            yield Static("", id="events-body")
        yield Input(placeholder="filter events (esc clears)", id="events-filter")

    def on_mount(self) -> None:
        self.query_one("#events-filter", Input).display = False
        self.render_events()

    def add(self, events: list[StateEvent]) -> None:
        if not events:
            return
        self.events.extend(events)
        self.render_events()

    def add_past(self, events: list[StateEvent], opened: float, note: str) -> None:
        """The history from before the console opened: before every live event, dimmed, with its note."""
        self.opened, self.note = opened, note
        self.events = deque([*sorted(events, key=lambda e: e.at), *self.events], maxlen=MAX_EVENTS)
        self.render_events()

    def matching(self) -> list[StateEvent]:
        needle = self.filter_text.lower()
        return [e for e in self.events if needle in f"{cells.clock_text(e.at)} {e.health} {e.text}".lower()]

    def render_events(self) -> None:
        shown = self.matching()
        lines = [event_content(e, self.opened) for e in shown]
        if self.note and not self.filter_text:
            lines.insert(0, Content.styled(self.note, cells.MUTED))
        if lines:
            body = Content("\n").join(lines)
        elif self.filter_text:
            body = Content.styled(f"no event matches {self.filter_text!r}", cells.MUTED)
        else:
            body = Content.styled("no state change yet", cells.MUTED)
        self.query_one("#events-body", Static).update(body)
        if self.filter_text:
            self.border_subtitle = f"filter: {self.filter_text} ({len(shown)}/{len(self.events)})"
        else:
            self.border_subtitle = self.hint
        self.query_one("#events-scroll", VerticalScroll).scroll_end(animate=False, immediate=False)

    def follow(self) -> None:
        """Scroll to the newest event (once the pane has its size)."""
        self.call_after_refresh(self.query_one("#events-scroll", VerticalScroll).scroll_end, animate=False)

    def set_hint(self, hint: str) -> None:
        self.hint = hint
        if not self.filter_text:
            self.border_subtitle = hint

    def open_filter(self) -> None:
        box = self.query_one("#events-filter", Input)
        box.display = True
        box.value = self.filter_text
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.render_events()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = bool(self.filter_text)
        self.query_one("#events-scroll").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """esc clears a filter only when there is one; otherwise it goes on to the screen (back)."""
        if action == "clear_filter":
            box = self.query_one("#events-filter", Input)
            return bool(box.display or self.filter_text)
        return True

    def action_clear_filter(self) -> None:
        box = self.query_one("#events-filter", Input)
        had_focus = box.has_focus
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.render_events()
        if had_focus:
            self.query_one("#events-scroll").focus()
