"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol with limits on the request
head, as Azure's front ends set them (``crossconnect.limits``):

- a header line (``name: value``) over ``MAX_HEADER_LINE`` bytes, or all header lines together over
  ``MAX_HEADERS``: 431 Request Header Fields Too Large;
- a request target (path and query) over ``MAX_TARGET``: 414 URI Too Long.

uvicorn itself keeps every header the client sends (an 8 MiB header was answered 200), and httptools
gathers a header line in memory until it ends. So the head is also counted as it arrives: once the
bytes of a head that is still incomplete pass what the limits allow, the request is refused without
waiting for the line to end. After a refusal the server answers at once, drops whatever the client
still sends without parsing it, and closes the connection when the client stops sending or after
``LINGER_SECONDS`` (a client still writing its request reads the answer instead of a reset).

uvicorn runs it on uvloop or asyncio alike; ``httptools`` is a dependency of the project for it.
"""

from __future__ import annotations

import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from crossconnect.limits import MAX_HEADER_LINE, MAX_HEADERS, MAX_TARGET

LINGER_SECONDS = 2.0
# The largest head the limits allow: request line, header lines, CRLFs.
MAX_HEAD = MAX_TARGET + MAX_HEADERS + 1024
_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def uvicorn_options() -> dict[str, Any]:
    """The ``uvicorn.Config`` options that put the limits in place."""
    return {"http": LimitedHttpToolsProtocol}


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; the refusal itself is in ``_refusal``."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False  # between the first byte of a request and the end of its head
        self._head_bytes = 0  # bytes of chunks that held nothing but an incomplete head
        self._target_bytes = 0
        self._header_bytes = 0
        self._refusal: tuple[int, str, str] | None = None
        self._refused = False

    # -- the parser's callbacks: the exact sizes of what was parsed ------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._target_bytes = self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._target_bytes += len(url)
        if self._target_bytes > MAX_TARGET:
            self._refusal = (414, "RequestUriTooLong", f"The request target is longer than {MAX_TARGET} bytes.")
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        line = len(name) + 2 + len(value)
        self._header_bytes += line + 2
        if line > MAX_HEADER_LINE:
            shown = name[:100].decode("latin-1")
            self._refusal = (
                431,
                "RequestHeaderFieldsTooLarge",
                f"The request header '{shown}' is {line} bytes long; a header line may have at most "
                f"{MAX_HEADER_LINE} bytes.",
            )
            raise _Refused
        if self._header_bytes > MAX_HEADERS:
            self._refusal = (
                431,
                "RequestHeaderFieldsTooLarge",
                f"The request headers are larger than {MAX_HEADERS} bytes.",
            )
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    # -- the bytes as they arrive ----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: what a refused client still sends is dropped unparsed
        head_continues = self._in_head
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(*self._refusal)
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return
        # A chunk that began and ended inside one head is all head. (The chunk a head began in is
        # not counted: the limit is passed by at most one chunk before the refusal.)
        if head_continues and self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._refuse(
                    431,
                    "RequestHeaderFieldsTooLarge",
                    f"The request head is larger than {MAX_HEAD} bytes (a header line may have at most "
                    f"{MAX_HEADER_LINE} bytes, all of them together {MAX_HEADERS}).",
                )

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True  # nothing more is parsed on this connection
        self._in_head = False
        self.logger.info("refused a request: %d %s", status, code)
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined request behind one still being answered: that answer is finished, then
            # the connection closes
            self.cycle.keep_alive = False
            return
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()  # the client has sent everything: nothing left to linger for
        super().eof_received()
