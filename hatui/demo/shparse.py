"""A tiny POSIX-sh subset parser for the demo's node shell.

It covers what hatui (and an operator typing into the demo) sends: quoted
words, ``$VAR`` expansion, ``;`` ``&&`` ``||`` ``|`` ``&`` and redirections
such as ``2>&1``, ``2>/dev/null``, ``>/dev/null`` and ``&>/dev/null``. No
subshells, globbing or command substitution: those never appear in the
commands hatui builds (every value is :func:`shlex.quote`-d).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

_OPS = (";", "&&", "||", "|", "&")
_BREAK = set(" \t\n;&|<>")


class ShellSyntaxError(ValueError):
    """The text is not in the supported subset (unterminated quote, ...)."""


@dataclass
class Redirect:
    fd: int  # 1 stdout, 2 stderr, -1 both (&>)
    op: str  # ">", ">>", ">&", "<"
    target: str


@dataclass
class SimpleCommand:
    words: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    connector: str  # how it joins the previous one: ";", "&&", "||"
    commands: list[SimpleCommand]


def parse(text: str, env: Mapping[str, str] | None = None) -> list[Pipeline]:
    """Parse one command list into pipelines joined by ``;``/``&&``/``||``."""
    env = env or {}
    pipelines: list[Pipeline] = []
    connector = ";"
    commands: list[SimpleCommand] = []
    cmd = SimpleCommand()

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects:
            commands.append(cmd)
        cmd = SimpleCommand()

    def end_pipeline(next_connector: str) -> None:
        nonlocal commands, connector
        end_command()
        if commands:
            pipelines.append(Pipeline(connector, commands))
        elif next_connector in ("&&", "||", "|"):
            raise ShellSyntaxError(f"syntax error near unexpected token `{next_connector}'")
        commands, connector = [], next_connector

    for kind, value in _tokens(text, env):
        if kind == "word":
            cmd.words.append(value)
        elif kind == "redir":
            cmd.redirects.append(value)  # type: ignore[arg-type]
        elif value == "|":
            end_command()
        else:
            end_pipeline(";" if value == "&" else value)
    end_pipeline(";")
    return pipelines


def _tokens(text: str, env: Mapping[str, str]):
    i, n = 0, len(text)
    cur: list[str] | None = None  # the word being built; None = between words
    split_me = False  # an unquoted $VAR expanded into it: split on blanks

    def flush():
        nonlocal cur, split_me
        word, do_split = cur, split_me
        cur, split_me = None, False
        if word is None:
            return []
        joined = "".join(word)
        if do_split:
            return [("word", w) for w in joined.split()]
        return [("word", joined)]

    while i < n:
        c = text[i]
        if c in " \t\n":
            yield from flush()
            i += 1
        elif c == "#" and cur is None:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ShellSyntaxError("Unterminated quoted string")
            cur = (cur or []) + [text[i + 1 : j]]
            i = j + 1
        elif c == '"':
            buf, i = _double_quoted(text, i + 1, env)
            cur = (cur or []) + [buf]
        elif c == "\\":
            if i + 1 < n and text[i + 1] != "\n":
                cur = (cur or []) + [text[i + 1]]
            i += 2
        elif c == "$":
            value, i = _expand(text, i, env)
            cur = (cur or []) + [value]
            split_me = True
        elif c in "<>" or (c == "&" and text.startswith("&>", i)):
            fd = 1 if c != "<" else 0
            if c == "&":
                fd, i = -1, i + 1
            elif cur is not None and "".join(cur).isdigit() and not split_me:
                fd = int("".join(cur))
                cur = None
            else:
                yield from flush()
            op = ">&" if text.startswith(">&", i) else ">>" if text.startswith(">>", i) else text[i]
            i += len(op)
            while i < n and text[i] in " \t":
                i += 1
            j = i
            while j < n and text[j] not in _BREAK:
                j += 1
            if j == i:
                raise ShellSyntaxError("syntax error: redirection without a target")
            yield ("redir", Redirect(fd, op, text[i:j].strip("'\"")))
            i = j
        elif c in ";&|":
            yield from flush()
            op = text[i : i + 2] if text[i : i + 2] in ("&&", "||") else c
            yield ("op", op)
            i += len(op)
        else:
            cur = (cur or []) + [c]
            i += 1
    yield from flush()


def _double_quoted(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    out = []
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\$`\n':
            out.append(text[i + 1])
            i += 2
        elif c == "$":
            value, i = _expand(text, i, env)
            out.append(value)
        else:
            out.append(c)
            i += 1
    raise ShellSyntaxError("Unterminated quoted string")


def _expand(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    """``$NAME`` / ``${NAME}`` / ``$?``-like specials (empty); a lone ``$`` stays."""
    j = i + 1
    if j < len(text) and text[j] == "{":
        k = text.find("}", j)
        if k < 0:
            raise ShellSyntaxError("Bad substitution")
        return env.get(text[j + 1 : k], ""), k + 1
    k = j
    while k < len(text) and (text[k].isalnum() or text[k] == "_"):
        k += 1
    if k == j:
        if j < len(text) and text[j] in "?$!#@*-0123456789":
            return "", j + 1
        return "$", j
    return env.get(text[j:k], ""), k
