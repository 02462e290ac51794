"""Long-running operations: stored in the database, completed by a reconciler.

A write validates, stores the desired state and an operation row, and returns at once. An
operation is completed (a) by the reconciler task once it is due, or (b) by any request that
touches its resource (or one below it) or polls its status once it is due, so that with the default delay of 0
a client's first poll already sees the result. Completion is restart-safe: on start every
unfinished operation is resumed. With several replicas the reconciler claims an operation with a
lease when its type works outside the completing transaction (a template deployment's steps);
otherwise the reconciler, or a request that finds the operation due, completes it in one
transaction, under the lock its completion takes anyway (``_completes_in_one_transaction``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from sqlalchemy import Connection, and_, delete, select

from crossconnect import clock, entropy
from crossconnect.arm.errors import ArmError
from crossconnect.arm.settings import ArmSettings
from crossconnect.store import Store, schema

log = logging.getLogger("crossconnect.operations")

LEASE_SECONDS = 30.0
# The reconciler purges finished operations past their retention this often, in batches of this
# many rows (each its own short transaction: a purge never holds the database for long).
PURGE_INTERVAL = 60.0
PURGE_BATCH = 500


class NotReady(Exception):  # noqa: N818 - a state, not an error
    """Raised by a completer whose result is not there yet (a real BGP session still settling):
    the operation stays InProgress and is tried again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class Completer(Protocol):
    def complete_operation(self, op: dict[str, Any], conn: Connection) -> Any: ...

    def fail_operation(self, op: dict[str, Any], conn: Connection, error: ArmError) -> None: ...


