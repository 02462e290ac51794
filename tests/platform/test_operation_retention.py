"""Finished long-running operations are purged after the retention period (``--operation-retention``,
one day by default): their status URLs then answer as for an operation that never existed; running
operations are never purged; replicas purging at once delete each row once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crossconnect.arm.operations import PURGE_BATCH, OperationEngine
from crossconnect.arm.settings import ArmSettings
from crossconnect.store import Store
from tests.support.platform import WRITER, ServerFactory, arm_error, dedicated_servers, group_url, wait_until

DAY = 86400.0


def _op(n: int, status: str, finished_at: float | None) -> dict[str, Any]:
    return {
        "id": f"op-{n:05d}",
        "subscription_id": "sub",
        "location": "westus",
        "kind": "put",
        "resource_key": f"/subscriptions/sub/resourcegroups/rg{n}",
        "resource_type": "microsoft.resources/resourcegroups",
        "status": status,
        "payload": {},
        "due_at": 0.0,
        "created_at": 0.0,
        "finished_at": finished_at,
    }


def _engine(store: Store, retention: float = DAY) -> OperationEngine:
    return OperationEngine(store, ArmSettings(operation_retention=retention))


def test_purge_deletes_only_finished_operations_past_retention(store: Store) -> None:
    now = 10 * DAY
    rows = [
        _op(1, "Succeeded", now - DAY - 1),  # expired
        _op(2, "Failed", now - 2 * DAY),  # expired
        _op(3, "Succeeded", now - DAY + 60),  # finished within the retention: kept
        _op(4, "InProgress", None),  # running (however old): kept
        _op(5, "InProgress", now - 5 * DAY),  # a stray finished_at on a running one: still kept
    ]
    with store.tx() as conn:
        for row in rows:
            store.insert("operations", row, conn)
    assert _engine(store).purge_finished(now) == 2
    assert [r["id"] for r in store.find_all("operations")] == ["op-00003", "op-00004", "op-00005"]
    assert _engine(store).purge_finished(now) == 0  # nothing left to purge: a no-op
    # a longer retention keeps more
    assert _engine(store, retention=3 * DAY).purge_finished(now + DAY) == 0


def test_purge_runs_in_bounded_batches(store: Store) -> None:
    now = 10 * DAY
    total = PURGE_BATCH * 2 + 7
    with store.tx() as conn:
        for n in range(total):
            store.insert("operations", _op(n, "Succeeded", 1.0), conn)
        store.insert("operations", _op(total, "InProgress", None), conn)
    assert _engine(store).purge_finished(now, max_batches=1) == PURGE_BATCH  # one call, one bounded batch
    assert _engine(store).purge_finished(now) == total - PURGE_BATCH
    assert [r["status"] for r in store.find_all("operations")] == ["InProgress"]


def test_replicas_purging_at_once_delete_each_row_once(store: Store) -> None:
    """Two engines (as two replicas) purge the same expired rows concurrently: no error, every
    expired row deleted exactly once, the running one kept."""
    now = 10 * DAY
    total = PURGE_BATCH * 3
    with store.tx() as conn:
        for n in range(total):
            store.insert("operations", _op(n, "Failed", 1.0), conn)
        store.insert("operations", _op(total, "InProgress", None), conn)
    counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def purge() -> None:
        try:
            start.wait()
            counts.append(_engine(store).purge_finished(now))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) == total
    assert store.count("operations") == 1


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def test_status_urls_of_a_purged_operation_answer_not_found(servers: ServerFactory) -> None:
    """End to end: with a 2-second retention the reconciler purges a finished delete; its
    Azure-AsyncOperation and Location URLs then answer exactly as for an unknown operation.
    A running operation older than the retention is not purged."""
    server = servers.start("--operation-retention", "2")
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        assert c.put(group_url(sub, "Purged"), json={"location": "eastus"}).status_code == 201
        r = c.delete(group_url(sub, "Purged"))
        assert r.status_code == 202, r.text
        status_url, location = r.headers["azure-asyncoperation"], r.headers["location"]
        assert c.get(status_url).json()["status"] == "Succeeded"
        op_id = status_url.split("/operations/")[1].split("?")[0]
        zero = "00000000-0000-0000-0000-000000000000"
        unknown = [arm_error(c.get(url.replace(op_id, zero))) for url in (status_url, location)]
        wait_until(lambda: c.get(status_url).status_code == 404, timeout=20)
        purged = [arm_error(c.get(url)) for url in (status_url, location)]
        assert purged == [(status, code, message.replace(zero, op_id)) for status, code, message in unknown]
        assert [p[:2] for p in purged] == [(404, "OperationNotFound")] * 2


def test_running_operations_outlive_the_retention(servers: ServerFactory) -> None:
    server = servers.start("--operation-retention", "1", "--operation-delay", "6")
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        assert c.put(group_url(sub, "Slow"), json={"location": "eastus"}).status_code == 201
        status_url = c.delete(group_url(sub, "Slow")).headers["azure-asyncoperation"]
        time.sleep(3)  # three purge passes while it runs
        assert c.get(status_url).json()["status"] == "InProgress"
        wait_until(lambda: c.get(status_url).json().get("status") == "Succeeded", timeout=20)
