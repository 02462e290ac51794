"""``freshness.SharedReads``: requests share reads of the write generation, but never one that
began before they asked (it could predate a write whose answer the client already has)."""

from __future__ import annotations

import threading
import time

from crossconnect.store.freshness import SharedReads, writes


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
