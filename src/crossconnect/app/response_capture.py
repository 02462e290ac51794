"""Test-only capture of ARM responses, for validating them against Azure's response schemas.

``CROSSCONNECT_CAPTURE_RESPONSES=<dir>`` in the server's environment makes every ARM response
append one JSON line to ``<dir>/responses-<pid>.jsonl``: method, path, api-version, status, the
``Location`` header when there is one, and the JSON body (bodies of other content types, and bodies over ``MAX_CAPTURED_BODY``, are left out and
flagged). One file per process, so replicas and parallel test workers never interleave lines.
Unset, empty or ``off`` (the default for a server), :func:`capture_responses` returns the ARM app
itself: no cost at all. The test suite turns it on for the servers it starts (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CAPTURE_VARIABLE = "CROSSCONNECT_CAPTURE_RESPONSES"
CAPTURE_OFF = "off"
MAX_CAPTURED_BODY = 1024 * 1024


def capture_directory() -> Path | None:
    """The directory the capture variable names; None when it is unset, empty or ``off``."""
    value = os.environ.get(CAPTURE_VARIABLE, "").strip()
    if not value or value.lower() == CAPTURE_OFF:
        return None
    return Path(value)


def capture_responses(app: ASGIApp) -> ASGIApp:
    """``app``, wrapped to capture its responses when the capture variable names a directory."""
    directory = capture_directory()
    if directory is None:
        return app
    directory.mkdir(parents=True, exist_ok=True)
    return ResponseCapture(app, directory / f"responses-{os.getpid()}.jsonl")


class ResponseCapture:
    """ASGI middleware: pass everything through, and write each response as one line."""

    def __init__(self, app: ASGIApp, path: Path) -> None:
        self.app = app
        self.path = path
        self._file: IO[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        location: str | None = None
        is_json = False
        chunks: list[bytes] = []
        size = 0

        async def capturing_send(message: Message) -> None:
            nonlocal status, location, is_json, size
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = {name.lower(): value for name, value in message.get("headers") or []}
                is_json = b"json" in headers.get(b"content-type", b"")
                if b"location" in headers:
                    location = headers[b"location"].decode("latin-1")
            elif message["type"] == "http.response.body" and is_json:
                body = message.get("body", b"")
                size += len(body)
                if size <= MAX_CAPTURED_BODY:
                    chunks.append(body)
            await send(message)

        await self.app(scope, receive, capturing_send)
        self._write(scope, status, location, is_json, b"".join(chunks), size)

    def _write(self, scope: Scope, status: int, location: str | None, is_json: bool, body: bytes, size: int) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        api_version = next((p.split("=", 1)[1] for p in query.split("&") if p.startswith("api-version=")), None)
        record: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "api_version": api_version,
            "status": status,
        }
        if location:
            # The result URL of a long-running POST: its final body is the POST's result.
            record["location"] = location
        if is_json and size > MAX_CAPTURED_BODY:
            record["body_omitted"] = f"{size} bytes, over the capture limit"
        elif is_json and body:
            try:
                record["body"] = json.loads(body)
            except ValueError:
                record["body_omitted"] = "not valid JSON"
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held for the process
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