class _Running:
    """The threads of this process that complete one operation: they take turns (``lock``), and
    those after the one that finished it take its row (``finished``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.threads = 0
        self.finished: dict[str, Any] | None = None


class StatusUrls(Protocol):
    """What building polling headers needs of a request: absolute URLs that carry its api-version."""

    def url_for(self, path: str, **query: str) -> str: ...


def retry_after(seconds: float) -> str:
    """``Retry-After`` must never be 0 (clients then wait their 30 s default) and must be an
    integer (some SDK operations deserialise it as int). The first poll is immediate, so with
    the default delay of 0 the operation is already done when it is read."""
    return str(max(1, min(math.ceil(seconds), 30)))


class OperationEngine:
    def __init__(self, store: Store, settings: ArmSettings) -> None:
        self.store = store
        self.settings = settings
        self.owner = uuid.uuid4().hex  # never seeded: replicas with one seed must not share leases
        self._completers: dict[str, Completer] = {}
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the reconciler's (set when it runs)
        self._running: dict[str, _Running] = {}  # operation id → the threads running it
        self._running_lock = threading.Lock()
        self._next_purge = 0.0  # the first reconciler pass purges
        # Fault-injection seams (wired by the app): extra latency for an operation on a resource,
        # and a check run before completing one that may raise the ArmError it must fail with.
        self.extra_delay: Callable[[str], float] = lambda resource_key: 0.0
        self.before_complete: Callable[[dict[str, Any]], None] = lambda op: None

    def register(self, resource_type: str, completer: Completer) -> None:
        self._completers[resource_type.lower()] = completer

    # -- creating --------------------------------------------------------------------------
    def start(
        self,
        conn: Connection,
        *,
        subscription_id: str,
        location: str,
        kind: str,
        resource_key: str,
        resource_type: str,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = clock.now()
        delay = self.settings.operation_delay + self.extra_delay(resource_key.lower())
        op = {
            "id": entropy.guid(entropy.OPERATIONS),
            "subscription_id": subscription_id.lower(),
            "location": location or "global",
            "kind": kind,
            "resource_key": resource_key.lower(),
            "resource_type": resource_type.lower(),
            "status": "InProgress",
            "payload": payload or {},
            "result": None,
            "error": None,
            "due_at": now + delay,
            "lease_owner": None,
            "lease_until": None,
            "created_at": now,
            "finished_at": None,
        }
        self.store.insert("operations", op, conn)
        # once committed: woken earlier, the reconciler's pass finds nothing (the operation is not
        # visible yet) and only competes with the transaction for the interpreter
        self.store.after_commit(conn, self._wake)
        return op

    def _wake(self) -> None:
        """Wake the reconciler. Requests may run on the store's threads (PostgreSQL), and an
        asyncio event is set only from its loop's own thread."""
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._wakeup.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wakeup.set)

    def finished_delete_status(self, op: dict[str, Any]) -> int:
        """What the final Location poll of a finished delete answers (the type decides: 204 or 200)."""
        return int(getattr(self._completers.get(op["resource_type"]), "finished_delete_status", 204))

    def in_progress(self, resource_key: str, conn: Connection | None = None) -> dict[str, Any] | None:
        return self.store.find("operations", conn, resource_key=resource_key.lower(), status="InProgress")

    # -- completing ------------------------------------------------------------------------
    def settle_resource(self, resource_key: str) -> None:
        """Complete the due operations on a resource and on its parents: a rule a route filter's
        PUT is updating is settled by a read of the rule, as by a read of the filter."""
        keys = _self_and_parents(resource_key.lower())
        for op in self.store.find_in("operations", "resource_key", keys, status="InProgress"):
            if op["due_at"] <= clock.now():
                self._run(op["id"], op)

    def settle(self, op_id: str) -> dict[str, Any] | None:
        op = self.store.find("operations", id=op_id)
        if op is not None and op["status"] == "InProgress" and op["due_at"] <= clock.now():
            finished = self._run(op_id, op)
            op = finished if finished is not None else self.store.find("operations", id=op_id)
        return op

    def run_due(self) -> int:
        ids = self.store.due_operations(clock.now(), 500)
        for op_id in ids:
            # as a request completes one: in one transaction when the type allows it (the row is
            # read first: one statement, where a lease is a statement and a commit of its own)
            op = self.store.find("operations", id=op_id)
            if op is not None and op["status"] == "InProgress":
                self._run(op_id, op)
        return len(ids)

    def next_due(self) -> float | None:
        return self.store.next_operation_due()

    def _claim(self, op_id: str) -> bool:
        now = clock.now()
        return self.store.take_lease(op_id, self.owner, now, now + LEASE_SECONDS)

    def _run(self, op_id: str, op: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Complete the operation ``op_id`` (``op``: its row as the caller read it, when it did);
        its row as finished when this call finished it, else None (another thread or replica
        did, or it is not ready yet)."""
        # The lease keeps replicas apart, but a replica re-claims its own lease; its threads (the
        # reconciler's pass and a request settling a due operation, both on the store's threads on
        # PostgreSQL) take turns here: the second waits for the first to finish, then takes the
        # row the first finished (the reconciler, woken by the write that started the operation,
        # is often completing it when the client's first poll arrives), so one operation never
        # runs twice at once and a read that settles an operation still sees it settled.
        self.store.needs_database()  # (a GET served from memory must not wait for another thread here)
        with self._running_lock:
            entry = self._running.get(op_id)
            if entry is None:
                entry = self._running[op_id] = _Running()
            entry.threads += 1
        try:
            with entry.lock:
                if entry.finished is None:
                    entry.finished = self._run_once(op_id, op)
                return entry.finished
        finally:
            with self._running_lock:
                entry.threads -= 1
                if entry.threads == 0:
                    self._running.pop(op_id, None)

    def _run_once(self, op_id: str, op: dict[str, Any] | None) -> dict[str, Any] | None:
        if op is not None and self._completes_in_one_transaction(op):
            return self._run_claimed(op)
        if self._claim(op_id):
            leased = self.store.find("operations", id=op_id)
            assert leased is not None
            return self._run_claimed(leased)
        return None

    def _completes_in_one_transaction(self, op: dict[str, Any]) -> bool:
        """May ``op``, found due, be completed with no lease of its own? When its
        type completes in the completing transaction alone (no ``advance``: nothing outside it
        that a second replica must not repeat) and no one holds a lease on it. That transaction
        locks the resource and reads the operation again, so of two replicas completing it at
        once one finishes it and the other finds it finished; what the lease would add is a
        statement and a commit of its own (two of a long-running PUT's round trips)."""
        completer = self._completers.get(op["resource_type"])
        return getattr(completer, "advance", None) is None and not self._leased_to_another(op)

    def _leased_to_another(self, op: dict[str, Any]) -> bool:
        until = op.get("lease_until")
        return until is not None and until >= clock.now() and op.get("lease_owner") != self.owner

    def _run_claimed(self, op: dict[str, Any]) -> dict[str, Any] | None:
        completer = self._completers.get(op["resource_type"])
        op_id = op["id"]
        try:
            # An injected failure is consumed in its own transaction: it must stay used up even
            # though the completion below is then not attempted.
            self.before_complete(op)
            # A completer may work before the completing transaction, in transactions of its own
            # (a template deployment writes each of its resources as a request of its own would).
            advance = getattr(completer, "advance", None)
            if advance is not None:
                advance(op)
            with self._completing(op, completer) as current:
                if current is None:
                    return None
                conn, row = current
                if completer is None:
                    raise ArmError(f"No handler for operations on '{op['resource_type']}'.", "InternalServerError")
                result = completer.complete_operation(op, conn)
                return self._finish(conn, row, "Succeeded", result=result)
        except NotReady as not_ready:
            with self.store.tx() as conn:
                self.store.update_where(
                    "operations",
                    {"due_at": clock.now() + not_ready.retry_after, "lease_owner": None, "lease_until": None},
                    conn,
                    id=op_id,
                )
            return None
        except ArmError as error:
            return self._fail(op, completer, error)
        except Exception:  # a bug must not leave the resource stuck in Updating
            log.exception("operation %s failed unexpectedly", op_id)
            return self._fail(
                op,
                completer,
                ArmError("An internal error occurred while completing the operation.", "InternalServerError"),
            )

    def _fail(self, op: dict[str, Any], completer: Completer | None, error: ArmError) -> dict[str, Any] | None:
        with self._completing(op, completer) as current:
            if current is None:
                return None
            conn, row = current
            if completer is not None:
                completer.fail_operation(op, conn, error)
            return self._finish(conn, row, "Failed", error=error.body()["error"])

    @contextlib.contextmanager
    def _completing(
        self, op: dict[str, Any], completer: Completer | None
    ) -> Iterator[tuple[Connection, dict[str, Any]] | None]:
        """The transaction that finishes ``op``, and the operation's row as read in it: it locks
        what the resource type's writes lock (``operation_lock_keys``), so a completion and a
        request on one record take turns, then reads the operation again. None when it is no
        longer running (a lease that ran out let another replica finish it meanwhile, and
        finishing twice would apply its effects twice: a circuit's bandwidth released two
        times), or when another replica holds a live lease on it (it is completing it)."""
        with self.store.tx() as conn:
            lock_keys = getattr(completer, "operation_lock_keys", None)
            self.store.lock(conn, *(lock_keys(op) if lock_keys else [op["resource_key"]]))
            current = self.store.find("operations", conn, id=op["id"])
            running = current is not None and current["status"] == "InProgress" and not self._leased_to_another(current)
            yield (conn, current) if running and current is not None else None

    def _finish(
        self, conn: Connection, row: dict[str, Any], status: str, *, result: Any = None, error: Any = None
    ) -> dict[str, Any]:
        """Mark the operation finished in ``conn``'s transaction (``row``: as read in it, under
        the lock); its row as finished. Once committed, that row is what a look-up of the
        operation returns from memory: a poll that comes after the completion (a client polling
        every Retry-After seconds, while the reconciler completes the operation when it falls
        due) is answered without reading it back, on PostgreSQL on the event loop."""
        values = {
            "status": status,
            "result": result,
            "error": error,
            "finished_at": clock.now(),
            "lease_owner": None,
            "lease_until": None,
        }
        finished = {**row, **values}
        if self.store.update_where("operations", values, conn, id=row["id"], status="InProgress") == 1:
            self.store.remember_after_commit(conn, "operations", "id", finished)
        return finished

    # -- purging ---------------------------------------------------------------------------
    def purge_finished(self, now: float | None = None, max_batches: int = 20) -> int:
        """Delete finished operations (Succeeded, Failed) that finished more than the retention
        period ago, at most ``max_batches`` x ``PURGE_BATCH`` rows per call; the number deleted.
        Their status URLs then answer as for an unknown operation (404 OperationNotFound).

        Safe with several replicas purging at once: each batch deletes by ``seq`` only rows that
        are still finished and expired, so a row another replica deleted first is simply not
        deleted twice, and nothing running is ever touched."""
        t = schema.operations
        cutoff = (clock.now() if now is None else now) - self.settings.operation_retention
        expired = and_(t.c.status != "InProgress", t.c.finished_at.is_not(None), t.c.finished_at < cutoff)
        purged = 0
        for _ in range(max_batches):
            with self.store.tx() as conn:
                # oldest first: the batch is read in order from ix_operations_finished, a range
                # of the index instead of every operation
                batch = select(t.c.seq).where(expired).order_by(t.c.finished_at).limit(PURGE_BATCH)
                n = conn.execute(delete(t).where(t.c.seq.in_(batch), expired)).rowcount
            purged += n
            if n < PURGE_BATCH:
                break
        return purged

    def _purge_when_due(self) -> None:
        now = clock.now()
        if now < self._next_purge:
            return
        # a short retention (tests, demos) is honoured within about a quarter of itself
        self._next_purge = now + max(1.0, min(PURGE_INTERVAL, self.settings.operation_retention / 4))
        purged = self.purge_finished(now)
        if purged:
            log.info("purged %d finished operations older than %.0f s", purged, self.settings.operation_retention)

    async def run_forever(self) -> None:
        """The reconciler: resume everything unfinished at start, then complete operations as
        they fall due, and purge finished ones past their retention (every ``PURGE_INTERVAL``).
        Polls at least every second so that work from other replicas is seen, and wakes at once
        when the operator moves the clock (operations may have fallen due). The passes run where
        the store runs blocking work (``Store.calls``): off the event loop on PostgreSQL."""
        self._loop = asyncio.get_running_loop()
        forget = clock.on_change(self._wake)  # _wake is safe from any thread
        try:
            await self._reconcile()
        finally:
            forget()

    async def _reconcile(self) -> None:
        while True:
            self._wakeup.clear()  # before the pass: a wake-up during it runs the next pass at once
            try:
                due = await self.store.calls.run(self._pass)
                if clock.now() >= self._next_purge:  # up to thousands of rows: off the event loop
                    await asyncio.to_thread(self._purge_when_due)
            except Exception:
                log.exception("reconciler pass failed")
                due = None
            wait = 1.0 if due is None else max(0.0, min(1.0, due - clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    def _pass(self) -> float | None:
        self.run_due()
        return self.next_due()

    def headers_for(
        self, request: StatusUrls, op: dict[str, Any], *, location: bool, async_operation: bool
    ) -> dict[str, str]:
        """The polling headers for an operation, absolute URLs on this server with api-version."""
        base = f"/subscriptions/{op['subscription_id']}/providers/{_namespace(op)}/locations/{op['location']}"
        headers = {"Retry-After": retry_after(op["due_at"] - clock.now())}
        if async_operation:
            headers["Azure-AsyncOperation"] = request.url_for(f"{base}/operations/{op['id']}")
        if location:
            headers["Location"] = request.url_for(f"{base}/operationResults/{op['id']}")
        return headers


def _namespace(op: dict[str, Any]) -> str:
    namespace = op["resource_type"].split("/")[0]
    return {"microsoft.network": "Microsoft.Network", "microsoft.resources": "Microsoft.Resources"}.get(
        namespace, namespace
    )


def iso_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int((epoch % 1) * 1e6):06d}Z"


def _self_and_parents(resource_key: str) -> list[str]:
    """``…/routefilters/f/routefilterrules/r`` and each resource of the provider above it (ids
    alternate type and name segments after ``providers/<namespace>``, so a parent ends two
    segments earlier)."""
    parts = resource_key.split("/")
    keys = [resource_key]
    if "providers" not in parts:
        return keys
    first = parts.index("providers") + 4  # the length of the top resource's own id
    keys += ["/".join(parts[:end]) for end in range(len(parts) - 2, first - 1, -2)]
    return keys
