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
import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")


class AsgiRequest(Protocol):
    """What ``endpoint`` needs of a web framework's request (Starlette's ``Request`` is one): its
    ASGI scope and receive, and to be made again from them. The store knows no framework."""

    def __init__(self, scope: Any, receive: Any) -> None: ...

    @property
    def scope(self) -> Any: ...

    @property
    def receive(self) -> Any: ...


R = TypeVar("R", bound=AsgiRequest)


class BlockingCalls:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="store") if threads else None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, on a pool thread (its context copied: context variables carry over)."""
        if self._pool is None:
            return fn(*args)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(context.run, fn, *args))

    async def run_handler(self, handler: Callable[[], Awaitable[T]]) -> T:
        """An async request handler whose store work is synchronous (Graph, the operator API): on
        SQLite awaited here; on PostgreSQL run on the pool's threads, as ARM handlers are, so that
        a request waiting on the database holds up no other. There the coroutine runs step by
        step: each step on a pool thread, up to the next ``from_loop`` call (reading the request's
        body), which runs on the event loop with no thread held (a slow upload holds up no store
        work); nothing else it awaits may need the event loop."""
        if self._pool is None:
            return await handler()
        coroutine = cast(Coroutine[Any, Any, T], handler())
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                done, value = await self.run(_step, coroutine, sent, thrown)
                if done:
                    return cast(T, value)
                try:
                    sent, thrown = await value.call(), None
                except Exception as exc:  # (a body over the limit, a disconnect): raised in the handler
                    sent, thrown = None, exc
        finally:
            with contextlib.suppress(ValueError):  # (still running on a thread: it ends by itself)
                coroutine.close()

    def from_loop(self, receive: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        """``receive`` (the ASGI receive a request's body is read with) for a handler that
        ``run_handler`` runs: called on a pool thread, the handler's step ends there and the call
        runs on the event loop; its result is where the next step begins."""
        if self._pool is None:
            return receive
        return functools.partial(self.on_loop, receive)

    async def on_loop(self, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()`` on the event loop, from a handler ``run_handler`` runs: what needs the
        loop (an ``asyncio.Lock``, a Starlette form's spooled upload, hashing on its own thread)
        runs there with no store thread held, and the handler goes on on a pool thread after it.
        Awaited on the loop itself (SQLite, or outside ``run_handler``), just ``await call()``."""
        if self._pool is None or _loop_running():
            return await call()
        return cast(T, await _OnLoop(call))

    def endpoint(self, served: Callable[[R], Awaitable[T]]) -> Callable[[R], Awaitable[T]]:
        """A Starlette endpoint running ``served`` where the store runs blocking work (a pool
        thread on PostgreSQL: a request waiting on the database holds up no other), step by step
        (``run_handler``); its body is still read on the event loop (``from_loop``)."""

        async def off_loop(request: R) -> T:
            if self._pool is not None:
                request = type(request)(request.scope, self.from_loop(request.receive))
            return await self.run_handler(functools.partial(served, request))

        return off_loop

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class _OnLoop:
    """What a handler awaits on a pool thread to have ``call()`` run on the event loop: it hands
    itself to ``run_handler``'s loop, which sends back the result (or throws the error)."""

    def __init__(self, call: Callable[[], Awaitable[Any]]) -> None:
        self.call = call

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a pool thread, stepping a handler: no event loop runs here
        return False
    return True


def _step(coroutine: Coroutine[Any, Any, Any], sent: Any, thrown: BaseException | None) -> tuple[bool, Any]:
    """One step of a handler: (True, its result) or (False, the ``_OnLoop`` it waits for)."""
    try:
        yielded = coroutine.throw(thrown) if thrown is not None else coroutine.send(sent)
    except StopIteration as done:
        return True, done.value
    if not isinstance(yielded, _OnLoop):
        coroutine.close()
        raise RuntimeError("a handler run on a store thread awaited something of the event loop")
    return False, yielded
