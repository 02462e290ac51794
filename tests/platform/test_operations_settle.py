"""A read settles the due operations of the resource it reads and of the resources above it: a
route filter's PUT marks its rule Updating, and a GET of the rule right after must not see the
rule Updating while the filter's operation is already due (a read of the rule settles it)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection

from crossconnect import clock
from crossconnect.arm.errors import ArmError
from crossconnect.arm.operations import OperationEngine
from crossconnect.arm.settings import ArmSettings
from crossconnect.store import Store

FILTER = "/subscriptions/sub/resourcegroups/rg/providers/microsoft.network/routefilters/f"
RULE = f"{FILTER}/routefilterrules/r"
OTHER = "/subscriptions/sub/resourcegroups/rg/providers/microsoft.network/routefilters/other"


class Recorder:
    def __init__(self) -> None:
        self.completed: list[str] = []

    def complete_operation(self, op: dict[str, Any], conn: Connection) -> Any:
        self.completed.append(op["resource_key"])
        return None

    def fail_operation(self, op: dict[str, Any], conn: Connection, error: ArmError) -> None:
        raise AssertionError(error)


def _start(engine: OperationEngine, store: Store, key: str) -> str:
    with store.tx() as conn:
        op = engine.start(
            conn,
            subscription_id="sub",
            location="westus",
            kind="put",
            resource_key=key,
            resource_type="Microsoft.Network/routeFilters",
        )
    return str(op["id"])


def test_reading_a_child_settles_the_parents_due_operation(store: Store) -> None:
    engine = OperationEngine(store, ArmSettings())
    recorder = Recorder()
    engine.register("Microsoft.Network/routeFilters", recorder)
    parent_op = _start(engine, store, FILTER)
    other_op = _start(engine, store, OTHER)

    engine.settle_resource(RULE.upper())  # keys are case-insensitive

    assert recorder.completed == [FILTER]
    assert store.find("operations", id=parent_op)["status"] == "Succeeded"
    assert store.find("operations", id=other_op)["status"] == "InProgress"  # a sibling is not settled


def test_reading_a_parent_does_not_settle_its_childrens_operations(store: Store) -> None:
    engine = OperationEngine(store, ArmSettings())
    recorder = Recorder()
    engine.register("Microsoft.Network/routeFilters", recorder)
    child_op = _start(engine, store, RULE)
    engine.settle_resource(FILTER)
    assert recorder.completed == []
    assert store.find("operations", id=child_op)["status"] == "InProgress"


def _lease_refused(*_: Any) -> bool:
    raise AssertionError("no lease is taken for an operation completed in one transaction")


def test_a_due_operation_is_completed_in_one_transaction_without_a_lease(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll (``settle``) and the reconciler (``run_due``) complete a due operation whose type has
    no steps outside the completing transaction without leasing it first; the poll gets the
    finished row back without reading it again."""
    engine = OperationEngine(store, ArmSettings())
    recorder = Recorder()
    engine.register("Microsoft.Network/routeFilters", recorder)
    polled, reconciled = _start(engine, store, FILTER), _start(engine, store, OTHER)
    monkeypatch.setattr(store, "take_lease", _lease_refused)
    finished = engine.settle(polled)
    assert finished is not None and finished["status"] == "Succeeded" and finished["finished_at"] is not None
    assert engine.run_due() == 1
    assert recorder.completed == [FILTER, OTHER]
    assert store.find("operations", id=reconciled)["status"] == "Succeeded"


def test_a_live_lease_of_another_replica_is_respected(store: Store, twin: Store) -> None:
    """Another replica leased the operation (it is completing it): a poll here leaves it to that
    replica, and completes it once the lease ran out."""
    engine = OperationEngine(store, ArmSettings())
    recorder = Recorder()
    engine.register("Microsoft.Network/routeFilters", recorder)
    op_id = _start(engine, store, FILTER)
    now = clock.now()
    assert twin.take_lease(op_id, "another-replica", now, now + 30)
    assert engine.settle(op_id)["status"] == "InProgress"
    assert recorder.completed == []
    assert twin.take_lease(op_id, "another-replica", now, now - 1)  # the lease runs out
    assert engine.settle(op_id)["status"] == "Succeeded"
    assert recorder.completed == [FILTER]


class SlowRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()

    def complete_operation(self, op: dict[str, Any], conn: Connection) -> Any:
        self.entered.set()
        time.sleep(0.2)  # the second thread arrives meanwhile
        return super().complete_operation(op, conn)


def test_threads_settling_one_operation_complete_it_once_and_both_see_it_finished(store: Store) -> None:
    """The reconciler and a poll on one replica want the same operation: the second waits for the
    first and takes the row it finished, with no completion of its own."""
    engine = OperationEngine(store, ArmSettings())
    recorder = SlowRecorder()
    engine.register("Microsoft.Network/routeFilters", recorder)
    op_id = _start(engine, store, FILTER)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(engine.settle, op_id)
        assert recorder.entered.wait(10)
        second = pool.submit(engine.settle, op_id)
        rows = [first.result(10), second.result(10)]
    assert recorder.completed == [FILTER]
    assert [r["status"] for r in rows] == ["Succeeded", "Succeeded"]
    assert rows[0]["finished_at"] == rows[1]["finished_at"]


def test_two_replicas_settling_one_operation_at_once_complete_it_once(store: Store, twin: Store) -> None:
    """Two replicas (two engines, two stores on one database) poll one due operation at the same
    moment, with no lease between them: the completing transaction's lock and its second read of
    the operation let one finish it, and the other finds it finished (a circuit's bandwidth
    released once, not twice). Both answer Succeeded."""
    if store.is_sqlite:
        pytest.skip("replicas share a PostgreSQL database; a SQLite store is owned by one server process")
    recorder = SlowRecorder()
    engines = [OperationEngine(s, ArmSettings()) for s in (store, twin)]
    for engine in engines:
        engine.register("Microsoft.Network/routeFilters", recorder)
    op_id = _start(engines[0], store, FILTER)
    both = threading.Barrier(2)

    def poll(engine: OperationEngine) -> Any:
        both.wait(10)
        return engine.settle(op_id)

    with ThreadPoolExecutor(2) as pool:
        rows = list(pool.map(poll, engines))
    assert recorder.completed == [FILTER]
    assert [r["status"] for r in rows] == ["Succeeded", "Succeeded"]


def test_the_row_a_completion_wrote_answers_the_next_poll_from_memory(store: Store, twin: Store) -> None:
    """Once the completing transaction committed, the operation's finished row is what a look-up
    of it returns, with no read: the client's poll that follows is served from memory (on
    PostgreSQL on the event loop: ``memory_only`` raises at the first read it would make). A
    failed completion's row too. (``twin`` changes the rows behind the store's back, to show that
    what is served is what the completion wrote.)"""
    engine = OperationEngine(store, ArmSettings())
    engine.register("Microsoft.Network/routeFilters", Recorder())
    engine.register("Microsoft.Network/expressRouteCircuits", Failing())
    done = _start(engine, store, FILTER)
    with store.tx() as conn:
        failed = engine.start(
            conn, subscription_id="sub", location="westus", kind="put", resource_key=CIRCUIT,
            resource_type="Microsoft.Network/expressRouteCircuits",
        )["id"]  # fmt: skip
    for op_id, status in ((done, "Succeeded"), (failed, "Failed")):
        with store.fresh_reads():  # (one request's reads: the generation is checked when it begins)
            finished = engine.settle(op_id)
            assert finished is not None and finished["status"] == status
            twin.update_where("operations", {"location": "behind-its-back"}, id=op_id)
            with store.memory_only():
                assert store.find("operations", id=op_id) == finished


CIRCUIT = "/subscriptions/sub/resourcegroups/rg/providers/microsoft.network/expressroutecircuits/c"


class Failing(Recorder):
    def complete_operation(self, op: dict[str, Any], conn: Connection) -> Any:
        raise ArmError("The device refused the change.", "DeviceRefused")

    def fail_operation(self, op: dict[str, Any], conn: Connection, error: ArmError) -> None:
        self.completed.append(op["resource_key"])
