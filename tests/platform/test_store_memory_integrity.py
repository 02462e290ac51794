"""The store's read memory never serves a row other than what the database holds, at the edges a
review found: writes it cannot name or that do not begin with their verb, a caller changing the
row it was handed, a transaction the database aborted, two writers of one row finishing in turn.

Each test compares what the store serves (from memory when it may: inside ``fresh_reads()``)
with what a fresh connection reads from the database."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from crossconnect.store import Store
from tests.support.store_rows import database_row, operation_row, resource_row, served


def test_a_write_to_a_qualified_table_name_after_replace_resource_is_not_hidden_by_memory(
    store: Store,
) -> None:
    """A write naming its table with the schema (``main.resources``, ``public.resources``) is a
    write of that table: the row ``replace_resource`` noted earlier in the transaction is not
    remembered over it (nor, were the table not known, over a write of every table)."""
    store.put_resource(resource_row("/r"))
    served(store, "/r")
    qualified = "main.resources" if store.is_sqlite else "public.resources"
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        store.replace_resource({**previous, "etag": "e2"}, previous, conn)
        conn.exec_driver_sql(f"UPDATE {qualified} SET etag = 'e3' WHERE \"key\" = '/r'")
    assert database_row(store, "/r")["etag"] == "e3"
    assert served(store, "/r")["etag"] == "e3"


WRITES_NOT_RECOGNISED = [
    "WITH x AS (SELECT 1) UPDATE resources SET etag = 'e2' WHERE \"key\" = '/r'",
    "/* a comment */ UPDATE resources SET etag = 'e2' WHERE \"key\" = '/r'",
]


@pytest.mark.parametrize("statement", WRITES_NOT_RECOGNISED)
def test_a_write_statement_not_starting_with_its_verb_is_seen_by_the_same_transaction(
    store: Store, statement: str
) -> None:
    """A write that begins with ``WITH`` or a comment is a write: the transaction's memo of its own
    reads does not serve the row as it was before it."""
    store.put_resource(resource_row("/r"))
    with store.tx() as conn:
        assert store.get_resource("/r", conn)["etag"] == "e1"
        conn.exec_driver_sql(statement)
        assert store.get_resource("/r", conn)["etag"] == "e2"


@pytest.mark.parametrize("statement", WRITES_NOT_RECOGNISED)
def test_a_write_statement_not_starting_with_its_verb_forgets_remembered_reads(store: Store, statement: str) -> None:
    """The same writes, after commit: what was remembered of the table is forgotten (and on
    PostgreSQL the write generation moves, so every replica forgets it too)."""
    store.put_resource(resource_row("/r"))
    assert served(store, "/r")["etag"] == "e1"  # remembered
    with store.tx() as conn:
        conn.exec_driver_sql(statement)
    assert database_row(store, "/r")["etag"] == "e2"
    assert served(store, "/r")["etag"] == "e2"


def test_changing_the_row_replace_resource_returned_does_not_change_what_is_remembered(
    store: Store,
) -> None:
    """``replace_resource`` notes the row it wrote to be remembered after commit, and returns it:
    a caller that changes the dict it was handed (the store's rule: callers get dicts of their own)
    does not change what later look-ups answer."""
    store.put_resource(resource_row("/r"))
    served(store, "/r")
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        stored = store.replace_resource({**previous, "etag": "e2"}, previous, conn)
        assert stored is not None
        stored["etag"] = "changed-by-the-caller"
        stored["name"] = "renamed-by-the-caller"
    assert database_row(store, "/r")["etag"] == "e2"
    row = served(store, "/r")
    assert (row["etag"], row["name"]) == ("e2", "r")


def test_a_transaction_the_database_aborted_is_not_taken_for_committed(store: Store) -> None:
    """PostgreSQL: a statement that fails aborts the transaction, and a COMMIT would be answered
    "ROLLBACK" with no error. A caller that handled the error and leaves ``tx()`` normally gets
    ``InFailedSqlTransaction`` instead: nothing is remembered of the transaction and its
    ``after_commit`` calls do not run. (SQLite undoes only the failed statement: the rest
    commits, and memory and database agree.)"""
    import psycopg

    store.put_resource(resource_row("/r"))
    store.insert("operations", operation_row(1))
    served(store, "/r")
    ran: list[bool] = []
    with contextlib.ExitStack() as leaving:
        if not store.is_sqlite:
            leaving.enter_context(pytest.raises(psycopg.errors.InFailedSqlTransaction))
        with store.tx() as conn:
            previous = store.get_resource("/r", conn)
            store.replace_resource({**previous, "etag": "e2"}, previous, conn)
            store.after_commit(conn, lambda: ran.append(True))
            with pytest.raises(Exception, match="(?i)unique"):  # the operation exists: refused
                store.insert("operations", operation_row(1), conn)
    in_database = database_row(store, "/r")["etag"]
    assert in_database == ("e2" if store.is_sqlite else "e1")
    assert served(store, "/r")["etag"] == in_database
    assert ran == ([True] if store.is_sqlite else [])


def test_an_older_write_remembered_after_a_newer_one_is_never_served(store: Store) -> None:
    """Two transactions write one row in turn (A: e2, then B: e3), and A's thread reaches the
    remembering of its row last: its check that no write ended since passed, then B committed and
    remembered e3, then A takes the row's memory (the dict B just filled). A must not store e2
    there, not even for a moment: a reader then would be served e2 although B committed e3 and
    may have answered its client. A tracer holds A at that point, and holds it again wherever a
    stale value of A's is visible in memory, while a reader reads."""
    import sys
    import threading

    from crossconnect.store import store as store_module

    store.put_resource(resource_row("/r"))
    served(store, "/r")
    guard_passed, b_done, stale_visible, read_done = (threading.Event() for _ in range(4))
    remember_lookup = store_module.Store._remember_lookup.__code__
    remember = store_module.Store._remember.__code__

    def stale_stored(frame: Any) -> bool:
        names = frame.f_locals
        memory, key = names.get("memory"), names.get("key")
        return (
            isinstance(memory, dict)
            and key in memory
            and memory[key] is names.get("value")
            and names.get("generation") != store._read_generation
        )

    def tracer(frame: Any, event: str, _: Any) -> Any:
        if event == "call" and frame.f_code is remember_lookup and not guard_passed.is_set():
            guard_passed.set()  # A's check passed: B writes and commits now
            assert b_done.wait(10)
        in_remember = frame.f_code is remember and event in ("line", "return")
        if in_remember and not stale_visible.is_set() and stale_stored(frame):
            stale_visible.set()  # A's older row is in memory: a reader comes now
            assert read_done.wait(10)
        return tracer if frame.f_code in (remember_lookup, remember) else None

    def write(etag: str) -> None:
        with store.tx() as conn:
            previous = store.get_resource("/r", conn)
            assert store.replace_resource({**previous, "etag": etag}, previous, conn) is not None

    def a() -> None:
        sys.settrace(tracer)
        try:
            write("e2")
        finally:
            sys.settrace(None)

    thread_a = threading.Thread(target=a)
    thread_a.start()
    assert guard_passed.wait(10)
    thread_b = threading.Thread(target=write, args=("e3",))
    thread_b.start()
    thread_b.join(10)
    b_done.set()
    while thread_a.is_alive() and not stale_visible.wait(0.01):
        pass  # A ends (nothing stale stored) or stops where its older row is visible
    try:
        seen = served(store, "/r")["etag"]
    finally:
        read_done.set()
        thread_a.join(10)
    assert database_row(store, "/r")["etag"] == "e3"
    assert seen == "e3"
