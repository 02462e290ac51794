"""``freshness.SharedReads``: requests share reads of the write generation, but never one that
began before they asked (it could predate a write whose answer the client already has)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from crossconnect.store import NotRemembered, Store
from crossconnect.store.freshness import AsyncSharedReads, SharedReads, writes, written_table


def test_a_read_begun_before_the_request_asked_is_not_used() -> None:
    started = threading.Event()
    release = threading.Event()
    reads: list[int] = []
    database = {"generation": 1}

    def read() -> int:
        value = database["generation"]
        reads.append(value)
        if len(reads) == 1:  # the first read is slow: the generation moves while it runs
            started.set()
            release.wait(10)
        return value

    shared = SharedReads(read)
    got: dict[str, int] = {}
    first = threading.Thread(target=lambda: got.__setitem__("first", shared.latest()))
    first.start()
    assert started.wait(10)
    database["generation"] = 2  # a write committed and answered while the first read runs
    later = [threading.Thread(target=lambda i=i: got.__setitem__(f"later{i}", shared.latest())) for i in range(5)]
    for t in later:
        t.start()
    time.sleep(0.2)
    assert len(reads) == 1  # the later requests wait rather than read at once
    release.set()
    for t in (first, *later):
        t.join(10)
    assert got["first"] == 1
    assert all(got[f"later{i}"] == 2 for i in range(5)), got  # none was given the stale read
    assert reads == [1, 2]  # and the five shared one read


def test_a_failed_read_is_raised_and_the_next_request_reads_again() -> None:
    calls = {"n": 0}

    def read() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("gone")
        return 7

    shared = SharedReads(read)
    try:
        shared.latest()
        raise AssertionError("the failure was swallowed")
    except ConnectionError:
        pass
    assert shared.latest() == 7


def test_which_statements_count_as_writes() -> None:
    assert writes("INSERT INTO resources …") and writes("  update meta set …") and writes("DELETE FROM x")
    assert not writes("SELECT pg_advisory_xact_lock(1)") and not writes("select * from resources")
    # a write behind a comment, or in a common table expression, is a write
    assert writes("/* why */ UPDATE resources SET etag = 'e2'") and writes("-- why\n delete from meta")
    assert writes("WITH x AS (SELECT 1) UPDATE resources SET etag = 'e2'")
    assert not writes("WITH x AS (SELECT 1) SELECT * FROM x") and not writes("/* update */ SELECT 1")


def test_the_table_a_write_names() -> None:
    assert written_table("UPDATE resources SET etag = 'e2'") == "resources"
    assert written_table('INSERT INTO "operations" (id) VALUES (1)') == "operations"
    # with its schema: the same table (SQLite's main, PostgreSQL's public)
    assert written_table("UPDATE main.resources SET etag = 'e2'") == "resources"
    assert written_table('DELETE FROM "public"."meta" WHERE key = 1') == "meta"
    assert written_table("/* why */ UPDATE meta SET value = 1") == "meta"
    # not known: a write of every table
    assert written_table("UPDATE other.resources SET etag = 'e2'") is None
    assert written_table("WITH x AS (SELECT 1) UPDATE resources SET etag = 'e2'") is None


def test_on_the_event_loop_a_read_begun_before_the_request_asked_is_not_used() -> None:
    """``AsyncSharedReads``, the event loop's twin of ``SharedReads``: the same two rules."""

    async def scenario() -> None:
        database = {"generation": 1}
        reads: list[int] = []
        release = asyncio.Event()

        async def read() -> int:
            value = database["generation"]
            reads.append(value)
            if len(reads) == 1:
                await release.wait()  # the first read is slow: the generation moves while it runs
            return value

        shared = AsyncSharedReads(asyncio.get_running_loop(), read)
        first = asyncio.create_task(shared.latest())
        while not reads:
            await asyncio.sleep(0)
        database["generation"] = 2  # a write committed and answered while the first read runs
        later = [asyncio.create_task(shared.latest()) for _ in range(5)]
        await asyncio.sleep(0.05)
        assert len(reads) == 1  # the later requests wait rather than read at once
        release.set()
        assert await first == 1
        assert [await t for t in later] == [2] * 5  # none was given the stale read
        assert reads == [1, 2]  # and the five shared one read

    asyncio.run(scenario())


