"""The test-only response capture (crossconnect.app.response_capture) as ASGI middleware: what it
writes for JSON, chunked, oversized and non-JSON bodies, and that it passes every message through
unchanged. (tests/platform/test_conformance_schema.py checks it on a real server.)"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from crossconnect.app.response_capture import CAPTURE_VARIABLE, MAX_CAPTURED_BODY, capture_responses


def _app(status: int, content_type: bytes, chunks: list[bytes]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    return app


def _run(
    app: Any, path: str = "/subscriptions/s1/resourcegroups/rg", query: bytes = b"api-version=2021-04-01"
) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def _records(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for file in directory.glob("responses-*.jsonl") for line in file.read_text().splitlines()]


@pytest.fixture
def capture_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "captures"
    monkeypatch.setenv(CAPTURE_VARIABLE, str(directory))
    return directory


def test_json_body_in_chunks_is_captured_whole_and_passed_through(capture_dir: Path) -> None:
    inner = _app(200, b"application/json; charset=utf-8", [b'{"name": ', b'"rg"}'])
    sent = _run(capture_responses(inner), query=b"x=1&api-version=2021-04-01")
    assert [m.get("body") for m in sent[1:]] == [b'{"name": ', b'"rg"}']  # unchanged, still chunked
    assert _records(capture_dir) == [
        {
            "method": "GET",
            "path": "/subscriptions/s1/resourcegroups/rg",
            "api_version": "2021-04-01",
            "status": 200,
            "body": {"name": "rg"},
        }
    ]


def test_non_json_and_empty_bodies_are_recorded_without_a_body(capture_dir: Path) -> None:
    _run(capture_responses(_app(200, b"text/html", [b"<html></html>"])))
    _run(capture_responses(_app(202, b"application/json", [b""])), query=b"")
    records = _records(capture_dir)
    assert [("body" in r, r["status"], r["api_version"]) for r in records] == [
        (False, 200, "2021-04-01"),
        (False, 202, None),
    ]


def test_location_header_is_recorded(capture_dir: Path) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [
            (b"Location", b"https://h/subscriptions/s1/providers/Microsoft.Network/locations/w/operationResults/1")
        ]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    _run(capture_responses(app))
    (record,) = _records(capture_dir)
    assert record["location"].endswith("/operationResults/1") and record["status"] == 202


def test_oversized_body_is_flagged_not_stored(capture_dir: Path) -> None:
    big = b'{"a": "' + b"x" * MAX_CAPTURED_BODY + b'"}'
    sent = _run(capture_responses(_app(200, b"application/json", [big[:100], big[100:]])))
    assert b"".join(m["body"] for m in sent[1:]) == big
    (record,) = _records(capture_dir)
    assert "body" not in record and "over the capture limit" in record["body_omitted"]


def test_the_validator_reads_the_same_variable() -> None:
    from tests.support import spec_schema

    assert spec_schema.CAPTURE_VARIABLE == CAPTURE_VARIABLE


def test_without_the_variable_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CAPTURE_VARIABLE, raising=False)
    inner = _app(200, b"application/json", [b"{}"])
    assert capture_responses(inner) is inner
