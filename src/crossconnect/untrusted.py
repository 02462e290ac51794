"""What arrives from outside, checked once for every endpoint family (ARM, Azure AD, Graph, the
operator and lab API) and once more by the store before it keeps anything.

A JSON body is refused when it is not UTF-8 JSON, nests deeper than ``MAX_DEPTH``, holds a number
that is not finite (``NaN``, ``Infinity``, ``1e999``), or holds a string (value or member name)
with a NUL character or a lone UTF-16 surrogate (``"\\ud800"``): such text cannot be stored in
PostgreSQL, cannot be encoded as UTF-8, and would break every later response that shows it.

This module is a leaf: it imports nothing of the project, so every layer may use it. Each layer
turns ``Rejected`` into its own error envelope.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # nesting of objects and arrays (Json.NET's default MaxDepth)
_SURROGATE = re.compile("[\ud800-\udfff]")


class Rejected(ValueError):
    """Input refused. ``malformed``: not JSON at all (syntax, encoding, depth); otherwise valid
    JSON with a value that cannot be kept, at ``path`` (``tags.a``, ``peerings[0].name``)."""

    def __init__(self, reason: str, path: str = "", *, malformed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.malformed = malformed


class _NotFinite(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def text_problem(value: str) -> str | None:
    """Why a string cannot be kept (a NUL character, a lone surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character (U+0000)"
    if not value.isascii():
        match = _SURROGATE.search(value)
        if match is not None:
            return f"contains a lone UTF-16 surrogate (U+{ord(match.group()):04X})"
    return None


def printable(value: str) -> str:
    """``value`` fit for an error message in any envelope: a lone surrogate is shown as ``\\udXXX``
    (it could not be encoded as UTF-8, and the error response would fail in turn)."""
    if value.isascii():
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _join(path: str, member: str | int) -> str:
    if isinstance(member, int):
        return f"{path}[{member}]"
    member = printable(member)
    return f"{path}.{member}" if path else member


def find_problem(value: Any, max_depth: int | None = None) -> tuple[str, str] | None:
    """The first (path, reason) in a JSON-like value that cannot be kept: a bad string, a number
    that is not finite, or (with ``max_depth``) nesting deeper than that. Iterative: a value of
    any depth is walked without recursion."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return path, f"the string {problem}"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return path, f"the number {item} is not finite"
        elif isinstance(item, dict | list):
            if max_depth is not None and depth >= max_depth:
                return path, f"the JSON nests deeper than {max_depth} levels"
            if isinstance(item, dict):
                for name, member in item.items():
                    if isinstance(name, str) and (problem := text_problem(name)) is not None:
                        return _join(path, name), f"the member name {problem}"
                    stack.append((member, _join(path, str(name)), depth + 1))
            else:
                stack.extend((member, _join(path, i), depth + 1) for i, member in enumerate(item))
    return None


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotFinite(text)
    return number


def _no_constant(text: str) -> Any:
    raise _NotFinite(text)


# JSON text decoded without error holds a NUL or a lone surrogate only as an escape (raw, the
# first is refused by the parser and the second is not UTF-8): ``\u0000`` or ``\udXXX`` (a pair
# that encodes one character is written that way too, and so is a literal backslash before
# "u0000": such text takes the exact walk).
_NUL_OR_SURROGATE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _plainly_fine(text: str) -> bool:
    """Can the value decoded from ``text`` hold nothing ``find_problem`` refuses? True when the
    text has no escape of a NUL or surrogate and fewer brackets than ``MAX_DEPTH`` (so it cannot
    nest that deep; numbers that are not finite were refused as they were parsed). A request
    body is then not walked value by value (most are; the walk cost more than the parse)."""
    return text.count("{") + text.count("[") < MAX_DEPTH and _NUL_OR_SURROGATE_ESCAPE.search(text) is None


def json_text(value: Any) -> str | None:
    """``value`` as the JSON text the store keeps (``json.dumps``: every non-ASCII character
    escaped) when it plainly holds nothing ``find_problem`` refuses; None when it may (a NUL or a
    surrogate escape in the text, a number that is not finite, something that is not JSON):
    then walk it with ``find_problem``. One encoding serves both the check and the write."""
    try:
        text = _STORE_ENCODER.encode(value)
    except (TypeError, ValueError):
        return None
    return None if _NUL_OR_SURROGATE_ESCAPE.search(text) else text


# ``json.dumps(value, allow_nan=False)``, whose every call with an option builds an encoder: the
# one encoder makes the same text (an encoder keeps no state between calls)
_STORE_ENCODER = json.JSONEncoder(allow_nan=False)


def decode_json(raw: bytes | str, *, check_values: bool = True) -> Any:
    """Parse a request body; ``Rejected`` says why it cannot be used. ``check_values=False``
    (a snapshot import of megabytes, whose every value the store checks again as it keeps it)
    skips the walk over every string and the nesting limit; numbers that are not finite are still
    refused as they are parsed."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode(json.detect_encoding(raw))
        except UnicodeDecodeError as exc:
            raise Rejected(f"the body is not valid UTF-8 ({exc.reason} at byte {exc.start})", malformed=True) from None
    else:
        text = raw
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except _NotFinite as exc:
        raise Rejected(f"the number {exc.text} is not a finite number") from None
    except RecursionError:
        raise Rejected(f"the JSON nests deeper than {MAX_DEPTH} levels", malformed=True) from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more digits than Python converts
        raise Rejected(str(exc), malformed=True) from None
    # Only text decoded from bytes is vouched for by its escapes: a ``str`` given as it is may
    # hold a raw lone surrogate (UTF-8, UTF-16 and UTF-32 decoding refuse one in bytes).
    if not check_values or (isinstance(raw, bytes) and _plainly_fine(text)):
        return value
    found = find_problem(value, MAX_DEPTH)
    if found is not None:
        path, reason = found
        raise Rejected(reason, path, malformed=reason.startswith("the JSON nests"))
    return value