def test_on_the_event_loop_a_failed_read_is_raised_and_the_next_request_reads_again() -> None:
    async def scenario() -> None:
        calls = {"n": 0}

        async def read() -> int:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ConnectionError("gone")
            return 7

        shared = AsyncSharedReads(asyncio.get_running_loop(), read)
        try:
            await shared.latest()
            raise AssertionError("the failure was swallowed")
        except ConnectionError:
            pass
        assert await shared.latest() == 7

    asyncio.run(scenario())


def test_memory_only_serves_what_is_remembered_and_never_touches_the_database(store: Store, twin: Store) -> None:
    """PostgreSQL: after the event loop's generation check, ``memory_only`` serves remembered rows;
    the first read that is not remembered and any write raise ``NotRemembered`` before reaching
    the database; a write on another replica is seen at the next check (what was remembered is
    forgotten, so the read is made on a thread again)."""
    if store.is_sqlite:
        pytest.skip("a SQLite store serves every request inline (no event-loop path)")
    row = {"id": "sub-1", "tenant_id": "t", "display_name": "one", "state": "Enabled", "created_at": 1.0}
    store.insert("subscriptions", row)
    with store.fresh_reads():
        assert store.find("subscriptions", id="sub-1")["display_name"] == "one"  # remembered

    def served() -> str:
        assert asyncio.run(store.fresh_on_loop())
        with store.memory_only():
            return str(store.find("subscriptions", id="sub-1")["display_name"])

    assert served() == "one"
    with store.memory_only(), pytest.raises(NotRemembered):
        store.find("subscriptions", id="sub-2")
    with store.memory_only(), pytest.raises(NotRemembered):
        store.set_meta("k", 1)
    assert store.get_meta("k") is None  # nothing was written
    twin.update_where("subscriptions", {"display_name": "two"}, id="sub-1")  # another replica writes
    with pytest.raises(NotRemembered):
        served()
    with store.fresh_reads(checked=True):
        assert store.find("subscriptions", id="sub-1")["display_name"] == "two"
    assert served() == "two"


def test_memory_only_never_waits_for_a_lock_a_loading_thread_holds(store: Store) -> None:
    """The access index is reloaded under a lock by whichever thread finds it stale, and that
    thread reads the database while holding it: a GET served on the event loop that finds the
    index stale must start again on a thread, not wait for that lock (nor for an operation
    another thread is completing)."""
    from crossconnect.arm.operations import OperationEngine
    from crossconnect.arm.settings import ArmSettings
    from crossconnect.authz.index import AccessIndex
    from crossconnect.authz.repository import RbacRepository

    if store.is_sqlite:
        pytest.skip("a SQLite store serves every request inline (no event-loop path)")
    repository = RbacRepository(store)
    index = AccessIndex(repository)
    with store.tx() as conn:
        repository.changed(conn)
    with store.fresh_reads():
        index.current()  # loaded; the token is remembered
        with store.tx() as conn:
            repository.changed(conn)  # stale now
        repository.generation()  # the new token is remembered, the index is not reloaded
    outcome: list[BaseException] = []

    def on_the_loop() -> None:
        assert asyncio.run(store.fresh_on_loop())
        try:
            with store.memory_only():
                index.current()
        except BaseException as exc:  # noqa: BLE001 - what it raised is the result
            outcome.append(exc)

    with index._lock:  # another thread is loading
        loop = threading.Thread(target=on_the_loop, daemon=True)
        loop.start()
        loop.join(5)
        assert not loop.is_alive(), "the event loop waited for the loading thread's lock"
    assert len(outcome) == 1 and isinstance(outcome[0], NotRemembered)
    engine = OperationEngine(store, ArmSettings())
    with store.memory_only(), pytest.raises(NotRemembered):
        engine._run("some-operation")
