"""ASCII mode: nothing but printable ASCII on the terminal (``--ascii``, or a locale that is not UTF-8).

Some terminals hatui runs in draw box drawing and symbols badly or not at all
(Konsole with some fonts, Cockpit's web terminal, a serial console). Rather
than keep two spellings of every glyph, the console renders as usual and a
line filter maps each character to ASCII of the same width as the very last
step, so widths and layout stay exactly the same: borders become ``+-|``,
``✔ ▲ ✖ ?`` become ``+ ! X ?``, ``★ ☆`` become ``* o``, arrows ``> <``. Any
other character becomes ``?`` (one per cell). Every state still carries its
word, so nothing is lost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_GROUPS = {
    "-": "─━═╌╍┄┅┈┉╴╶╸╺╼╾▔‐‑–—―⎯",
    "|": "│┃║╎╏┆┇┊┋╵╷╹╻▏▕▍▌▐▊▎▋▉",
    "+": "┌┐└┘╭╮╰╯╔╗╚╝┏┓┗┛├┤┬┴┼╠╣╦╩╬┣┫┳┻╋╞╡╤╧╪╟╢╥╨╫┍┑┕┙┎┒┖┚",
    "=": "▀▄",
    "_": "▁",
    ".": "▂·∙",
    ":": "▃",
    "#": "█▇▆▅▓▒░■▮",
}
MAP: dict[str, str] = {ch: ascii_char for ascii_char, chars in _GROUPS.items() for ch in chars}
MAP.update({
    "✔": "+", "✓": "+", "▲": "!", "△": "!", "✖": "X", "✗": "X", "★": "*", "☆": "o", "●": "*", "•": "*", "○": "o",
    "→": ">", "←": "<", "↑": "^", "↓": "v", "⇄": "=", "⟶": ">", "▶": ">", "▸": ">", "◀": "<", "▼": "v",
    "…": "~", "⌛": "~~", "⟳": "~", "⏎": "<", "≤": "<", "≥": ">", "×": "x", "±": "~",
    "“": '"', "”": '"', "‘": "'", "’": "'", "«": '"', "»": '"', "\u00a0": " ", "⧉": "#", "🔎": "> ",
})


def to_ascii(text: str) -> str:
    """``text`` with every character replaced by ASCII of the same cell width."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        width = cell_len(ch)
        repl = MAP.get(ch, "?")
        out.append((repl + " " * width)[:width] if width else "")
    return "".join(out)


class AsciiFilter(LineFilter):
    """The console's last rendering step in ASCII mode."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [seg if seg.text.isascii() or seg.control else Segment(to_ascii(seg.text), seg.style, seg.control)
                for seg in segments]


def locale_is_utf8(environ: Mapping[str, str] | None = None) -> bool:
    """True when the locale in effect (LC_ALL, else LC_CTYPE, else LANG) names UTF-8.

    Read from the environment, not from Python: Python switches a plain "C"
    locale to UTF-8 for itself, but the terminal behind it is not told."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name)
        if value:
            return "utf-8" in value.lower().replace("utf8", "utf-8")
    return False
