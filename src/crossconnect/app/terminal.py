"""What ``crossconnect serve`` prints on stderr (the banner, the proxy line, "stopped"): bold and
colours when stderr is a terminal, plain text otherwise.

Not rich: a start prints a dozen lines, and importing rich cost ~50 ms of CPU on every start
(issue 19: start to healthy). The command line keeps rich for its other output.

Markup is the subset of rich's the server uses: ``[bold]``, ``[dim]``, ``[red]``, ``[green]``,
``[yellow]`` and their combinations (``[bold green]``), each closed by ``[/…]``; no nesting.
Anything else in brackets is printed as it is (a path with ``[x]`` in it stays whole).
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}
_TAG = re.compile(r"\[(/?)([a-z]+(?: [a-z]+)*)\]")


class Terminal:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.styled = _wants_styles(self.stream)

    def print(self, markup: str) -> None:
        self.stream.write(render(markup, self.styled) + "\n")
        self.stream.flush()


def render(markup: str, styled: bool) -> str:
    """``markup`` with its style tags as ANSI escapes (``styled``) or removed."""

    def replace(match: re.Match[str]) -> str:
        closing, words = match.group(1), match.group(2).split()
        if not all(word in _STYLES for word in words):
            return match.group(0)
        if not styled:
            return ""
        return "\x1b[0m" if closing else "\x1b[" + ";".join(_STYLES[w] for w in words) + "m"

    return _TAG.sub(replace, markup)


def _wants_styles(stream: TextIO) -> bool:
    """As rich decides: a terminal, unless NO_COLOR is set or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
