"""A read settles the due operations of the resource it reads and of the resources above it: a
route filter's PUT marks its rule Updating, and a GET of the rule right after must not see the
rule Updating while the filter's operation is already due (a read of the rule settles it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

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
