"""How much of a request the server takes: the limits every endpoint family shares (ARM, Azure AD,
Microsoft Graph, the operator and lab API, the portal), as Azure's front ends set them.

- A request body is at most ``MAX_BODY`` (4 MiB, ARM's limit). It is counted as it streams in,
  with or without a ``Content-Length``, and never read whole before it is counted. Each family
  answers ``BodyTooLarge`` with 413 in its own error envelope.
- The request head: at most ``MAX_HEADER_LINE`` bytes per header line (``name: value``),
  ``MAX_HEADERS`` for all header lines together (431), and ``MAX_TARGET`` for the request target
  (the path and query, 414). ``app.http_protocol`` enforces them while the head is parsed.

A leaf module: it imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

MAX_BODY = 4 * 1024 * 1024
# The operator's snapshot import (``PUT /_crossconnect/snapshot``) carries all state: a legitimately
# exported snapshot of a large deployment is far above 4 MiB. Only the operator reaches it.
MAX_SNAPSHOT_BODY = 256 * 1024 * 1024
MAX_HEADER_LINE = 8 * 1024
MAX_HEADERS = 64 * 1024
MAX_TARGET = 16 * 1024

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class BodyTooLarge(Exception):
    """The request body is (or announced itself as) larger than the limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"The request content size {size} exceeds the maximum allowed size of {limit} bytes.")

    @property
    def message(self) -> str:
        return str(self)


def declared_length(headers: list[tuple[bytes, bytes]] | dict[str, str]) -> int:
    """The request's ``Content-Length`` (0 when absent; the HTTP parser has checked its syntax)."""
    if isinstance(headers, dict):
        value = headers.get("content-length")
        return int(value) if value else 0
    for name, raw in headers:
        if name == b"content-length":
            return int(raw)
    return 0


def limited_receive(receive: Receive, declared: int, limit: int = MAX_BODY) -> Receive:
    """``receive`` that raises ``BodyTooLarge`` once the body passes ``limit``: at the first call
    when the announced ``Content-Length`` is over it (nothing is read), else as soon as the chunks
    counted so far are (chunked bodies too). Lazy: a handler that refuses the caller before it
    reads the body never reads any of it."""
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        if declared > limit:
            raise BodyTooLarge(declared, limit)
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(received, limit)
        return message

    return receive_limited
