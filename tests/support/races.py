"""Races on purpose: calls released together on threads."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def at_once(calls: list[Callable[[], Any]], workers: int = 8) -> list[Any]:
    """Run ``calls`` on ``workers`` threads released together by a barrier: a race on purpose."""
    start = threading.Barrier(workers)

    def run(call: Callable[[], Any]) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=5)
        return call()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, calls))
