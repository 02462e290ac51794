"""Where blocking store work runs, so that a request waiting on the database never holds up the
event loop (and the other requests of its replica).

PostgreSQL: a bounded pool of threads. Its size bounds the connections a replica holds: each
thread keeps one autocommit connection for its reads and takes at most one more from the pool for
a transaction (see ``Store``'s pool sizes). SQLite: inline. A SQLite store belongs to one process
whose write transactions take the file's lock in turn (``BEGIN IMMEDIATE``) and whose reads are
served from memory or a local file in microseconds; a hop to a thread and back would cost more
than the work (bench/bench_postgres.py)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

T = TypeVar("T")


class BlockingCalls:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="store") if threads else None

    @property
    def inline(self) -> bool:
        return self._pool is None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, on a pool thread (its context copied: context variables carry over)."""
        if self._pool is None:
            return fn(*args)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(context.run, fn, *args))

    async def run_handler(self, handler: Callable[[], Awaitable[T]]) -> T:
        """An async request handler whose store work is synchronous (Graph, the operator API): on
        SQLite awaited here; on PostgreSQL run to its end on a pool thread, as ARM handlers are, so
        that a request waiting on the database holds up no other. There the coroutine must end at
        its first step: what it awaits may not need the event loop, except a request's body read
        through ``from_loop``."""
        if self._pool is None:
            return await handler()
        return await self.run(_run_to_end, handler)

    def from_loop(self, receive: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        """``receive`` (the ASGI receive a request's body is read with) made callable from a pool
        thread: there it runs on the event loop, the thread waiting for it (the loop serves other
        requests meanwhile). Call on the event loop."""
        if self._pool is None:
            return receive
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()

        async def on_loop() -> T:
            return await receive()

        async def from_any_thread() -> T:
            if threading.get_ident() == loop_thread:
                return await receive()
            return asyncio.run_coroutine_threadsafe(on_loop(), loop).result()

        return from_any_thread

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _run_to_end(handler: Callable[[], Awaitable[T]]) -> T:
    coroutine = cast(Coroutine[Any, Any, T], handler())
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("a handler run on a store thread suspended: it awaited something of the event loop")
