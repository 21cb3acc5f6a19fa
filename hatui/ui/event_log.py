"""Every state transition on either node, time-stamped, newest at the bottom, filterable with `/`."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.style import Style
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Input

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


class EventLines(ScrollView, can_focus=True):
    """The log's lines, drawn only where they are visible (Textual's line API).

    A Static holding every line re-rendered all of them (up to :data:`MAX_EVENTS`) on each new event,
    and grew the screen's layout with them; here an append costs the lines on screen. Each line is
    rendered exactly as the Static rendered it (the widget's text-wrap and text-overflow rules)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[Content] = []
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(256)

    def show(self, lines: list[Content]) -> None:
        self.lines = lines
        self._strips.clear()
        self.virtual_size = Size(0, len(lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        style = self.visual_style
        if index >= len(self.lines):
            return Strip.blank(width, style.rich_style)
        strip = self._strips.get((index, width))
        if strip is None:
            strips = Visual.to_strips(self, self.lines[index], width, 1, style)
            strip = strips[0] if strips else Strip.blank(0)
            self._strips[(index, width)] = strip
        return strip.crop_extend(0, width, (style + Style(reverse=False)).rich_style)


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
        self._event_lines: list[Content] = []  # one per event shown (the filter's matches), in order
        self.border_title = "Events"

    def compose(self) -> ComposeResult:
        yield EventLines(id="events-scroll")
        yield Input(placeholder="filter events (esc clears)", id="events-filter")

    def on_mount(self) -> None:
        self.query_one("#events-filter", Input).display = False
        self.render_events()

    def add(self, events: list[StateEvent]) -> None:
        """New events at the bottom: only their lines are made (all of them again only under a filter)."""
        if not events:
            return
        if self.filter_text or not self.events:
            self.events.extend(events)
            self.render_events()
            return
        dropped = max(0, len(self.events) + len(events) - MAX_EVENTS)  # the oldest leave the bounded log
        self.events.extend(events)
        self._event_lines = [*self._event_lines[dropped:], *(event_content(e, self.opened) for e in events)]
        self._show(self._event_lines)

    def add_past(self, events: list[StateEvent], opened: float, note: str) -> None:
        """The history from before the console opened: before every live event, dimmed, with its note."""
        self.opened, self.note = opened, note
        self.events = deque([*sorted(events, key=lambda e: e.at), *self.events], maxlen=MAX_EVENTS)
        self.render_events()

    def matching(self) -> list[StateEvent]:
        needle = self.filter_text.lower()
        return [e for e in self.events if needle in f"{cells.clock_text(e.at)} {e.health} {e.text}".lower()]

    def render_events(self) -> None:
        """Every line again (the filter or the past changed)."""
        shown = self.matching()
        self._event_lines = [event_content(e, self.opened) for e in shown]
        if self.filter_text:
            self.border_subtitle = f"filter: {self.filter_text} ({len(shown)}/{len(self.events)})"
        else:
            self.border_subtitle = self.hint
        self._show(self._event_lines)

    def _show(self, event_lines: list[Content]) -> None:
        lines = event_lines
        if self.note and not self.filter_text:
            lines = [Content.styled(self.note, cells.MUTED), *event_lines]
        if not lines and self.filter_text:
            lines = [Content.styled(f"no event matches {self.filter_text!r}", cells.MUTED)]
        elif not lines:
            lines = [Content.styled("no state change yet", cells.MUTED)]
        body = self.query_one(EventLines)
        body.show(lines)
        body.scroll_end(animate=False, immediate=False)

    def follow(self) -> None:
        """Scroll to the newest event (once the pane has its size)."""
        self.call_after_refresh(self.query_one(EventLines).scroll_end, animate=False)

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
