"""The write path's prepared statements keep the store's guarantees, on both backends:

- ``replace_resource`` sets only the columns that changed (SQLite rewrites the index entries of
  every column an UPDATE sets) and returns the row exactly as a read in the transaction returns it,
  so a write renders what it stored without reading it back;
- ``insert`` and ``update_where`` as prepared text store what the Core statements stored (a JSON
  column's None as JSON's null, defaults filled in), note the table written and keep the checks;
- the reconciler's look-ups (``due_operations``, ``next_operation_due``) answer as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from crossconnect.store import Store, schema
from crossconnect.store.values import InvalidValue
from tests.support.store_rows import operation_row, resource_row

# -- replace_resource ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"properties": {"n": 2}, "tags": {"k": "v"}},
        # values JSON cannot keep as they are: a tuple comes back a list, a number key a string
        {"properties": {"list": (1, 2), "f": 1.0, "big": 10**30, "none": None}, "tags": {1: "x"}},
        {"properties": {"text": "Zürich ☃ 😀 \\u0000 literal"}},
    ],
)
def test_replace_resource_returns_the_row_a_read_returns(store: Store, body: dict[str, Any]) -> None:
    store.put_resource(resource_row("/r"))
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        assert previous is not None
        stored = store.replace_resource({**previous, "body": body, "etag": "e2"}, previous, conn)
        assert stored == store.get_resource("/r", conn)
    assert stored == store.get_resource("/r")


def test_replace_resource_sets_only_the_columns_that_changed(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("counted with SQLite's statement trace")
    store.put_resource(resource_row("/r"))
    statements: list[str] = []
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        assert previous is not None
        conn.connection.driver_connection.set_trace_callback(statements.append)
        try:
            store.replace_resource({**previous, "body": {"tags": {"a": "b"}}, "etag": "e2"}, previous, conn)
            store.replace_resource({**previous, "name": "R", "etag": "e3"}, {**previous, "etag": "e2"}, conn)
        finally:
            conn.connection.driver_connection.set_trace_callback(None)
    updates = [s for s in statements if s.startswith("UPDATE")]
    assert len(updates) == 2, statements
    first, second = (u.split(" WHERE ")[0] for u in updates)
    assert '"body"' in first and '"etag"' in first
    assert not any(f'"{c}"' in first for c in ("id", "type_key", "subscription_id", "group_key", "parent_key", "name"))
    assert '"name"' in second and '"group_key"' not in second
    row = store.get_resource("/r")
    assert row is not None and (row["name"], row["etag"], row["body"]) == ("R", "e3", {"properties": {"n": 1}})


def test_replace_resource_compares_the_etag(store: Store) -> None:
    store.put_resource(resource_row("/r"))
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        assert previous is not None
        changed = {**previous, "body": {"x": 1}, "etag": "e2"}
        assert store.replace_resource(changed, previous, conn, expected_etag="other") is None
        assert store.replace_resource(changed, previous, conn, expected_etag="e1") is not None
    row = store.get_resource("/r")
    assert row is not None and row["etag"] == "e2"


def test_replace_resource_refuses_what_the_store_cannot_keep(store: Store) -> None:
    store.put_resource(resource_row("/r"))
    with pytest.raises(InvalidValue) as refused, store.tx() as conn:
        previous = store.get_resource("/r", conn)
        assert previous is not None
        store.replace_resource({**previous, "body": {"tags": {"a": "x\x00y"}}}, previous, conn)
    assert "resources.body.tags.a" in str(refused.value)
    row = store.get_resource("/r")
    assert row is not None and row["body"] == {"properties": {"n": 1}}


# -- insert and update_where as prepared text -----------------------------------------------------


def _raw_operation(store: Store, op_id: str) -> tuple[Any, ...]:
    with store.reading() as conn:
        columns = "payload, result, error" if store.is_sqlite else "payload::text, result::text, error::text"
        row = conn.execute(text(f"SELECT {columns}, lease_owner FROM operations WHERE id = :i"), {"i": op_id}).one()
    return tuple(row)


def test_prepared_writes_store_what_the_core_statements_store(store: Store) -> None:
    t = schema.operations
    store.insert("operations", operation_row(1))
    with store.tx() as conn:
        conn.execute(insert(t).values(**operation_row(2)))
    assert _raw_operation(store, "op-1") == _raw_operation(store, "op-2")
    finished = {"status": "Succeeded", "result": None, "error": {"code": "X"}, "lease_owner": None}
    assert store.update_where("operations", finished, id="op-1", status="InProgress") == 1
    assert store.update_where("operations", finished, id="op-1", status="InProgress") == 0  # no longer matches
    with store.tx() as conn:
        conn.execute(update(t).values(**finished).where(t.c.id == "op-2"))
    assert _raw_operation(store, "op-1") == _raw_operation(store, "op-2")
    with store.reading() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.seq))]
    different = ("seq", "id", "created_at")
    assert {k: v for k, v in rows[0].items() if k not in different} == {
        k: v for k, v in rows[1].items() if k not in different
    }


def test_a_prepared_insert_fills_in_the_defaults_or_leaves_it_to_core(store: Store) -> None:
    row = resource_row("/d")
    del row["group_key"]  # default ""
    store.insert("resources", {**row, "created_at": 1.0, "updated_at": 1.0})
    stored = store.get_resource("/d")
    assert stored is not None and stored["group_key"] == ""


def test_a_prepared_write_forgets_what_was_remembered_of_its_table(store: Store) -> None:
    store.insert("operations", operation_row(1))
    assert store.find("operations", id="op-1")["status"] == "InProgress"  # remembered (SQLite)
    store.update_where("operations", {"status": "Succeeded"}, id="op-1")
    assert store.find("operations", id="op-1")["status"] == "Succeeded"
    store.insert("operations", operation_row(2))
    assert store.find("operations", id="op-2") is not None


def test_prepared_writes_keep_the_value_checks(store: Store) -> None:
    with pytest.raises(InvalidValue):
        store.insert("operations", {**operation_row(1), "kind": "a\x00b"})
    store.insert("operations", operation_row(1))
    with pytest.raises(InvalidValue):
        store.update_where("operations", {"payload": {"x": float("inf")}}, id="op-1")
    assert store.find("operations", id="op-1")["payload"] == {}


def test_due_operations_and_the_next_due(store: Store) -> None:
    assert store.due_operations(10.0, 500) == []
    assert store.next_operation_due() is None
    store.insert("operations", operation_row(1, due_at=5.0))
    store.insert("operations", operation_row(2, due_at=1.0))
    store.insert("operations", operation_row(3, due_at=2.0, status="Succeeded"))
    store.insert("operations", operation_row(4, due_at=20.0))
    assert store.due_operations(10.0, 500) == ["op-1", "op-2"]  # in the order they were started
    assert store.due_operations(10.0, 1) == ["op-1"]
    assert store.next_operation_due() == 1.0
