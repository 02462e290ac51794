"""The test-only response capture (crossconnect.app.response_capture) as ASGI middleware: what it
writes for JSON, chunked, oversized and non-JSON bodies, and that it passes every message through
unchanged (tests/platform/test_conformance_schema.py checks it on a real server); and the plumbing
that turns it on for a whole test run (tests/support/capture_session.py, tests/conftest.py): the
variable's values, one directory for the controller and its xdist workers, removed at the end, the
check skipped without the spec files, and a failure that names the response.)"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from crossconnect.app.response_capture import CAPTURE_VARIABLE, MAX_CAPTURED_BODY, capture_responses
from tests.support import REPO, SHARED
from tests.support.capture_session import begin, finish


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


def test_the_validator_and_the_pytest_plugin_read_the_same_variable() -> None:
    from crossconnect.testing import server
    from tests.support import spec_schema

    assert spec_schema.CAPTURE_VARIABLE == server.CAPTURE_VARIABLE == CAPTURE_VARIABLE


def test_without_the_variable_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CAPTURE_VARIABLE, raising=False)
    inner = _app(200, b"application/json", [b"{}"])
    assert capture_responses(inner) is inner


@pytest.mark.parametrize("value", ["off", "OFF", " off ", ""])
def test_off_and_empty_wrap_nothing(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(CAPTURE_VARIABLE, value)
    inner = _app(200, b"application/json", [b"{}"])
    assert capture_responses(inner) is inner


# -- a whole run's capture (tests/support/capture_session.py) ----------------------------------------


def test_unset_or_empty_means_a_temporary_directory_removed_at_the_end(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    for environ in ({}, {CAPTURE_VARIABLE: ""}):
        run = begin(spec, environ)
        assert run.temporary and run.directory is not None and run.directory.is_dir()
        assert environ[CAPTURE_VARIABLE] == str(run.directory)  # what workers and servers inherit
        finish(run, failed=False)
        assert not run.directory.exists()


def test_a_failed_check_keeps_the_temporary_directory(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    run = begin(spec, {})
    assert run.directory is not None
    finish(run, failed=True)
    assert run.directory.is_dir()
    run.directory.rmdir()


def test_off_turns_it_off(tmp_path: Path) -> None:
    environ = {CAPTURE_VARIABLE: "Off"}
    run = begin(tmp_path, environ)
    assert run.directory is None and not run.skipped
    assert environ[CAPTURE_VARIABLE] == "off"


def test_a_named_directory_is_made_absolute_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {CAPTURE_VARIABLE: "captures/run1"}
    run = begin(tmp_path, environ)
    assert run.directory == tmp_path / "captures" / "run1" and run.directory.is_dir() and not run.temporary
    assert environ[CAPTURE_VARIABLE] == str(tmp_path / "captures" / "run1")  # servers run elsewhere
    finish(run, failed=False)
    assert run.directory.is_dir()


def test_without_the_spec_files_there_is_no_capture_and_the_check_says_why(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    run = begin(tmp_path / "absent", environ)
    assert run.directory is None and "is not present" in run.skipped
    assert environ[CAPTURE_VARIABLE] == "off"
    assert list(tmp_path.iterdir()) == []


# -- the plumbing end to end: a child pytest with this suite's session hooks -------------------------

CHILD_CONFTEST = """
from tests.conftest import pytest_configure, pytest_sessionfinish, pytest_unconfigure  # noqa: F401
"""

# Each test answers one ARM request through the capture middleware, as the servers a test starts do
# (they inherit the variable from the worker, which inherits it from the controller).
CHILD_TESTS = """
import asyncio, json, os
from pathlib import Path

from crossconnect.app.response_capture import CAPTURE_VARIABLE, capture_responses

CIRCUIT = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/expressRouteCircuits/c{n}"


def answer(path, body):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    async def ignore(message):
        pass

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"api-version=2024-07-01"}
    asyncio.run(capture_responses(app)(scope, None, ignore))
    with open(Path(__file__).parent / "directories.txt", "a") as seen:
        seen.write(os.environ[CAPTURE_VARIABLE] + "\\n")


def test_one():
    answer(CIRCUIT.format(n=1), {"name": "c1", "location": "westus"})


def test_two():
    answer(CIRCUIT.format(n=2), {"name": "c2", "location": "westus", "id": BODY_ID})
"""


def _child_run(
    tmp_path: Path, body_id: str, *args: str, env: dict[str, str] | None = None
) -> tuple[str, int, set[str]]:
    """pytest in a child, on two tests that each capture one response; its output, exit code, and
    the capture directories the tests saw."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "conftest.py").write_text(CHILD_CONFTEST)
    (tmp_path / "test_child.py").write_text(textwrap.dedent(CHILD_TESTS).replace("BODY_ID", body_id))
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSCONNECT_", "PYTEST_"))}
    child_env.update({"PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}", "CROSSCONNECT_TEST_SHARED": str(SHARED)})
    child_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *args],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seen = tmp_path / "directories.txt"
    return result.stdout + result.stderr, result.returncode, set(seen.read_text().split()) if seen.exists() else set()


@pytest.fixture
def spec_files() -> None:
    if not (SHARED / "spec").is_dir():
        pytest.skip("../shared/spec is not present")


@pytest.mark.usefixtures("spec_files")
def test_xdist_workers_share_the_controllers_directory_which_is_removed(tmp_path: Path) -> None:
    out, code, directories = _child_run(tmp_path, '"/subscriptions/s1/x"', "-n", "2")
    assert code == 0, out
    assert "2 passed" in out and "2 responses validated" in out, out
    (directory,) = directories  # one for both workers
    assert not Path(directory).exists()


@pytest.mark.usefixtures("spec_files")
def test_a_divergence_fails_the_run_and_names_the_response(tmp_path: Path) -> None:
    out, code, (directory,) = _child_run(tmp_path, "42")
    assert code == 1, out
    assert "2 passed" in out
    block = out[out.index("DIVERGENCE: ExpressRouteCircuits_Get, status 200") :]
    lines = block.splitlines()[:4]
    assert lines[1].split() == [
        "response",
        "to:",
        "GET",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/expressRouteCircuits/c2?api-version=2024-07-01",
    ]
    assert lines[2].split() == ["at:", "$.id"] and "is not of type 'string'" in lines[3], block
    assert f"(the captured responses are in {directory})" in out and Path(directory).is_dir()
    shutil.rmtree(directory)


def test_off_and_absent_spec_files_mean_no_capture(tmp_path: Path) -> None:
    out, code, directories = _child_run(tmp_path / "off", "42", env={CAPTURE_VARIABLE: "off"})
    assert code == 0 and directories == {"off"}, out
    assert "response-schema" not in out
    out, code, directories = _child_run(tmp_path / "absent", "42", env={"CROSSCONNECT_TEST_SHARED": str(tmp_path)})
    assert code == 0 and directories == {"off"}, out
    assert f"response-schema check skipped: {tmp_path / 'spec'} is not present" in out
