"""The banner ``crossconnect serve`` prints (app.terminal, not rich: issue 19's start-up time)."""

from __future__ import annotations

import io

from crossconnect.app.terminal import Terminal, render


def test_markup_is_removed_when_not_styled() -> None:
    assert (
        render("[bold green]crossconnect[/bold green] on [bold]https://x[/bold]", False) == "crossconnect on https://x"
    )


def test_markup_becomes_ansi_on_a_terminal() -> None:
    assert render("[bold green]ok[/bold green] [dim]x[/dim]", True) == "\x1b[1;32mok\x1b[0m \x1b[2mx\x1b[0m"


def test_other_brackets_are_printed_as_they_are() -> None:
    """A data dir or host with brackets in it stays whole (rich would have read them as markup)."""
    text = "  data dir: /tmp/[a]/b [x y] [link=z] ✓"
    assert render(text, False) == text
    assert render(text, True) == text


def test_a_pipe_gets_plain_unwrapped_lines() -> None:
    out = io.StringIO()
    line = "[green]✓[/green] " + "word " * 40
    Terminal(out).print(line)
    assert out.getvalue() == "✓ " + "word " * 40 + "\n"  # one line, however long (rich wrapped at 80)
