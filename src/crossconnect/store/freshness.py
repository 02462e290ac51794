"""How a PostgreSQL replica learns that another one wrote: the database's write generation.

Every transaction that wrote something moves one sequence on (``nextval``) after it commits (in
the same round trip as its COMMIT) and before its request answers. A replica reads the sequence
(one round trip, no lock: a sequence is read and moved outside transactions) when a request
starts; while it has not moved, every row
and value the replica remembered since it last moved is still what the database holds, so the
request is served from memory. When it moved, the replica forgets everything and reads anew.

Why this closes the window a client can see: a client that got a write's response from replica
A and then asks replica B starts a request on B after A's ``nextval``, so B sees the new
generation. (LISTEN/NOTIFY would tell B too, but asynchronously: B could answer from memory
before the notification arrives. Checking the sequence costs the one round trip a request makes
anyway.) A write whose ``nextval`` could not be made (the database went away right after the
commit) is covered by ``MAX_AGE``: nothing remembered is served longer than that."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

# Seconds after which remembered reads are dropped even if the generation never moved.
MAX_AGE = 5.0

SEQUENCE = "crossconnect_write_generation"
CREATE = f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}"
# the number of nextval calls so far (0 before the first: last_value starts at 1, not called)
READ = f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {SEQUENCE}"
BUMP = f"SELECT nextval('{SEQUENCE}')"
# how a write transaction ends: no parameters, so psycopg sends it as one simple query
COMMIT_AND_BUMP = f"COMMIT; {BUMP}"

# Statements that change rows: a transaction that ran one bumps the generation.
WRITES = ("insert", "update", "delete", "truncate", "alter", "create", "drop")


# A write that does not begin with its verb: a common table expression (``WITH … UPDATE``) or a
# statement behind a comment. Any of these words after ``WITH`` counts (a read that merely names
# a column "update" costs a forgetting, never a stale row).
_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_WRITE_WORD = re.compile(r"\b(?:insert|update|delete|truncate|merge)\b", re.IGNORECASE)


def writes(statement: str) -> bool:
    text = _without_leading_comments(statement)
    first = text[:8].lower()
    return first.startswith(WRITES) or (first.startswith("with") and _WRITE_WORD.search(text) is not None)


def written_table(statement: str) -> str | None:
    """The table of ``INSERT INTO t``, ``UPDATE t``, ``DELETE FROM t``, also written with its
    schema (``public.t``, ``main.t``); None for anything else (a write of it counts as a write of
    every table)."""
    words = _without_leading_comments(statement).split(None, 3)
    verb = words[0].lower() if words else ""
    if verb == "update" and len(words) > 1:
        name = words[1]
    elif verb in ("insert", "delete") and len(words) > 2 and words[1].lower() in ("into", "from"):
        name = words[2]
    else:
        return None
    name = name.split("(", 1)[0]
    schema, dot, table = name.rpartition(".")
    if dot and schema.strip('"').lower() not in ("public", "main"):
        return None  # another schema's table of that name: not one of ours
    return table.strip('"').lower()


def _without_leading_comments(statement: str) -> str:
    match = _LEADING_COMMENTS.match(statement)
    return statement[match.end() :] if match else statement


class SharedReads:
    """Reads of the generation shared by the requests that wait for one at the same time.

    A request may use any read that *began* after it asked (a write answered before the request
    arrived moved the sequence before that read), so while one read is under way, the requests
    that ask meanwhile wait for it to end and then share the next one: under load one round trip
    serves many requests, alone a request makes its own."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._changed = threading.Condition()
        self._began = 0  # reads begun so far (numbered 1, 2, …)
        self._ended = 0  # the number of the latest read that ended
        self._value = 0  # what it read
        self._running = False

    def latest(self) -> int:
        with self._changed:
            needed = self._began + 1  # a read that begins after this moment
            while self._ended < needed:
                if not self._running:
                    self._running = True
                    self._began += 1
                    mine = self._began
                    break
                self._changed.wait()
            else:
                return self._value
        value: int | None = None
        try:
            value = self._read()
            return value
        finally:
            with self._changed:
                self._running = False
                if value is not None:
                    self._ended, self._value = mine, value
                self._changed.notify_all()


class NotRemembered(BaseException):
    """Raised inside ``Store.memory_only()`` by the first read that is not remembered (and by any
    write): the caller runs the request again where it may use the database. A BaseException, so
    that no handler's ``except Exception`` takes it for an error of its own."""


