"""The one persistence interface: SQLite by default, PostgreSQL for several replicas.

Upper layers speak to ``Store`` methods; SQL lives here only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import select as _select
import threading
import time  # (monotonic ages of remembered reads: real time, not the operator clock)
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    Float,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError

from crossconnect import clock
from crossconnect.store import freshness, schema
from crossconnect.store.executor import BlockingCalls
from crossconnect.store.values import check_row, json_columns, unmatchable
from crossconnect.untrusted import json_text

T = TypeVar("T")

log = logging.getLogger("crossconnect.store")

# PostgreSQL: the threads that run store work for requests (``BlockingCalls``). Each holds one
# autocommit connection for its reads and takes at most one more for a transaction, so the pool
# has room for all of them, the event loop's own reads and the reconciler's.
STORE_THREADS = 6

_MIGRATIONS = str(Path(__file__).parent / "migrations")

# Tables whose rows make up "all state" (snapshots, reset). Signing keys are infrastructure:
# they survive a reset so that tokens already issued stay verifiable. Sign-in in progress
# (device_codes, redeemed_codes, sign_in_failures) is transient: no snapshot carries it, and the
# identity layer clears what a reset clears (identity.signin.UserSignIn.forget).
STATE_TABLES = [
    schema.meta,
    schema.tenants,
    schema.applications,
    schema.service_principals,
    schema.client_credentials,
    schema.users,
    schema.groups,
    schema.group_members,
    schema.subscriptions,
    schema.provider_registrations,
    schema.feature_registrations,
    schema.resources,
    schema.operations,
    schema.deployments,
    schema.role_definitions,
    schema.role_assignments,
    schema.rbac_generation,
]

Row = dict[str, Any]

# What is remembered between writes on SQLite stays small whatever the size of the tables: the few
# rows a request reads by key (a resource, its subscription, a registration), never a list page,
# and at most this many results (then all are dropped and remembered anew). Remembering every
# page of a 10,000-item listing made the server's memory grow by half after one walk.
_REMEMBER_MAX_ROWS = 8
_REMEMBER_MAX_ENTRIES = 2048
# tx()'s notes on its connection: the keys of the rows written by table, where every statement
# that wrote the table said which row; and the tables written by statements that did not
_WRITTEN_KEYS = "crossconnect.written_keys"
_ROWS_UNKNOWN = "crossconnect.rows_unknown"
# Reads a transaction made since it last wrote or locked (``_run_fast``), on its connection's
# ``info`` under this name; at most this many (then they are made anew).
_TX_READS = "crossconnect.tx_reads"
_WRITTEN_ROWS = "crossconnect.written_rows"
_AFTER_COMMIT = "crossconnect.after_commit"
_LOOKUPS = "crossconnect.lookups_after_commit"
_TX_READS_MAX = 64

# Values that a prepared ``column = :value`` comparison matches exactly as ``column == value`` does
# (None is excluded: ``column == None`` means ``IS NULL``).
_BINDABLE = (str, int, float)


def database_url(database: str | None, data_dir: Path) -> str:
    """Turn the ``--database`` flag into an SQLAlchemy URL."""
    if not database:
        return f"sqlite:///{data_dir / 'crossconnect.db'}"
    if database.startswith("postgresql://") or database.startswith("postgres://"):
        return "postgresql+psycopg://" + database.split("://", 1)[1]
    if database.startswith("sqlite:") or "+" in database.split("://", 1)[0]:
        return database
    return f"sqlite:///{database}"


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Nothing of a row reaches a log or an error message: not the parameters of a failed
        # statement (secret hashes and salts are among them), nor the row PostgreSQL quotes back.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # No pre-ping (a round trip on every checkout): a checked-out connection is looked at
            # without one (``_still_connected``), and the held read connections reconnect once.
            kwargs["pool_size"] = 2 * STORE_THREADS + 2
            kwargs["max_overflow"] = STORE_THREADS
        self.engine: Engine = create_engine(url, **kwargs)
        # INSERT … ON CONFLICT of this backend's dialect, imported for it only (the PostgreSQL
        # dialect alone costs a SQLite server a tenth of its start-up)
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:
            from sqlalchemy.dialects.postgresql import insert as upsert  # type: ignore[assignment]
        self._upsert = upsert
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine, "checkout", _still_connected)
        event.listen(self.engine, "before_cursor_execute", _note_writes)
        event.listen(self.engine, "handle_error", _without_row_values)
        self.calls = BlockingCalls(0 if self.is_sqlite else STORE_THREADS)
        # Prepared SELECTs of find_all, by (table, where columns, after_seq?, limit?): building a
        # statement and its cache key costs more than running it; values are bound per call.
        self._selects: dict[tuple[str, tuple[str, ...], bool, bool], Select[Any]] = {}
        # Prepared UPDATEs of put_resource (SQL text), by (columns written, compare the etag?).
        self._updates: dict[tuple[tuple[str, ...], bool], str] = {}
        # Prepared INSERTs and UPDATEs of insert/update_where (SQL text), and the columns of each
        # table whose values they bind.
        self._prepared: dict[tuple[Any, ...], str] = {}
        self._plain: dict[str, frozenset[str]] = {}
        # Every write of this process goes through tx()/_conn(), which forget all remembered reads
        # when they end. SQLite: one server process owns the file (the data-dir lock), so raw rows
        # of reads made since the last write can be served from memory. PostgreSQL: replicas share
        # the database, so remembered reads are served only inside ``fresh_reads()``, which first
        # checks that no replica wrote since they were made (``freshness``). (Rows are decoded
        # anew on each call: callers get fresh dicts they may change.)
        # A write forgets what was read from the tables it wrote (a write whose tables are not
        # known forgets everything). By table: (sql, params) → raw rows.
        self._remembered: dict[str, dict[tuple[str, tuple[Any, ...]], list[Any]]] = {}
        # Reads of one resource by its key, by key: a write that knows the keys it changed
        # (``_update_resource``) forgets only those (the final GET of a long-running PUT reads
        # the parents it did not write from memory). By table, then key: (sql, params) → raw rows.
        self._remembered_rows: dict[str, dict[str, dict[tuple[str, tuple[Any, ...]], list[Any]]]] = {}
        # Values derived from reads (see ``remembered``), by the table they were read from ("*":
        # not said), under the same rule as remembered rows.
        self._memo: dict[str, dict[Hashable, Any]] = {}
        # Bumped whenever remembered reads are dropped: a read that raced a write is not kept.
        self._read_generation = 0
        # Held while the generation moves and memory is dropped, and while a read is kept: a read
        # is kept only if no write ended since it began, checked and stored in one step.
        self._memory_lock = threading.Lock()
        # PostgreSQL: the database's write generation the remembered reads belong to, and since when
        self._db_generation = -1
        self._own_generations: set[int] = set()  # moved on by this process's writes, not yet seen by a request
        self._generation_reads = freshness.SharedReads(lambda: int(self._peek_rows(freshness.READ)[0][0]))
        self._loop_reads = (
            None
            if self.is_sqlite
            else freshness.LoopReads(self.engine.url.set(drivername="postgresql").render_as_string(False))
        )
        self._remembered_since = time.monotonic()
        self._fast: dict[tuple[str, tuple[str, ...], bool, bool], tuple[str, list[str], list[tuple[str, Any]]]] = {}
        # reads outside a transaction: one connection per thread, kept open in autocommit mode
        self._peek_local = _ThreadState()
        self._peek_connections: list[Any] = []
        self._peek_lock = threading.Lock()
        # SQLite: the main thread's connection for write transactions, kept checked out (``_tx_connection``)
        self._held_writer: Connection | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest revision. A store already there (every start but the
        first after an upgrade) is recognised by one query, without loading Alembic (a third of
        the server's start-up time)."""
        if self._at_head():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", _MIGRATIONS)
        with self.engine.begin() as conn:
            # replicas starting at once on one PostgreSQL database migrate one after the other
            self.lock(conn, "store.migrate")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if not self.is_sqlite:
                conn.exec_driver_sql(freshness.CREATE)

    def _at_head(self) -> bool:
        try:
            with self.engine.connect() as c:
                versions = [r[0] for r in c.exec_driver_sql("SELECT version_num FROM alembic_version")]
        except DBAPIError:  # no version table yet: a new database
            return False
        return versions == [head_revision()]

    def dispose(self) -> None:
        self.calls.shutdown()
        if self._loop_reads is not None:
            self._loop_reads.close()
        with self._peek_lock:
            for held in self._peek_connections:
                with contextlib.suppress(Exception):
                    # discarded, never back to the pool: on PostgreSQL it hands JSON back as text
                    # (``_peek_connection``), which no other user of the pool expects
                    held.invalidate()
            self._peek_connections.clear()
            if self._held_writer is not None:
                with contextlib.suppress(Exception):
                    self._held_writer.close()
                self._held_writer = None
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all.

        SQLite: the transaction takes the database's write lock when it begins (``BEGIN
        IMMEDIATE``), so what it reads stays true until it commits — every write transaction of the
        owning process takes its turn, and ``lock`` has nothing left to do. PostgreSQL: READ
        COMMITTED; a transaction that must not act on what another replica is changing takes
        ``lock`` on the records it reads before reading them."""
        self.needs_database()
        written: set[str] | None = None  # unknown until it committed: forget everything
        written_keys: dict[str, set[str]] = {}
        written_rows: dict[str, tuple[Row, dict[str, str]]] = {}
        lookups: dict[tuple[str, str, Any], tuple[Row, dict[str, str]]] = {}
        after_commit: list[Callable[[], None]] = []
        forgot_before = -1
        committed = False
        try:
            with self._tx_connection() as conn, conn.begin():
                if self.is_sqlite:
                    _begin_immediate(conn)
                # (one look-up of the info dict: each ``conn.info`` walks three SQLAlchemy properties)
                info = conn.info
                info["written"] = set()  # filled by ``_note_writes``
                info[_WRITTEN_KEYS] = {}  # table → the keys of the rows written, where known
                info[_ROWS_UNKNOWN] = set()  # tables written by statements whose rows are not known
                info[_WRITTEN_ROWS] = {}  # see ``_remember_written``
                info[_LOOKUPS] = {}  # see ``remember_after_commit``
                info[_AFTER_COMMIT] = after_commit = []  # see ``after_commit``
                info[_TX_READS] = {}  # see ``_run_fast``
                try:
                    yield conn
                finally:
                    info.pop(_TX_READS, None)
                    info.pop(_AFTER_COMMIT, None)
                    written_rows = info.pop(_WRITTEN_ROWS, {})
                    lookups = info.pop(_LOOKUPS, {})
                written = info.get("written")
                unknown = info.get(_ROWS_UNKNOWN, set())
                written_keys = {t: k for t, k in info.get(_WRITTEN_KEYS, {}).items() if t not in unknown}
                if "resources" in unknown or "*" in unknown:
                    written_rows = {}
                forgot_before = self._read_generation
                if not self.is_sqlite:
                    _refuse_if_aborted(conn)
                if written and not self.is_sqlite:
                    # committed, and the other replicas learn it before we answer; begin()'s
                    # own commit then finds nothing left to commit
                    self._commit_and_bump(conn)
            committed = True
        finally:
            if written is None or written:
                self._forget_reads(written, written_keys)
        if committed and written_rows:
            self._remember_written(written_rows, forgot_before)
        if committed and lookups:
            self._remember_lookups(lookups, forgot_before)
        if committed:
            for call in after_commit:
                call()

    @staticmethod
    def after_commit(conn: Connection, call: Callable[[], None]) -> None:
        """Run ``call`` once the transaction of ``conn`` (a ``tx()``) has committed; never if it
        rolls back. Outside ``tx()`` (a connection of its own): at once."""
        pending = conn.info.get(_AFTER_COMMIT)
        if pending is None:
            call()
        else:
            pending.append(call)

    def _remember_written(self, rows: dict[str, tuple[Row, dict[str, str]]], forgot_before: int) -> None:
        """Remember the resource rows a committed transaction wrote as their look-ups by key now
        return them (``replace_resource``: each row as stored, with the JSON text written): the
        read that follows a write (a long-running PUT's final GET, the poll that completed it) is
        served from memory. Only when nothing else was forgotten in this process since the
        transaction's last statement: a later write of one of these rows, ended by another
        thread in between, must not be covered by this older one. (A write by another replica is
        seen at the next request's generation check, which then forgets everything, these rows
        too; a write of this process after this point forgets them as any write does.)"""
        if self._read_generation != forgot_before + 1:
            return
        generation = self._read_generation
        for key, (stored, texts) in rows.items():
            self._remember_lookup("resources", "key", key, stored, texts, generation)

    def remember_after_commit(self, conn: Connection, table: str, column: str, row: Row) -> None:
        """Once the transaction of ``conn`` commits, remember ``row`` as what ``find(table,
        column=row[column])`` returns: the row as this transaction just wrote it (every column),
        so the read that follows (an operation's poll after the completion) is served from
        memory. Dropped when the transaction writes ``table`` again by a statement whose rows
        are not known (it may have changed this row), and under the rule of ``_remember_written``
        at commit. A JSON value whose text the store cannot vouch for is not remembered."""
        pending = conn.info.get(_LOOKUPS)
        if pending is None:
            return
        texts: dict[str, str] = {}
        for name in json_columns(schema.metadata.tables[table]):
            if row.get(name) is not None:
                text = json_text(row[name])
                if text is None:
                    return
                texts[name] = text
        pending[(table, column, row[column])] = (dict(row), texts)

    def _remember_lookups(
        self, rows: dict[tuple[str, str, Any], tuple[Row, dict[str, str]]], forgot_before: int
    ) -> None:
        """``remember_after_commit``'s rows, under the rule of ``_remember_written``."""
        if self._read_generation != forgot_before + 1:
            return
        generation = self._read_generation
        for (table, column, value), (row, texts) in rows.items():
            self._remember_lookup(table, column, value, row, texts, generation)

    def _remember_lookup(
        self, table: str, column: str, value: Any, row: Row, texts: dict[str, str], generation: int
    ) -> None:
        """Remember ``row`` as the answer of the look-up ``find(table, column=value)``, in the form
        a read keeps (``_run_fast``): the values as the driver returns them, JSON as its text."""
        sql, names, _ = self._fast_sql(table, (column,), False, True)
        if not all(name in row for name in names):
            return
        json_names = json_columns(schema.metadata.tables[table])
        raw = tuple((None if row[n] is None else texts[n]) if n in json_names else row[n] for n in names)
        row_key = value if table == "resources" and column == "key" else None
        self._remember(self._memory_for(table, row_key), (sql, (value, 1)), [raw], generation)

    @contextmanager
    def _tx_connection(self) -> Iterator[Connection]:
        """The connection a transaction runs on: one from the pool, except on SQLite in the main
        thread (the event loop's, where every request's store work runs inline): there one
        connection is kept checked out between transactions (the write transactions take the
        file's lock in turn anyway), which spares each write the pool's checkout, reset and
        checkin around it (a tenth of a tags PUT's CPU). Other threads (snapshots, purges, tests)
        come and go: they return theirs to the pool."""
        held = self._held_writer if self.is_sqlite and threading.current_thread() is threading.main_thread() else None
        if self.is_sqlite and held is None and threading.current_thread() is threading.main_thread():
            held = self._held_writer = self.engine.connect()
        if held is not None and (held.closed or held.invalidated):
            held = self._held_writer = self.engine.connect()
        if held is None or held.in_transaction():  # (in_transaction: one inside another, not ours)
            with self.engine.connect() as conn:
                yield conn
            return
        yield held

    def lock(self, conn: Connection, *names: str) -> None:
        """Hold a lock on each name until ``conn``'s transaction ends: a second transaction, on
        any replica, that asks for one of them waits until this one has committed or rolled back.
        Names are records (a resource key, ``meta:<key>``, ``rbac``); what a transaction reads
        after locking them is what the last holder committed.

        PostgreSQL: transaction-scoped advisory locks (``pg_advisory_xact_lock`` on a 64-bit hash
        of the name; a collision only makes two names take turns). The names of one call are
        taken in sorted order, so two transactions locking overlapping sets cannot deadlock; a
        transaction takes the locks of the records it writes in one call, first, and afterwards
        only "leaf" locks (port pairs, stored documents, ``rbac``) that no holder waits beyond.
        SQLite: nothing to do, ``tx()`` holds the database's write lock already."""
        if not names:
            return
        _forget_tx_reads(conn)  # what is read after the lock is what the last holder committed
        if self.is_sqlite:
            return
        # One statement, one round trip, however many names: the locks are taken one after the
        # other in the order of their keys (``ORDER BY``: a stable order across transactions,
        # which is what keeps two writers locking overlapping sets from deadlocking).
        # In a pipeline: the first statement of a transaction goes out with its BEGIN, one round
        # trip for both (psycopg sends BEGIN on its own otherwise).
        keys = sorted({_lock_id(name) for name in names})
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor:
                with driver.pipeline():
                    cursor.execute(_LOCK_SQL, (keys,))
                cursor.fetchall()
        except Exception as exc:
            _first_line_only(exc)
            raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for statements that only read. Unlike ``tx()`` it keeps the remembered
        reads: the reconciler looks for due operations every second, and must not empty them."""
        with self._read(None) as conn:
            yield conn

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str, conn: Connection | None = None, *, for_update: bool = False) -> Any:
        """A stored value (None when absent). ``for_update``: inside a transaction that will write
        it back, lock it first (``lock``), so no other transaction changes it meanwhile."""
        if for_update:
            if conn is None:
                raise ValueError("get_meta(for_update=True) needs the transaction that writes the value back")
            self.lock(conn, meta_lock(key))
        row = self.find("meta", conn, key=key)
        return row["value"] if row else None

    def set_meta(self, key: str, value: Any, conn: Connection | None = None) -> None:
        """Write a value whole (one statement: an insert racing another replica's never fails)."""
        check_row(schema.meta, {"key": key, "value": value})
        stmt = self._upsert(schema.meta).values(key=key, value=value)
        with self._conn(conn) as c:
            c.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))

    def update_meta(self, key: str, change: Callable[[Any], T], conn: Connection | None = None) -> T:
        """Read, change and write back a stored value as one step: ``change(current or None)``
        returns the new value, which is stored and returned. Concurrent updates (any replica)
        take turns, so none overwrites another's change."""
        with self._conn(conn) as c:
            value = change(self.get_meta(key, c, for_update=True))
            self.set_meta(key, value, c)
            return value

    # -- the held autocommit connection of reads outside a transaction ---------------------------
    def _peek_connection(self) -> Any:
        self.needs_database()
        held = self._peek_local.connection
        if held is None:
            held = self.engine.raw_connection()  # checked out for the thread's lifetime
            driver = held.driver_connection
            assert driver is not None
            if self.is_sqlite:
                driver.isolation_level = None  # autocommit: each SELECT reads the latest commit
            else:
                driver.autocommit = True
                # JSON as its text: what is remembered of a row stays as read, whatever a caller
                # does to the values it was handed (``_fast_sql``'s decoders decode per read)
                from psycopg.types.string import TextLoader

                for name in ("json", "jsonb"):
                    driver.adapters.register_loader(name, TextLoader)
            self._peek_local.connection = held
            with self._peek_lock:
                self._peek_connections.append(held)
        return held

    def _drop_peek_connection(self) -> None:
        held = getattr(self._peek_local, "connection", None)
        self._peek_local.connection = None
        if held is not None:
            with self._peek_lock:
                if held in self._peek_connections:
                    self._peek_connections.remove(held)
            with contextlib.suppress(Exception):
                held.invalidate()

    # -- generic rows ------------------------------------------------------------------------
    def insert(self, table: str, row: Row, conn: Connection | None = None) -> None:
        t = schema.metadata.tables[table]
        check_row(t, row)
        with self._conn(conn) as c:
            if self._plain_columns(t, row) and all(col.name in row for col in _defaulted(t)):
                self._fast_write(c, table, self._insert_sql(t, tuple(row)), self._plain_params(t, row))
            else:
                c.execute(insert(t).values(**row))

    def insert_if_absent(self, table: str, row: Row, conn: Connection | None = None) -> bool:
        """Insert unless a row with the same primary or unique key exists; True when inserted.
        Atomic across replicas (``ON CONFLICT DO NOTHING``): of two racing inserts one wins."""
        t = schema.metadata.tables[table]
        check_row(t, row)
        # RETURNING, not rowcount: psycopg reports no rowcount for an INSERT … ON CONFLICT
        stmt = self._upsert(t).values(**row).on_conflict_do_nothing().returning(*t.primary_key.columns)
        with self._conn(conn) as c:
            return c.execute(stmt).first() is not None

    def find(self, table: str, conn: Connection | None = None, **where: Any) -> Row | None:
        rows = self.find_all(table, conn, limit=1, **where)
        return rows[0] if rows else None

    def find_all(
        self,
        table: str,
        conn: Connection | None = None,
        *,
        limit: int | None = None,
        after_seq: int | None = None,
        **where: Any,
    ) -> list[Row]:
        if unmatchable(where):
            return []
        bindable = all(isinstance(v, _BINDABLE) for v in where.values())
        if bindable:
            # inside a transaction: the same prepared text on its own DBAPI connection (what the
            # transaction wrote is seen; nothing is remembered)
            return self._fast_rows(table, where, after_seq, limit, None if conn is None else conn.connection)
        params: dict[str, Any] | None = None
        if bindable:
            stmt = self._select(table, tuple(where), after_seq is not None, limit is not None)
            params = {f"w_{column}": value for column, value in where.items()}
            if after_seq is not None:
                params["p_after_seq"] = after_seq
            if limit is not None:
                params["p_limit"] = limit
        else:
            t = schema.metadata.tables[table]
            stmt = select(t)
            for column, value in where.items():
                stmt = stmt.where(t.c[column] == value)
            if after_seq is not None:
                stmt = stmt.where(t.c.seq > after_seq)
            if "seq" in t.c:
                stmt = stmt.order_by(t.c.seq)
            if limit is not None:
                stmt = stmt.limit(limit)
        with self._read(conn) as c:
            return [dict(r._mapping) for r in c.execute(stmt, params)]

    def _fast_rows(
        self, table: str, where: dict[str, Any], after_seq: int | None, limit: int | None, in_tx: Any = None
    ) -> list[Row]:
        """Reads take the hot path: SQL text prepared once per shape, run on a DBAPI connection
        directly, at a few µs instead of the ~50 µs of a SQLAlchemy execution. Outside a
        transaction: in autocommit on this thread's held connection (the one ``peek`` uses), so
        each read sees the latest commit exactly as a fresh transaction would. ``in_tx``: the
        DBAPI connection of the caller's transaction."""
        sql, names, decoders = self._fast_sql(table, tuple(where), after_seq is not None, limit is not None)
        params: tuple[Any, ...] = tuple(where.values())
        if after_seq is not None:
            params += (after_seq,)
        if limit is not None:
            params += (limit,)
        row_key = where["key"] if table == "resources" and len(where) == 1 and "key" in where else None
        return self._run_fast(table, sql, params, names, decoders, in_tx, row_key=row_key)

    def _run_fast(
        self,
        table: str,
        sql: str,
        params: tuple[Any, ...],
        names: list[str],
        decoders: list[tuple[str, Any]],
        in_tx: Any,
        values: int = 1,
        row_key: str | None = None,
    ) -> list[Row]:
        """Prepared text on the transaction's DBAPI connection (``in_tx``: what it wrote is seen,
        nothing is remembered) or on this thread's held autocommit connection, remembered when
        the result is small (and the look-up by at most ``_REMEMBER_MAX_ROWS`` values)."""
        if in_tx is not None:
            # Inside ``tx()`` the same read is made once until the transaction writes its table
            # (a look-up of one resource by key: until it writes that row) or locks something (a
            # peering write reads its circuit and cross connection for the checks, the rendering
            # and the parent's id: one round trip each, not three). Between a lock and a write
            # nothing the transaction may rely on can change: the rows it reads after locking
            # their records stay as the last holder committed them, and the rest are what a read
            # at that moment would have returned.
            tx_reads = in_tx.info.get(_TX_READS)
            if tx_reads is not None and len(tx_reads) >= _TX_READS_MAX and (table, row_key) not in tx_reads:
                tx_reads.clear()  # (a transaction that reads many rows one by one: bounded memory)
            reads = tx_reads.setdefault((table, row_key), {}) if tx_reads is not None else None
            raw_rows = reads.get((sql, params)) if reads is not None else None
            if raw_rows is None:
                cursor = in_tx.cursor()
                try:
                    cursor.execute(sql, params)
                    raw_rows = cursor.fetchall()
                finally:
                    cursor.close()
                if reads is not None and len(raw_rows) <= _REMEMBER_MAX_ROWS:
                    if len(reads) >= _TX_READS_MAX:
                        reads.clear()
                    reads[(sql, params)] = raw_rows
                else:  # not kept: the caller's own
                    return self._decoded(raw_rows, names, decoders if self.is_sqlite else [])
            if self.is_sqlite:
                return self._decoded(raw_rows, names, decoders)  # JSON decoded anew from its text
            # psycopg hands a transaction's JSON back decoded: each caller gets its own copy of
            # what the read decoded (a caller that changes a body in place changes only its own)
            return [{k: _json_copy(v) for k, v in row.items()} for row in self._decoded(raw_rows, names, [])]
        may = self._may_remember() and values <= _REMEMBER_MAX_ROWS
        memory = self._memory_for(table, row_key) if may else None
        remembered = memory.get((sql, params)) if memory is not None else None
        if remembered is not None:
            raw_rows = remembered
        else:
            generation = self._read_generation
            raw_rows = self._peek_rows(sql, params)
            if memory is not None and len(raw_rows) <= _REMEMBER_MAX_ROWS:  # no list pages: bounded memory
                self._remember(memory, (sql, params), raw_rows, generation)
        return self._decoded(raw_rows, names, decoders)

    def _memory_for(self, table: str, row_key: str | None) -> dict[tuple[str, tuple[Any, ...]], list[Any]]:
        """Where a read outside a transaction is remembered: with the reads of its row (a look-up
        by a resource's key, ``row_key``) or with the other reads of its table."""
        if row_key is None:
            return self._remembered.setdefault(table, {})
        rows = self._remembered_rows.setdefault(table, {})
        if len(rows) >= _REMEMBER_MAX_ENTRIES:
            rows.clear()
        return rows.setdefault(row_key, {})

    @staticmethod
    def _decoded(raw_rows: Sequence[Any], names: list[str], decoders: list[tuple[str, Any]]) -> list[Row]:
        rows = []
        for raw in raw_rows:
            row = dict(zip(names, raw, strict=True))
            for name, decode in decoders:
                row[name] = decode(row[name])
            rows.append(row)
        return rows

    def _peek_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One statement in autocommit on this thread's held connection; a connection the database
        dropped (a restart, a terminated backend) is replaced and the statement run once more."""
        for attempt in (1, 2):
            held = self._peek_connection()
            try:
                cursor = held.driver_connection.cursor()
                try:
                    cursor.execute(sql, params)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
            except Exception:
                self._drop_peek_connection()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def take_lease(self, op_id: str, owner: str, now: float, until: float) -> bool:
        """Lease the operation ``op_id`` to ``owner`` until ``until`` if it is still InProgress and
        its lease is free, ran out before ``now`` or is ``owner``'s own; True when taken.

        One UPDATE in autocommit on this thread's held connection: a single statement is atomic
        on both backends (PostgreSQL re-checks its condition against a row another replica just
        changed), so it needs no transaction of its own. That spares an operation's completion
        the BEGIN and COMMIT of one (three round trips to PostgreSQL, a write lock taken and
        released on SQLite). The write ends as ``tx()`` ends one: the generation moves on and what
        was remembered of operations is forgotten."""
        mark = "?" if self.is_sqlite else "%s"
        sql = (
            f'UPDATE "operations" SET "lease_owner" = {mark}, "lease_until" = {mark} '
            f'WHERE "id" = {mark} AND "status" = \'InProgress\' '
            f'AND ("lease_until" IS NULL OR "lease_until" < {mark} OR "lease_owner" = {mark})'
        )
        try:
            for attempt in (1, 2):
                held = self._peek_connection()
                try:
                    taken = self._lease_statement(held.driver_connection, sql, (owner, until, op_id, now, owner))
                    break
                except Exception as exc:
                    # as ``_peek_rows``: a connection the database dropped is replaced, once (the
                    # statement is safe to repeat: a lease already taken is the owner's own)
                    self._drop_peek_connection()
                    if attempt == 2:
                        _first_line_only(exc)
                        raise
        finally:
            self._forget_reads({"operations"})
        return taken

    def due_operations(self, now: float, limit: int) -> list[str]:
        """The ids of the operations still InProgress and due by ``now``, oldest first, at most
        ``limit``: the reconciler's look-up, on every pass and after every write that starts an
        operation, as prepared text in autocommit (what was last committed) instead of a Core
        statement built and compiled each time."""
        mark = "?" if self.is_sqlite else "%s"
        sql = (
            f'SELECT "id" FROM "operations" WHERE "status" = \'InProgress\' AND "due_at" <= {mark} '
            f'ORDER BY "seq" LIMIT {mark}'
        )
        return [r[0] for r in self._peek_rows(sql, (now, limit))]

    def next_operation_due(self) -> float | None:
        """When the next operation still InProgress falls due; None when none is running."""
        rows = self._peek_rows(
            'SELECT "due_at" FROM "operations" WHERE "status" = \'InProgress\' ORDER BY "due_at" LIMIT 1'
        )
        return float(rows[0][0]) if rows else None

    def _lease_statement(self, driver: Any, sql: str, params: tuple[Any, ...]) -> bool:
        if self.is_sqlite:
            cursor = driver.cursor()
            try:
                cursor.execute(sql, params)
                return bool(cursor.rowcount == 1)
            finally:
                cursor.close()
        # PostgreSQL: the UPDATE and the generation's move in one pipeline (one round trip). The
        # database runs them in order, so the generation moves after the UPDATE committed, as
        # after any write; it moves when no lease was taken too (the others read once more).
        with driver.cursor() as update, driver.cursor() as bump:
            with driver.pipeline():
                update.execute(sql, params)
                bump.execute(freshness.BUMP)
            self._note_own_generation(int(bump.fetchone()[0]))
            return bool(update.rowcount == 1)

    # -- what replicas remember (PostgreSQL; see ``freshness``) -----------------------------------
    @contextmanager
    def fresh_reads(self, checked: bool = False) -> Iterator[None]:
        """Within: reads outside a transaction may be served from memory. SQLite: always so.
        PostgreSQL: one round trip first reads the database's write generation; when another
        replica wrote since the remembered reads were made (or they are older than
        ``freshness.MAX_AGE``), they are dropped first. For one request's work on one thread;
        ``checked``: this request checked the generation already (an earlier step of it)."""
        if self.is_sqlite:
            yield
            return
        if not checked:
            self._check_generation()
        local = self._peek_local
        local.fresh = True
        try:
            yield
        finally:
            local.fresh = False

    async def fresh_on_loop(self) -> bool:
        """PostgreSQL: the check ``fresh_reads`` begins with, made on the event loop (the async
        driver: no thread), for work then tried in ``memory_only()``. False when it could not be
        made there (the caller makes it on a thread as before, which reports what is wrong)."""
        if self._loop_reads is None:
            return False
        try:
            generation = await self._loop_reads.latest()
        except Exception as exc:  # noqa: BLE001 - the thread's check reports it
            log.debug("the event loop's generation read failed (%s); checking on a thread", exc)
            return False
        self._apply_generation(generation)
        return True

    @contextmanager
    def memory_only(self) -> Iterator[None]:
        """Within: reads are served from memory only, as inside ``fresh_reads(checked=True)``
        (after ``fresh_on_loop``); the first one that is not remembered, and any write, raises
        ``NotRemembered`` before touching the database. For work on the event loop that must not
        wait for the database: when it raises, the caller runs the work again on a thread."""
        local = self._peek_local
        local.fresh = local.memory_only = True
        try:
            yield
        finally:
            local.fresh = local.memory_only = False

    def needs_database(self) -> None:
        """Say that what comes next may wait on the database (a read, or a lock that a thread
        holds while it reads): within ``memory_only()`` that raises ``NotRemembered`` first, so
        that the event loop never waits."""
        if self._peek_local.memory_only:
            raise freshness.NotRemembered

    def _check_generation(self) -> None:
        self._apply_generation(self._generation_reads.latest())

    def _apply_generation(self, generation: int) -> None:
        if time.monotonic() - self._remembered_since > freshness.MAX_AGE:
            self._forget_reads()
        if generation > self._db_generation:
            own = self._own_generations
            if not all(g in own for g in range(self._db_generation + 1, generation + 1)):
                self._forget_reads()  # another replica wrote: what it wrote is not known here
            # (moved on only by this process's writes: each forgot what it wrote when it ended)
            own.difference_update(range(self._db_generation + 1, generation + 1))
            self._db_generation = max(self._db_generation, generation)

    def _may_remember(self) -> bool:
        return self.is_sqlite or self._peek_local.fresh

    def _commit_and_bump(self, conn: Connection) -> None:
        """COMMIT the transaction and move the generation on, in one round trip: two statements in
        one simple query, which the database runs in order, so the generation moves only after the
        commit. If the answer is lost (the connection dropped), whether the transaction committed
        is unknown, as for any lost COMMIT reply: the error is raised, and the other replicas,
        should it have committed, drop what they remember within ``freshness.MAX_AGE``."""
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor:
                cursor.execute(freshness.COMMIT_AND_BUMP)
                cursor.nextset()
                row = cursor.fetchone()
        except Exception as exc:
            _first_line_only(exc)
            raise
        assert row is not None
        self._note_own_generation(int(row[0]))

    def _note_own_generation(self, generation: int) -> None:
        if len(self._own_generations) > 10_000:
            self._own_generations.clear()  # (never seen by a request: forgetting costs one reload)
        self._own_generations.add(generation)

    def _fast_sql(
        self, table: str, columns: tuple[str, ...], after_seq: bool, limit: bool
    ) -> tuple[str, list[str], list[tuple[str, Any]]]:
        key = (table, columns, after_seq, limit)
        cached = self._fast.get(key)
        if cached is None:
            t = schema.metadata.tables[table]
            mark = "?" if self.is_sqlite else "%s"
            names = [c.name for c in t.columns]
            conditions = []
            for where in columns:
                if " in " in where:  # "<column> in <n>": one of n values (``find_in``)
                    column, _, n = where.partition(" in ")
                    conditions.append(f'"{t.c[column].name}" IN ({", ".join([mark] * int(n))})')
                else:
                    conditions.append(f'"{t.c[where].name}" = {mark}')
            if after_seq:
                conditions.append(f'"seq" > {mark}')
            sql = f'SELECT {", ".join(chr(34) + n + chr(34) for n in names)} FROM "{t.name}"'
            if conditions:
                sql += " WHERE " + " AND ".join(conditions)
            if "seq" in t.c:
                sql += ' ORDER BY "seq"'
            if limit:
                sql += f" LIMIT {mark}"
            # How a row read outside a transaction is decoded. SQLite hands JSON back as text and
            # booleans as integers; the held PostgreSQL read connections hand JSON back as text
            # too (``_peek_connection``). A remembered row then holds only immutable values, and
            # each read decodes its own copy. (A transaction's reads on PostgreSQL come decoded.)
            decoders: list[tuple[str, Any]] = []
            for c in t.columns:
                if isinstance(c.type, JSON):
                    decoders.append((c.name, _json_value))
                elif isinstance(c.type, Boolean) and self.is_sqlite:
                    decoders.append((c.name, _bool_value))
            cached = self._fast[key] = (sql, names, decoders)
        return cached

    def _select(self, table: str, columns: tuple[str, ...], after_seq: bool, limit: bool) -> Select[Any]:
        key = (table, columns, after_seq, limit)
        stmt = self._selects.get(key)
        if stmt is None:
            t = schema.metadata.tables[table]
            stmt = select(t)
            for column in columns:
                stmt = stmt.where(t.c[column] == bindparam(f"w_{column}", type_=t.c[column].type))
            if after_seq:
                stmt = stmt.where(t.c.seq > bindparam("p_after_seq", type_=t.c.seq.type))
            if "seq" in t.c:
                stmt = stmt.order_by(t.c.seq)
            if limit:
                stmt = stmt.limit(bindparam("p_limit", type_=Integer()))
            self._selects[key] = stmt
        return stmt

    def find_in(
        self, table: str, column: str, values: Sequence[str], conn: Connection | None = None, **where: Any
    ) -> list[Row]:
        """The rows whose ``column`` is one of ``values`` (and that match ``where``), in ``seq``
        order: one statement for what would be one look-up per value (a list page loads the
        records its rows show this way). Remembered (as ``find_all``'s results) only when both the
        values and the rows found are few: a page's results are not kept."""
        wanted = sorted({v for v in values if not unmatchable({column: v})})
        if not wanted or unmatchable(where):
            return []
        if all(isinstance(v, _BINDABLE) for v in (*wanted, *where.values())):
            # the hot path of ``_fast_rows``: prepared text (one per number of values), run on the
            # held connection (or the transaction's own); a write's look-up of the operations in
            # progress on its resource costs a few µs and, on PostgreSQL, one round trip
            sql, names, decoders = self._fast_sql(table, (*where, f"{column} in {len(wanted)}"), False, False)
            in_tx = None if conn is None else conn.connection
            return self._run_fast(table, sql, (*where.values(), *wanted), names, decoders, in_tx, len(wanted))
        stmt = self._select_in(table, column, tuple(where))
        params: dict[str, Any] = {f"w_{c}": v for c, v in where.items()}
        params["p_in"] = wanted
        with self._read(conn) as c:
            return [dict(r._mapping) for r in c.execute(stmt, params)]

    def _select_in(self, table: str, column: str, columns: tuple[str, ...]) -> Select[Any]:
        key = (table, (f"{column} in", *columns), False, False)
        stmt = self._selects.get(key)
        if stmt is None:
            t = schema.metadata.tables[table]
            stmt = select(t).where(t.c[column].in_(bindparam("p_in", expanding=True)))
            for c in columns:
                stmt = stmt.where(t.c[c] == bindparam(f"w_{c}", type_=t.c[c].type))
            if "seq" in t.c:
                stmt = stmt.order_by(t.c.seq)
            self._selects[key] = stmt
        return stmt

    def update_where(self, table: str, values: Row, conn: Connection | None = None, **where: Any) -> int:
        t = schema.metadata.tables[table]
        check_row(t, values)
        if unmatchable(where):
            return 0
        if (
            values
            and self._plain_columns(t, values)
            and self._plain_columns(t, where)
            and all(isinstance(v, _BINDABLE) and not isinstance(t.c[k].type, JSON) for k, v in where.items())
        ):
            sql = self._update_sql(t, tuple(values), tuple(where))
            with self._conn(conn) as c:
                return self._fast_write(c, table, sql, self._plain_params(t, values) + list(where.values()))
        stmt = update(t).values(**values)
        for column, value in where.items():
            stmt = stmt.where(t.c[column] == value)
        with self._conn(conn) as c:
            return c.execute(stmt).rowcount

    def delete_where(self, table: str, conn: Connection | None = None, **where: Any) -> int:
        t = schema.metadata.tables[table]
        if unmatchable(where):
            return 0
        stmt = delete(t)
        for column, value in where.items():
            stmt = stmt.where(t.c[column] == value)
        with self._conn(conn) as c:
            return c.execute(stmt).rowcount

    def delete_before(self, table: str, column: str, cutoff: float, conn: Connection | None = None) -> int:
        """Delete the rows whose ``column`` is below ``cutoff`` (expired rows)."""
        t = schema.metadata.tables[table]
        with self._conn(conn) as c:
            return c.execute(delete(t).where(t.c[column] < cutoff)).rowcount

    def count(self, table: str, conn: Connection | None = None, **where: Any) -> int:
        t = schema.metadata.tables[table]
        if unmatchable(where):
            return 0
        stmt = select(func.count()).select_from(t)
        for column, value in where.items():
            stmt = stmt.where(t.c[column] == value)
        with self._conn(conn) as c:
            return int(c.execute(stmt).scalar_one())

    # -- resources ---------------------------------------------------------------------------
    def get_resource(self, key: str, conn: Connection | None = None) -> Row | None:
        return self.find("resources", conn, key=key.lower())

    def list_resources(
        self,
        *,
        subscription_id: str,
        type_key: str,
        group_key: str | None = None,
        parent_key: str | None = None,
        name: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        conn: Connection | None = None,
    ) -> list[Row]:
        """Resources of one type in a subscription (a group, a parent) in ``seq`` order, after
        ``after_seq``, at most ``limit``. ``name``: only those of that name, compared without case
        as SQL's ``lower()`` does (ASCII letters on SQLite; the names looked up are service keys,
        hex GUIDs), served by the index on ``lower(name)``."""
        where: dict[str, Any] = {"subscription_id": subscription_id, "type_key": type_key.lower()}
        if group_key is not None:
            where["group_key"] = group_key.lower()
        if parent_key is not None:
            where["parent_key"] = parent_key.lower()
        if name is None:
            return self.find_all("resources", conn, after_seq=after_seq, limit=limit, **where)
        if unmatchable({**where, "name": name}):
            return []
        with self._read(conn) as c:
            return [dict(r._mapping) for r in c.execute(_named_resources(where, name, after_seq, limit))]

    def get_resources(self, keys: Sequence[str], conn: Connection | None = None) -> dict[str, Row]:
        """Resources by key, in one statement: ``{key: row}`` for those that exist."""
        return {r["key"]: r for r in self.find_in("resources", "key", [k.lower() for k in keys], conn)}

    def put_resource(self, row: Row, conn: Connection | None = None, expected_etag: str | None = None) -> bool:
        """Insert or replace a resource. With ``expected_etag`` the replace only happens when the
        stored etag still matches (compare-and-swap); returns False when it did not. An insert
        that meets a row another transaction inserted meanwhile leaves that row as it is and
        returns False (the key is unique: never two resources with one id).

        The replace is tried first, as one prepared UPDATE (a write's hot path: building the
        statement per call cost more than running it); only when it matched no row is this an
        insert."""
        now = clock.now()
        key = row["key"].lower()
        values = {k: v for k, v in row.items() if k not in ("key", "seq", "created_at", "updated_at")}
        with self._conn(conn) as c:
            if self._update_resource(c, key, values, now, expected_etag) is not None:
                return True
            if expected_etag is not None:
                return False  # gone, or changed meanwhile
            return self.insert_if_absent("resources", {**row, "key": key, "created_at": now, "updated_at": now}, c)

    def replace_resource(
        self, row: Row, previous: Row, conn: Connection, expected_etag: str | None = None
    ) -> Row | None:
        """Replace ``previous`` by ``row`` and return the row as stored, as a read in this
        transaction would now return it; None when nothing was replaced (``expected_etag`` no
        longer matched, or the row is gone). ``previous`` is the stored row as this transaction
        read it after locking its record (``lock``; SQLite: ``tx()`` holds the write lock), so
        nothing else changed it since.

        Two costs of a write are spared. Only the columns whose value changed are set: SQLite
        rewrites the entries of every index on a column an UPDATE sets, even to the same value
        (four indexes cover a resource's identity columns), and each page rewritten is one more
        for the COMMIT to append. And the row is not read back to be rendered
        (``resource_type._render_stored``): its JSON columns are decoded from the very text
        written, as a read decodes them; a value the store could not vouch for by its text is
        read back instead."""
        now = clock.now()
        key = row["key"].lower()
        if key != previous.get("key"):  # not the row it replaces: written and read back as any write
            return self.get_resource(key, conn) if self.put_resource(row, conn, expected_etag) else None
        json_names = json_columns(schema.resources)
        values: Row = {}
        for k, v in row.items():
            if k in ("key", "seq", "created_at", "updated_at"):
                continue
            # a JSON value is always written: == cannot tell 1 from True or 1.0 inside it
            if k in json_names or k not in previous or type(previous[k]) is not type(v) or previous[k] != v:
                values[k] = v
        texts = self._update_resource(conn, key, values, now, expected_etag)
        if texts is None:
            return None
        stored = dict(previous)
        for k, v in values.items():
            if k in json_names:
                if v is not None and k not in texts:
                    return self.get_resource(key, conn)  # walked, not encoded here: as the database has it
                stored[k] = None if v is None else json.loads(texts[k])
            elif isinstance(v, str):
                stored[k] = v
            else:  # a column's type may convert it (an int in a text column): as the database has it
                return self.get_resource(key, conn)
        stored["updated_at"] = now
        written_rows = conn.info.get(_WRITTEN_ROWS)
        if written_rows is not None and all(k in texts or stored.get(k) is None for k in json_names):
            # for ``_remember_written``: values as read, JSON as text (its own dict: the caller
            # may change the one it is handed)
            written_rows[key] = (dict(stored), texts)
        return stored

    def _update_resource(
        self, c: Connection, key: str, values: Row, now: float, expected_etag: str | None
    ) -> dict[str, str] | None:
        """The UPDATE of a resource row: ``values`` set, ``updated_at`` to ``now``; the JSON text
        written for each JSON column it encoded itself (by name), None when no row matched."""
        # the body's JSON text is made once, for the check and for the statement (walking the
        # body value by value cost more than the UPDATE); a body it cannot vouch for is walked
        texts = self._json_texts(values)
        check_row(schema.resources, {"key": key, **{k: v for k, v in values.items() if k not in texts}})
        sql = self._resource_update(tuple(values), expected_etag is not None)
        json_names = json_columns(schema.resources)
        params = [
            (texts[k] if self.is_sqlite else _json_as_text(v, texts[k]))
            if k in texts
            else self._bound(schema.resources.c[k], v)
            if k in json_names
            else v
            for k, v in values.items()
        ]
        params += [now, key] if expected_etag is None else [now, key, expected_etag]
        info = c.info
        written = info.get("written")
        info.get(_WRITTEN_ROWS, {}).pop(key, None)  # (written again: replace_resource notes it anew)
        info.get(_LOOKUPS, {}).pop(("resources", "key", key), None)
        if written is not None:
            written.add("resources")  # (the statement runs on the DBAPI connection: not seen by _note_writes)
            info[_WRITTEN_KEYS].setdefault("resources", set()).add(key)  # only this row changed
        _forget_tx_reads(c, "resources", key)
        cursor = _driver(c).cursor()
        try:
            cursor.execute(sql, params)
            updated = cursor.rowcount
        except Exception as exc:
            _first_line_only(exc)
            raise
        finally:
            cursor.close()
        return texts if updated == 1 else None

    # -- prepared writes: INSERT and UPDATE as SQL text on the DBAPI connection ------------------
    # Building a Core statement and compiling its cache key cost more than running it (an
    # operation's start and finish, a quarter of a long-running PUT's server time on SQLite). The
    # text is made once per table and set of columns; values are bound as SQLAlchemy binds them.

    def _plain_columns(self, t: Table, values: Row) -> bool:
        """Does every value of ``values`` go to a column of ``t`` whose binding the prepared
        writes know (text, numbers, booleans, JSON)?"""
        plain = self._plain.get(t.name)
        if plain is None:
            plain = self._plain[t.name] = frozenset(
                c.name for c in t.columns if isinstance(c.type, (String, Integer, Float, Boolean, JSON))
            )
        return all(k in plain for k in values)

    def _plain_params(self, t: Table, values: Row) -> list[Any]:
        # a JSON column takes None as JSON's null, as SQLAlchemy's JSON type binds it
        return [self._json_param(v) if isinstance(t.c[k].type, JSON) else v for k, v in values.items()]

    def _json_param(self, value: Any) -> Any:
        if self.is_sqlite:
            return json.dumps(value)
        from psycopg.types.json import Json

        return Json(value)

    def _insert_sql(self, t: Table, columns: tuple[str, ...]) -> str:
        key = ("insert", t.name, columns)
        sql = self._prepared.get(key)
        if sql is None:
            mark = "?" if self.is_sqlite else "%s"
            names = ", ".join(f'"{t.c[c].name}"' for c in columns)
            sql = self._prepared[key] = f'INSERT INTO "{t.name}" ({names}) VALUES ({", ".join([mark] * len(columns))})'
        return sql

    def _update_sql(self, t: Table, columns: tuple[str, ...], where: tuple[str, ...]) -> str:
        key = ("update", t.name, columns, where)
        sql = self._prepared.get(key)
        if sql is None:
            mark = "?" if self.is_sqlite else "%s"
            assignments = ", ".join(f'"{t.c[c].name}" = {mark}' for c in columns)
            sql = f'UPDATE "{t.name}" SET {assignments}'
            if where:
                sql += " WHERE " + " AND ".join(f'"{t.c[c].name}" = {mark}' for c in where)
            self._prepared[key] = sql
        return sql

    def _fast_write(self, c: Connection, table: str, sql: str, params: list[Any]) -> int:
        """A prepared write in ``c``'s transaction; the number of rows it changed. It runs on the
        DBAPI connection, which ``_note_writes`` does not see: the table is noted here."""
        written = c.info.get("written")
        if written is not None:
            written.add(table)
            c.info[_ROWS_UNKNOWN].add(table)
        _forget_tx_reads(c, table)
        _drop_lookups(c, table)
        cursor = _driver(c).cursor()
        try:
            cursor.execute(sql, params)
            return int(cursor.rowcount)
        except Exception as exc:
            _first_line_only(exc)
            # what failed, as SQLAlchemy's errors say it: the statement (placeholders, never values)
            exc.add_note(f"[SQL: {sql}]")
            raise
        finally:
            cursor.close()

    def _resource_update(self, columns: tuple[str, ...], with_etag: bool) -> str:
        """The UPDATE of put_resource as SQL text, prepared once per set of columns."""
        sql = self._updates.get((columns, with_etag))
        if sql is None:
            mark = "?" if self.is_sqlite else "%s"
            assignments = ", ".join(f'"{schema.resources.c[c].name}" = {mark}' for c in (*columns, "updated_at"))
            sql = f'UPDATE "resources" SET {assignments} WHERE "key" = {mark}'
            if with_etag:
                sql += f' AND "etag" = {mark}'
            self._updates[(columns, with_etag)] = sql
        return sql

    def _json_texts(self, values: Row) -> dict[str, str]:
        """The JSON text of each JSON column of a resource row, encoded once and checked as
        ``check_row`` checks them (``untrusted.json_text``); those it cannot vouch for are left out."""
        texts: dict[str, str] = {}
        json_names = json_columns(schema.resources)
        for name, value in values.items():
            if value is not None and name in json_names:
                text = json_text(value)
                if text is not None:
                    texts[name] = text
        return texts

    def _bound(self, column: Any, value: Any) -> Any:
        """A value as the DBAPI takes it for ``column`` (what SQLAlchemy's types would bind)."""
        if value is None or not isinstance(column.type, JSON):
            return value
        if self.is_sqlite:
            return json.dumps(value)
        from psycopg.types.json import Json

        return Json(value)

    def insert_resources(self, rows: Sequence[Row], conn: Connection) -> None:
        """Insert new resources in one statement: a write that creates many children at once (a
        virtual network's thousands of subnets) instead of one round trip each. The keys must be
        new; the caller holds the lock on their parent, which every writer of them takes."""
        if not rows:
            return
        now = clock.now()
        values = []
        for row in rows:
            check_row(schema.resources, row)
            values.append({**row, "key": row["key"].lower(), "created_at": now, "updated_at": now})
        conn.execute(insert(schema.resources), values)

    def delete_resource_tree(self, key: str, conn: Connection | None = None) -> int:
        """Delete a resource and every resource nested below it: exactly its own subtree, found by
        following ``parent_key`` down (not by key prefix, which would also catch a sibling whose
        name merely starts with this one's)."""
        key = key.lower()
        if unmatchable({"key": key}):
            return 0
        t = schema.resources
        with self._conn(conn) as c:
            n = c.execute(delete(t).where(t.c.key == key)).rowcount
            parents = [key]
            while parents:
                children = [r.key for r in c.execute(select(t.c.key).where(t.c.parent_key.in_(parents)))]
                if children:
                    n += c.execute(delete(t).where(t.c.key.in_(children))).rowcount
                parents = children
            return n

    def delete_group_resources(self, subscription_id: str, group_key: str, conn: Connection | None = None) -> int:
        t = schema.resources
        with self._conn(conn) as c:
            return c.execute(
                delete(t).where(t.c.subscription_id == subscription_id, t.c.group_key == group_key.lower())
            ).rowcount

    # -- snapshots ---------------------------------------------------------------------------
    def export_state(self) -> dict[str, list[Row]]:
        # Rows in key order: PostgreSQL returns updated rows in no fixed order, and a snapshot
        # should read the same whenever the state is the same.
        with self.tx() as c:
            return {
                t.name: [dict(r._mapping) for r in c.execute(select(t).order_by(*t.primary_key.columns))]
                for t in STATE_TABLES
            }

    def import_state(
        self, state: Mapping[str, Sequence[Row]], then: Callable[[Connection], None] | None = None
    ) -> None:
        """Replace all state with ``state``; ``then`` runs last in the same transaction (what
        caches the imported rows make stale says so there)."""
        unknown = set(state) - {t.name for t in STATE_TABLES}
        if unknown:
            raise ValueError(f"unknown tables in snapshot: {', '.join(sorted(unknown))}")
        for t in STATE_TABLES:
            for row in state.get(t.name, []):
                check_row(t, row)
        with self.tx() as c:
            for t in reversed(STATE_TABLES):
                c.execute(delete(t))
            for t in STATE_TABLES:
                rows = list(state.get(t.name, []))
                if rows:
                    c.execute(insert(t), rows)
            if not self.is_sqlite:
                self.move_sequences_past_rows(c)
            if then is not None:
                then(c)

    def move_sequences_past_rows(self, c: Connection) -> None:
        """PostgreSQL, after rows were imported with their own seq: move each sequence past them,
        or the next insert would collide with an imported row (SQLite numbers from max(seq) by
        itself)."""
        for t in STATE_TABLES:
            if "seq" in t.c:
                after = func.coalesce(select(func.max(t.c.seq)).scalar_subquery(), 0) + 1
                c.execute(select(func.setval(func.pg_get_serial_sequence(t.name, "seq"), after, False)))

    def wipe_state(self, conn: Connection | None = None) -> None:
        with self._conn(conn) as c:
            for t in reversed(STATE_TABLES):
                c.execute(delete(t))

    # -- helpers -----------------------------------------------------------------------------
    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.tx() as c:
                yield c

    def _forget_reads(self, tables: set[str] | None = None, keys: dict[str, set[str]] | None = None) -> None:
        """Every transaction that wrote ends here: drop the remembered reads of the tables it
        wrote (all of them when not known). ``keys``: of a table whose written rows are all known
        by key, only the look-ups of those keys are dropped (with every other read of the table:
        a list may hold the row). Reads under way, of any table, are not kept."""
        with self._memory_lock:
            self._read_generation += 1
            if tables is None or "*" in tables:
                self._remembered_since = time.monotonic()
                self._remembered.clear()
                self._remembered_rows.clear()
                self._memo.clear()
                return
            for table in tables:
                self._remembered.pop(table, None)
                written = keys.get(table) if keys else None
                rows = self._remembered_rows.get(table)
                if written is None:
                    self._remembered_rows.pop(table, None)
                elif rows is not None:
                    for key in written:
                        rows.pop(key, None)
                self._memo.pop(table, None)
            self._memo.pop("*", None)

    def remembered(self, key: Hashable, compute: Callable[[], T], table: str = "*") -> T:
        """``compute()``, a value derived from reads only, kept until this process's next write
        (the rule of remembered rows above; on PostgreSQL only inside ``fresh_reads()``, elsewhere
        computed on every call). For the few reads every ARM request makes (its subscription, the
        provider registration, the access-control generation). ``table``: the one table ``compute``
        reads (only writes to it forget the value); by default any write does. Callers must not
        change the value."""
        if not self._may_remember():
            return compute()
        memo = self._memo.setdefault(table, {})
        try:
            return cast(T, memo[key])
        except KeyError:
            generation = self._read_generation
            value = compute()
            self._remember(memo, key, value, generation)
            return value

    def _remember(self, memory: dict[Any, Any], key: Any, value: Any, generation: int) -> None:
        """Keep a value read under ``generation`` unless a write ended since. Checked and stored
        under the lock ``_forget_reads`` holds: a write ending in another thread can neither slip
        in between (leaving the older value behind) nor see it stored for a moment (a reader
        served it although the write had committed: ``memory`` may be a dict that write has just
        filled anew, when it was taken after the write ended)."""
        with self._memory_lock:
            if generation != self._read_generation:
                return
            if len(memory) >= _REMEMBER_MAX_ENTRIES:
                memory.clear()
            memory[key] = value

    @contextmanager
    def _read(self, conn: Connection | None) -> Iterator[Connection]:
        """Like ``_conn``, for statements that only read: no COMMIT round (the connection is
        rolled back when it returns to the pool, which ends a read-only transaction the same way)."""
        if conn is not None:
            yield conn
        else:
            self.needs_database()
            with self.engine.connect() as c:
                yield c


class _ThreadState(threading.local):
    """What a thread holds of the store: its autocommit read connection (``_peek_connection``)
    and whether its current work may be served from memory (``fresh_reads``, ``memory_only``)."""

    connection: Any = None
    fresh = False
    memory_only = False


def _defaulted(t: Table) -> list[Any]:
    """The columns of ``t`` SQLAlchemy fills in itself when an INSERT leaves them out (``default=``)."""
    return [c for c in t.columns if c.default is not None and not c.primary_key]


def _named_resources(where: dict[str, Any], name: str, after_seq: int, limit: int | None) -> Select[Any]:
    """The statement of ``Store.list_resources(name=...)``."""
    t = schema.resources
    stmt = select(t).where(func.lower(t.c.name) == name.lower(), t.c.seq > after_seq)
    for column, value in where.items():
        stmt = stmt.where(t.c[column] == value)
    stmt = stmt.order_by(t.c.seq)
    return stmt if limit is None else stmt.limit(limit)


@functools.cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files (what ``alembic heads``
    says, without loading Alembic): the one revision no other names as its ``down_revision``."""
    assign = re.compile(r"^(revision|down_revision)\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(_MIGRATIONS) / "versions").glob("*.py"):
        for name, value in assign.findall(path.read_text()):
            (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def meta_lock(key: str) -> str:
    """The ``Store.lock`` name of a stored value."""
    return f"meta:{key}"


# The locks of ``Store.lock`` in key order. ``ORDER BY`` sorts the keys before the select list
# (and so each lock) is evaluated: PostgreSQL computes ``pg_advisory_xact_lock(k)`` row by row
# in the order the sorted subquery hands the keys out.
_LOCK_SQL = "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS keys"


def _begin_immediate(conn: Connection) -> None:
    """SQLite: take the write lock now (``BEGIN IMMEDIATE``), on the DBAPI connection directly (a
    SQLAlchemy execution of the same text cost more than the statement)."""
    _driver(conn).execute("BEGIN IMMEDIATE").close()


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under ``conn``, for the prepared statements of the hot paths (the
    pool's cursor wrapper costs as much as a short statement)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver


def _lock_id(name: str) -> int:
    """A lock name as PostgreSQL's advisory-lock key (a signed 64-bit integer)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _still_connected(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection handed out must still be connected. Looked at without a
    round trip: an idle connection has nothing to read, so a readable socket means the server
    closed it (a restart, ``pg_terminate_backend``: its last message and EOF wait there). Raising
    DisconnectionError makes the pool discard it and hand out a fresh one."""
    pgconn = getattr(dbapi_conn, "pgconn", None)
    if pgconn is None:
        return
    try:
        poller = _select.poll()
        poller.register(pgconn.socket, _select.POLLIN)
        if poller.poll(0):
            raise DisconnectionError("the server closed this connection")
    except DisconnectionError:
        raise
    except Exception as exc:  # no socket: closed already
        raise DisconnectionError("the connection is closed") from exc


def _forget_tx_reads(conn: Connection, table: str = "*", key: str | None = None) -> None:
    """The transaction on ``conn`` wrote ``table`` ("*": not known) or locked something: its
    reads of that table (of every table) are made anew. ``key``: it wrote only that row of
    ``resources``, so its look-ups of other rows by key still hold (the table's other reads may
    include the row: they go)."""
    reads = conn.info.get(_TX_READS)
    if reads:
        if table == "*":
            reads.clear()
        elif key is not None:
            reads.pop((table, key), None)
            reads.pop((table, None), None)
        else:
            for held in [k for k in reads if k[0] == table]:
                del reads[held]


def _refuse_if_aborted(conn: Connection) -> None:
    """PostgreSQL: a statement that failed aborted the transaction; a caller that handled the
    error and left ``tx()`` normally would have its COMMIT answered "ROLLBACK", with no error,
    and take the transaction for committed (its writes remembered, its ``after_commit`` calls
    run, its client told it succeeded). Raised instead, so that ``tx()`` rolls back and says so."""
    from psycopg import errors, pq

    driver = conn.connection.driver_connection
    if driver is not None and driver.pgconn.transaction_status == pq.TransactionStatus.INERROR:
        raise errors.InFailedSqlTransaction(
            "the transaction was aborted by a statement that failed in it, and was rolled back; nothing of it "
            "was committed"
        )


def _drop_lookups(conn: Connection, table: str) -> None:
    """The transaction wrote ``table`` ("*": not known) by a statement whose rows are not known:
    the rows it noted to remember of that table (``remember_after_commit``) may no longer be
    what it stored."""
    pending = conn.info.get(_LOOKUPS)
    if pending:
        for noted in [k for k in pending if table in ("*", k[0])]:
            del pending[noted]


def _note_writes(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    """Note the tables a transaction changes (``tx``): when it commits, what was remembered of
    them is forgotten, and on PostgreSQL the write generation moves on. A change whose table is
    not a known one counts as a change of everything."""
    if freshness.writes(statement):
        table = freshness.written_table(statement)
        known = table if table is not None and table in schema.metadata.tables else "*"
        _forget_tx_reads(conn, known)
        _drop_lookups(conn, known)
        written = conn.info.get("written")
        if written is not None:
            written.add(known)
            conn.info[_ROWS_UNKNOWN].add(known)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL: a commit appends to the log without an fsync (the log is synced
    # at checkpoints). Still durable against a crash of the server process at any moment (what was
    # committed is in the log, held by the operating system, and read back on the next start);
    # only a machine or power failure can lose the last commits, and never corrupts the file.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _without_row_values(context: Any) -> None:
    """Keep only the first line of a database error's message. PostgreSQL adds ``DETAIL`` (for a
    failed constraint: "Failing row contains (...)", every value of the row, hashes and salts
    included), ``HINT`` and ``CONTEXT`` lines; ``hide_parameters`` does not cover them. The error's
    class and diagnostics (SQLSTATE, constraint name) stay for whoever handles it."""
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None:
            _first_line_only(error)


def _first_line_only(error: BaseException) -> None:
    if error.args and isinstance(error.args[0], str) and "\n" in error.args[0]:
        error.args = (error.args[0].split("\n", 1)[0], *error.args[1:])


def _json_copy(value: Any) -> Any:
    """A copy of a decoded JSON value that shares no dict or list with it."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def _json_as_text(value: Any, text: str) -> Any:
    """PostgreSQL: ``value`` bound as JSON whose text is ``text`` (psycopg does not encode it again)."""
    from psycopg.types.json import Json

    return Json(value, dumps=lambda _: text)


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _bool_value(value: Any) -> Any:
    return None if value is None else bool(value)
