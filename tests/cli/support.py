"""Helpers for the first-run command-line tests: what a refusal must look like."""

from __future__ import annotations


def one_line_error(stderr: str, *phrases: str) -> str:
    """One line saying what is wrong and what to do next; never a traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]
