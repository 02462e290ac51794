"""Long-running operations: the SDK poller, the Location/Azure-AsyncOperation protocol with a
realistic delay, and restart safety (an operation begun before a crash still finishes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import REPO, Server, free_port
from tests.support.platform import (
    RESOURCES_API,
    WRITER,
    ServerFactory,
    arm_error,
    dedicated_servers,
    group_url,
    wait_until,
)


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def _assert_polling_url(server: Server, url: str, kind: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme == "https", url
    assert f"{parts.scheme}://{parts.netloc}" == server.base_url, url
    assert parts.path.startswith(f"/subscriptions/{server.subscription(WRITER)}/providers/"), url
    assert f"/locations/eastus/{kind}/" in parts.path, url
    assert parse_qs(parts.query).get("api-version") == [RESOURCES_API], url


def test_delete_group_through_sdk_poller(server: Server) -> None:
    rc = server.resources(WRITER)
    rc.resource_groups.create_or_update("Doomed", {"location": "eastus"})
    poller = rc.resource_groups.begin_delete("Doomed")
    assert poller.result(timeout=30) is None
    assert poller.status().lower() == "succeeded"
    assert rc.resource_groups.check_existence("Doomed") is False
    # deleting a group that does not exist is ARM's 404, not a no-op success (issue 14)
    with server.http(WRITER) as c:
        gone = c.delete(group_url(server.subscription(WRITER), "Doomed"))
        assert arm_error(gone)[:2] == (404, "ResourceGroupNotFound")


def test_delete_protocol_with_operation_delay(servers: ServerFactory) -> None:
    server = servers.start("--operation-delay", "3")
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        assert c.put(group_url(sub, "Slow"), json={"location": "eastus"}).status_code == 201
        r = c.delete(group_url(sub, "Slow"))
        assert r.status_code == 202, r.text
        assert r.content == b""
        location = r.headers["location"]
        status_url = r.headers["azure-asyncoperation"]
        _assert_polling_url(server, location, "operationResults")
        _assert_polling_url(server, status_url, "operations")
        assert 1 <= int(r.headers["retry-after"]) <= 30

        poll = c.get(location)
        assert poll.status_code == 202, poll.text
        assert int(poll.headers["retry-after"]) >= 1
        _assert_polling_url(server, poll.headers["location"], "operationResults")
        status = c.get(status_url)
        assert status.status_code == 200
        assert status.json()["status"] == "InProgress"
        assert "endTime" not in status.json()
        assert int(status.headers["retry-after"]) >= 1

        group = c.get(group_url(sub, "Slow"))
        assert group.status_code == 200
        assert group.json()["properties"]["provisioningState"] == "Deleting"

        # a second write while the operation runs is refused and points at the running operation
        before = server.snapshot()
        again = c.delete(group_url(sub, "Slow"))
        status_code, code, message = arm_error(again)
        assert (status_code, code) == (409, "AnotherOperationInProgress")
        assert status_url in message, message
        assert c.put(group_url(sub, "Slow"), json={"location": "eastus"}).status_code == 409
        assert server.snapshot() == before

        # polls through another subscription do not see the operation (where the caller may not
        # read at all, access control answers first)
        other = status_url.replace(sub, server.subscription("partner"))
        assert arm_error(c.get(other))[:2] in {(404, "OperationNotFound"), (403, "AuthorizationFailed")}

        done = wait_until(lambda: c.get(location).status_code != 202, timeout=15)
        assert done
        final = c.get(location)
        assert final.status_code in (200, 204), final.text
        status = c.get(status_url).json()
        assert status["status"] == "Succeeded"
        assert status["endTime"] >= status["startTime"]
        assert c.get(group_url(sub, "Slow")).status_code == 404


def test_sdk_poller_sees_in_progress_then_done(servers: ServerFactory) -> None:
    server = servers.start("--operation-delay", "3")
    rc = server.resources(WRITER)
    rc.resource_groups.create_or_update("Polled", {"location": "westus"})
    started = time.time()
    poller = rc.resource_groups.begin_delete("Polled")
    assert poller.status() == "InProgress"
    assert not poller.done()
    assert poller.result(timeout=30) is None
    assert time.time() - started >= 2.5  # the delay is honoured, not skipped
    assert poller.status().lower() == "succeeded"
    assert rc.resource_groups.check_existence("Polled") is False


def test_operation_finishes_after_a_crash_and_restart(servers: ServerFactory) -> None:
    first = servers.start("--operation-delay", "2")
    sub = first.subscription(WRITER)
    with first.http(WRITER) as c:
        for name in ("Survivor", "Unwatched", "Bystander"):
            assert c.put(group_url(sub, name), json={"location": "eastus"}).status_code == 201
        r = c.delete(group_url(sub, "Survivor"))
        assert r.status_code == 202
        location, status_url = r.headers["location"], r.headers["azure-asyncoperation"]
        assert c.get(status_url).json()["status"] == "InProgress"
        assert c.delete(group_url(sub, "Unwatched")).status_code == 202
    first.stop(kill=True)
    assert first.process is not None and first.process.returncode != 0

    second = servers.restart(first)
    assert second.env["partner"] == first.env["partner"]  # same credentials after the restart

    # Nothing reads the groups or polls: the reconciler alone resumes and completes both
    # operations (the operator snapshot reads the store without settling anything).
    def finished() -> bool:
        return all(op["status"] != "InProgress" for op in second.snapshot()["operations"])

    assert wait_until(finished, timeout=15)
    state = second.snapshot()
    assert {op["status"] for op in state["operations"]} == {"Succeeded"}, state["operations"]
    assert {r["name"] for r in state["resources"] if r["type_key"] == "microsoft.resources/resourcegroups"} == {
        "Bystander"
    }
    # the polling URLs handed out before the crash still answer, from the new process
    with second.http(WRITER) as c:
        body = c.get(status_url).json()
        assert body["status"] == "Succeeded", body
        assert c.get(location).status_code in (200, 204)
        assert c.get(group_url(sub, "Survivor")).status_code == 404
        assert c.get(group_url(sub, "Unwatched")).status_code == 404
        assert c.get(group_url(sub, "Bystander")).status_code == 200


def test_second_server_on_the_same_sqlite_data_dir_is_refused(tmp_path: Path) -> None:
    """SQLite only (PostgreSQL servers may share a database: that is how replicas scale out)."""
    first = Server(tmp_path / "data", free_port())
    first.start()
    try:
        before = (first.data_dir / "server.json").read_text()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "crossconnect.cli.main",
                "serve",
                "--data-dir",
                str(first.data_dir),
                "--port",
                str(free_port()),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "400"},
        )
        assert result.returncode == 2, (result.returncode, result.stderr)
        output = " ".join((result.stdout + result.stderr).split())
        assert "Another crossconnect server" in output, output
        assert first.process is not None and f"(pid {first.process.pid})" in output, output
        assert str(first.data_dir) in output
        assert "Traceback" not in output
        assert (first.data_dir / "server.json").read_text() == before  # the running server's file is untouched
        # and the running server is unaffected
        with first.http(WRITER) as c:
            assert c.get(group_url(first.subscription(WRITER))).status_code == 200
    finally:
        first.stop()


def test_a_patch_while_an_operation_runs_writes_and_answers_what_a_get_answers(servers: ServerFactory) -> None:
    # A PATCH of a resource an operation is working on (Deleting) first settles what is due
    # (nothing yet: the delay), then writes under its lock; it answers the very bytes a GET then
    # answers, the operation's state kept, and the operation still finishes.
    server = servers.start("--operation-delay", "3")
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        assert c.put(group_url(sub, "Busy"), json={"location": "eastus"}).status_code == 201
        assert c.delete(group_url(sub, "Busy")).status_code == 202
        patched = c.patch(group_url(sub, "Busy"), json={"tags": {"k": "v"}})
        assert patched.status_code == 200, patched.text
        assert patched.json()["properties"]["provisioningState"] == "Deleting"
        assert patched.json()["tags"] == {"k": "v"}
        got = c.get(group_url(sub, "Busy"))
        assert (got.content, got.headers["etag"]) == (patched.content, patched.headers["etag"])
        assert wait_until(lambda: c.get(group_url(sub, "Busy")).status_code == 404, timeout=15)
