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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