class LoopReads:
    """The generation read on the event loop (a psycopg async connection, read through libpq
    directly: ``_GenerationConnection``): for the GETs a replica serves from memory without a
    thread (``ArmProtocol``), shared as ``AsyncSharedReads`` shares. One connection, for the event
    loop that asked last (a server runs one)."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: _GenerationConnection | None = None
        self._shared: AsyncSharedReads | None = None

    async def latest(self) -> int:
        loop = asyncio.get_running_loop()
        if self._shared is None or self._shared.loop is not loop:
            self.close()
            self._connection = _GenerationConnection(self._conninfo)
            self._shared = AsyncSharedReads(loop, self._connection.read)
        return await self._shared.latest()

    def close(self) -> None:
        """Drop the connection (from any thread, with or without its loop running: nothing is
        awaited)."""
        connection, self._connection, self._shared = self._connection, None, None
        if connection is not None:
            connection.close()


class AsyncSharedReads:
    """``SharedReads`` on an event loop: the requests that ask while a read is under way wait for
    it to end and share the next one, which begins after they asked."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read: Callable[[], Awaitable[int]]) -> None:
        self.loop = loop
        self._read = read
        self._next: asyncio.Future[int] | None = None  # the read the requests asking now wait for
        self._task: asyncio.Task[None] | None = None

    async def latest(self) -> int:
        if self._next is None:
            self._next = self.loop.create_future()
            if self._task is None:
                self._task = self.loop.create_task(self._reads())
        return await asyncio.shield(self._next)

    async def _reads(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # who asks from now on waits for the next read
                try:
                    value = await self._read()
                except Exception as exc:  # each waiter falls back to a thread's read
                    waiting.set_exception(exc)
                    waiting.exception()  # (retrieved: no "never retrieved" warning without waiters)
                else:
                    waiting.set_result(value)
        finally:
            self._task = None


class _GenerationConnection:
    """One async autocommit connection that reads the generation, made on first use and made
    again after an error. The read goes to libpq directly (send, wait on the event loop until
    the socket is readable, take the result): psycopg's async cursor costs three times the CPU
    of that (89 µs against 26 µs per read here, most of a remembered GET's own cost)."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: Any = None

    async def read(self) -> int:
        import psycopg

        for attempt in (1, 2):
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                    await _prepare(self._connection.pgconn)
                return await _read_generation(self._connection.pgconn)
            except (psycopg.Error, OSError):
                self.close()  # a restart, a terminated backend: one more try on a new connection
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.pgconn.finish()  # the socket closed directly: no await, any thread


_STATEMENT = b"crossconnect_generation"


async def _prepare(pgconn: Any) -> None:
    """Prepare the generation read on a new connection, at the protocol level (a ``Parse``
    message, as psycopg's own prepared statements: poolers that keep those, such as PgBouncer
    1.21 and later, keep this one too)."""
    from psycopg import pq

    pgconn.send_prepare(_STATEMENT, READ.encode(), None)
    await _result(pgconn, pq.ExecStatus.COMMAND_OK)


async def _read_generation(pgconn: Any) -> int:
    """The prepared generation read on a nonblocking libpq connection that is idle."""
    from psycopg import pq

    pgconn.send_query_prepared(_STATEMENT, None)
    result = await _result(pgconn, pq.ExecStatus.TUPLES_OK)
    value = result.get_value(0, 0)
    return int(value) if value is not None else 0


async def _result(pgconn: Any, expected: Any) -> Any:
    """Send what is queued on ``pgconn`` and wait, on the event loop, for its one result."""
    import psycopg

    loop = asyncio.get_running_loop()
    while pgconn.flush():  # (1 while some of the query is still to be sent)
        await _ready(loop, pgconn.socket, loop.add_writer, loop.remove_writer)
    pgconn.consume_input()
    while pgconn.is_busy():
        await _ready(loop, pgconn.socket, loop.add_reader, loop.remove_reader)
        pgconn.consume_input()
    result, rest = pgconn.get_result(), pgconn.get_result()
    while rest is not None:
        rest = pgconn.get_result()
    if result is None or result.status != expected:
        message = result.error_message.decode(errors="replace") if result is not None else "no result"
        raise psycopg.OperationalError(f"reading the write generation failed: {message}")
    return result


def _ready(loop: asyncio.AbstractEventLoop, fd: int, add: Any, remove: Any) -> asyncio.Future[None]:
    """A future done when ``fd`` is ready (``add``/``remove``: the loop's reader or writer calls)."""
    ready: asyncio.Future[None] = loop.create_future()
    add(fd, lambda: None if ready.done() else ready.set_result(None))
    ready.add_done_callback(lambda _: remove(fd))
    return ready
