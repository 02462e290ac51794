"""The write path's shortcuts keep the store's guarantees, on both backends:

- ``put_resource`` encodes a body once for the check and the statement: what the store cannot keep
  (a NUL, a lone surrogate, a number that is not finite) is still refused, naming where it is,
  and everything else is stored exactly;
- a request body is walked value by value only when its text may hold such a value;
- ``find_in`` (prepared text) returns what the statement built ad hoc returns, and is remembered
  until its table is written;
- inside a transaction a read is made once until the transaction writes its table or locks;
- ``lock`` takes several names in one statement, in one order: overlapping sets never deadlock;
- ``take_lease`` (one statement, no transaction) gives an operation to one owner at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from crossconnect.store import Store
from crossconnect.store.values import InvalidValue
from crossconnect.untrusted import MAX_DEPTH, Rejected, decode_json, json_text
from tests.support.races import at_once
from tests.support.store_rows import operation_row, resource_row

# -- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"tags": {"a": "x\x00y"}}, "body.tags.a"),
        ({"properties": {"list": ["ok", "\ud800"]}}, "body.properties.list[1]"),
        ({"properties": {"n": float("nan")}}, "body.properties.n"),
        ({"properties": {"bad\x00name": 1}}, "body.properties.bad"),
    ],
)
def test_put_resource_refuses_what_the_store_cannot_keep(store: Store, body: Any, where: str) -> None:
    store.put_resource(resource_row("/r"))
    for attempt in ("update", "insert"):
        key = "/r" if attempt == "update" else "/new"
        with pytest.raises(InvalidValue) as refused:
            store.put_resource(resource_row(key, body))
        assert f"resources.{where}" in str(refused.value)
    assert store.get_resource("/r")["body"] == {"properties": {"n": 1}}
    assert store.get_resource("/new") is None


def test_put_resource_stores_every_value_exactly(store: Store) -> None:
    body = {
        "properties": {"text": "Zürich ☃ 😀 \\u0000 literal", "f": 0.1, "big": 1e300, "b": True, "none": None},
        "tags": {"k": "v"},
        "list": [1, [2, {"x": []}]],
    }
    store.put_resource(resource_row("/r"))
    store.put_resource(resource_row("/r", body))  # the prepared UPDATE
    assert store.get_resource("/r")["body"] == body
    store.put_resource(resource_row("/s", body))  # an insert
    assert store.get_resource("/s")["body"] == body


def test_json_text_vouches_only_for_plain_values() -> None:
    assert json_text({"a": "plain", "n": [1, 2.5, None, True]}) == '{"a": "plain", "n": [1, 2.5, null, true]}'
    for doubtful in ({"a": "\x00"}, {"a": "\udc00"}, {"a": float("inf")}, {"a": "😀"}, {"a": object()}):
        assert json_text(doubtful) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": "\\u0000"}', "NUL"),
        (b'{"a": ["x", "\\ud800"]}', "surrogate"),
        (b'{"a": "\\uDC00"}', "surrogate"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "deeper"),
        (b'{"a": NaN}', "not a finite"),
    ],
)
def test_a_body_that_may_hold_a_bad_value_is_still_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        decode_json(raw)


def test_text_given_as_a_string_is_walked_whatever_its_escapes() -> None:
    # no escape in sight, but a raw lone surrogate: only bytes rule that out by their encoding
    with pytest.raises(Rejected, match="surrogate"):
        decode_json('{"a": "x\udc00"}')
    with pytest.raises(Rejected, match="not valid UTF-8"):
        decode_json('{"a": "x\udc00"}'.encode("utf-8", "surrogatepass"))


def test_a_plain_body_decodes_as_before() -> None:
    assert decode_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    assert decode_json(b'{"a": "\\\\u0000", "b": "\\ud83d\\ude00"}') == {"a": "\\u0000", "b": "😀"}


# -- reads -------------------------------------------------------------------------------------


def test_find_in_matches_the_statement_built_ad_hoc(store: Store) -> None:
    for n in range(9):
        store.insert("operations", operation_row(n, f"/r{n % 3}", "InProgress" if n % 2 else "Succeeded"))
    shapes: list[tuple[list[str], dict[str, Any]]] = [
        (["/r0", "/r2", "/missing"], {"status": "InProgress"}),
        (["/r1"], {}),
        (["/r2", "/r1", "/r0", "/r1"], {"kind": "put", "status": "Succeeded"}),
    ]
    for keys, where in shapes:
        stmt = store._select_in("operations", "resource_key", tuple(where))
        params = {f"w_{c}": v for c, v in where.items()} | {"p_in": sorted(set(keys))}
        with store.engine.connect() as c:
            expected = [dict(r._mapping) for r in c.execute(stmt, params)]
        assert store.find_in("operations", "resource_key", keys, **where) == expected
        with store.tx() as conn:
            assert store.find_in("operations", "resource_key", keys, conn, **where) == expected
        assert expected


def test_find_in_is_remembered_until_its_table_is_written(store: Store) -> None:
    store.insert("operations", operation_row(1, "/r"))
    with store.fresh_reads():
        assert [o["id"] for o in store.find_in("operations", "resource_key", ["/r", "/p"], status="InProgress")] == [
            "op-1"
        ]
    statements: list[str] = []
    original = store._peek_rows
    store._peek_rows = lambda sql, params=(): statements.append(sql) or original(sql, params)  # type: ignore[method-assign]
    with store.fresh_reads():
        store.find_in("operations", "resource_key", ["/r", "/p"], status="InProgress")
        store.put_resource(resource_row("/other"))  # another table
        store.find_in("operations", "resource_key", ["/r", "/p"], status="InProgress")
    assert not [s for s in statements if "operations" in s]
    store.update_where("operations", {"status": "Succeeded"}, id="op-1")
    with store.fresh_reads():
        assert store.find_in("operations", "resource_key", ["/r", "/p"], status="InProgress") == []


def test_a_transaction_reads_its_own_writes(store: Store) -> None:
    store.put_resource(resource_row("/r"))
    with store.tx() as conn:
        assert store.get_resource("/r", conn)["body"] == {"properties": {"n": 1}}
        store.put_resource(resource_row("/r", {"properties": {"n": 2}}), conn)
        assert store.get_resource("/r", conn)["body"] == {"properties": {"n": 2}}
        store.update_where("resources", {"etag": "e2"}, conn, key="/r")
        assert store.get_resource("/r", conn)["etag"] == "e2"
        store.insert("operations", operation_row(1, "/r"), conn)
        assert store.find("operations", conn, resource_key="/r")["id"] == "op-1"


def test_a_read_in_a_transaction_is_made_once_until_a_write(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("counted with SQLite's statement trace")
    store.put_resource(resource_row("/r"))
    statements: list[str] = []
    with store.tx() as conn:
        conn.connection.driver_connection.set_trace_callback(statements.append)
        try:
            for _ in range(3):
                store.get_resource("/r", conn)
            store.insert("operations", operation_row(1, "/r"), conn)  # another table: still once
            store.get_resource("/r", conn)
            store.put_resource(resource_row("/r", {"properties": {"n": 2}}), conn)
            store.get_resource("/r", conn)
        finally:
            conn.connection.driver_connection.set_trace_callback(None)
    selects = [s for s in statements if s.startswith("SELECT") and "resources" in s]
    assert len(selects) == 2, statements


def test_a_read_after_a_lock_sees_what_the_last_holder_committed(store: Store, twin: Store) -> None:
    store.put_resource(resource_row("/r"))
    with store.tx() as conn:
        assert store.get_resource("/r", conn)["etag"] == "e1"
        if store.is_sqlite:
            return  # the transaction holds the database's write lock: no one else commits meanwhile
        twin.put_resource({**resource_row("/r"), "etag": "e2"})  # another replica, committed
        store.lock(conn, "/r")
        assert store.get_resource("/r", conn)["etag"] == "e2"


# -- locks and leases --------------------------------------------------------------------------


def test_overlapping_lock_sets_in_any_order_never_deadlock(store: Store, twin: Store) -> None:
    """Each transaction names overlapping records in another order and increments each one's
    counter under its lock. PostgreSQL would end one of two transactions that wait on each other
    with a deadlock error; none may happen, and no increment may be lost."""
    names = ["a", "b", "c", "d", "e"]

    def writer(s: Store, order: list[str]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(5):
                with s.tx() as conn:
                    s.lock(conn, *order)
                    for name in order:
                        s.set_meta(f"count.{name}", (s.get_meta(f"count.{name}", conn) or 0) + 1, conn)

        return run

    orders = [names, names[::-1], names[2:] + names[:2], ["e", "a", "c"], ["d", "b"], names[1:], ["c"], names[::2]]
    at_once([writer((store, twin)[i % 2], order) for i, order in enumerate(orders)])
    for name in names:
        assert store.get_meta(f"count.{name}") == 5 * sum(name in order for order in orders), name


def test_a_lock_of_several_names_holds_each_until_the_transaction_ends(store: Store, twin: Store) -> None:
    events: list[str] = []
    first_has_them = threading.Event()

    def first() -> None:
        with store.tx() as conn:
            store.lock(conn, "x", "y", "z")
            first_has_them.set()
            time.sleep(0.3)
            events.append("first commits")

    def second() -> None:
        first_has_them.wait(5)
        with twin.tx() as conn:
            twin.lock(conn, "q", "y")
            events.append("second has y")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: f(), [first, second]))
    assert events == ["first commits", "second has y"]


def test_a_lease_goes_to_one_owner_at_a_time(store: Store, twin: Store) -> None:
    store.insert("operations", operation_row(1, "/r"))
    taken = at_once(
        [lambda s=(store, twin)[n % 2], n=n: s.take_lease("op-1", f"owner-{n}", 100.0, 130.0) for n in range(8)]
    )
    assert taken.count(True) == 1
    winner = f"owner-{taken.index(True)}"
    assert store.find("operations", id="op-1")["lease_owner"] == winner
    assert twin.take_lease("op-1", winner, 110.0, 140.0)  # its own lease: taken again
    assert not store.take_lease("op-1", "someone-else", 139.0, 169.0)  # not run out yet
    assert store.take_lease("op-1", "someone-else", 141.0, 171.0)  # run out
    store.update_where("operations", {"status": "Succeeded", "lease_owner": None, "lease_until": None}, id="op-1")
    assert not store.take_lease("op-1", "someone-else", 200.0, 230.0)  # finished: nothing to run
    assert not store.take_lease("op-missing", "someone-else", 200.0, 230.0)


def test_a_lease_taken_forgets_remembered_operations(store: Store) -> None:
    store.insert("operations", operation_row(1, "/r"))
    with store.fresh_reads():
        assert store.find("operations", id="op-1")["lease_owner"] is None
    assert store.take_lease("op-1", "me", 100.0, 130.0)
    with store.fresh_reads():
        assert store.find("operations", id="op-1")["lease_owner"] == "me"


def test_a_read_made_once_in_a_transaction_hands_out_its_own_copy(store: Store) -> None:
    store.put_resource(resource_row("/r", {"properties": {"list": [1], "n": 1}}))
    with store.tx() as conn:
        first = store.get_resource("/r", conn)
        first["body"]["properties"]["list"].append(2)  # a caller that changes a body in place
        first["body"]["properties"]["n"] = 2
        assert store.get_resource("/r", conn)["body"] == {"properties": {"list": [1], "n": 1}}


def test_the_provider_catalog_is_remembered_until_the_operator_changes_it(store: Store) -> None:
    """Every cross-connection request checks its subscription against the catalog, which is now
    kept between requests: an operator's change is still seen by the very next one."""
    from crossconnect.network.catalog import providers as catalog

    with store.fresh_reads():
        assert "sub-x" not in catalog.provider_subscriptions(store)
        assert catalog.providers(store) == catalog.providers(store)
    catalog.update_provider(store, "Writes Test Provider", {"managementSubscriptionId": "SUB-X"})
    with store.fresh_reads():
        assert "sub-x" in catalog.provider_subscriptions(store)
        assert "Writes Test Provider" in [p.name for p in catalog.providers(store)]


def test_a_failed_transaction_leaves_nothing_and_the_next_one_commits(store: Store) -> None:
    """SQLite keeps the main thread's write connection between transactions: one that fails
    must leave it clean (rolled back, the write lock released) for the next."""
    for _ in range(2):
        with pytest.raises(RuntimeError), store.tx() as conn:
            store.put_resource(resource_row("/gone"), conn)
            raise RuntimeError("the request failed")
        assert store.get_resource("/gone") is None
        with store.tx() as conn:
            store.put_resource(resource_row("/kept"), conn)
        assert store.get_resource("/kept") is not None
        store.delete_resource_tree("/kept")
    done: list[bool] = []
    worker = threading.Thread(target=lambda: done.append(store.put_resource(resource_row("/other-thread"))))
    worker.start()
    worker.join(10)
    assert done == [True] and store.get_resource("/other-thread") is not None


def test_after_commit_runs_once_committed_and_never_after_a_rollback(store: Store) -> None:
    """What a transaction leaves for after its commit (waking the reconciler for the operation it
    started) runs once the commit is done, when the row is there for another connection to see,
    and not at all when the transaction rolls back."""
    seen: list[Any] = []

    def look() -> None:
        seen.append(store.find("operations", id="op-1") is not None)

    with store.tx() as conn:
        store.insert("operations", operation_row(1), conn)
        store.after_commit(conn, look)
        assert seen == []
    assert seen == [True]

    def rolled_back() -> None:
        seen.append("rolled back")

    with pytest.raises(RuntimeError), store.tx() as conn:
        store.after_commit(conn, rolled_back)
        raise RuntimeError("the transaction fails")
    assert seen == [True]
    with store.tx() as conn:
        pass  # a later transaction on the same connection runs nothing left by an earlier one
    assert seen == [True]
