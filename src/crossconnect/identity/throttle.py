"""Counted attempts, shared by every replica: wrong passwords per user, failed client
authentications per client and per source address, device-code requests per client and per
source. One mechanism for all of them: each attempt is a row (the digest of its key, its time) in
the store's ``sign_in_failures`` table, so every replica counts the same attempts, and a key is
held back once ``limit`` of its attempts fall within the last ``WINDOW`` seconds.

All kinds share the window, so that one clean-up (rows older than the window) serves them all.
Counting and checking are separate statements: within one process a caller that checks, works and
counts without awaiting in between (or holding a lock across the await, as the token endpoint does
around the secret check) is exact; across replicas a limit may be passed by at most one attempt per
other replica racing for the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from starlette.requests import Request

from crossconnect import clock
from crossconnect.identity.errors import AadError
from crossconnect.store import Store

WINDOW = 60.0


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def source_address(request: Request) -> str:
    """The address a request came from: the peer of the connection (``X-Forwarded-For`` and the
    like are the caller's to write, so they are not trusted)."""
    return request.client.host if request.client else ""


class FailureThrottle:
    """At most ``limit`` counted attempts per key of one ``kind`` within ``WINDOW`` seconds."""

    def __init__(self, store: Store, kind: str, limit: int) -> None:
        self.store = store
        self.kind = kind
        self.limit = limit

    def key(self, *parts: str) -> str:
        return digest("|".join((self.kind, *parts)))

    def recent(self, key: str) -> list[float]:
        """The times of this key's attempts within the window, oldest first."""
        since = clock.now() - WINDOW
        return sorted(
            r["failed_at"] for r in self.store.find_all("sign_in_failures", user_key=key) if r["failed_at"] > since
        )

    def wait_seconds(self, recent: list[float]) -> int:
        """How long until fewer than ``limit`` of ``recent`` are within the window (0: not held back)."""
        if len(recent) < self.limit:
            return 0
        return max(1, int(recent[-self.limit] + WINDOW - clock.now() + 0.999))

    def wait(self, key: str) -> int:
        return self.wait_seconds(self.recent(key))

    def succeed(self, key: str) -> None:
        self.store.delete_where("sign_in_failures", user_key=key)


def count(store: Store, *keys: str, conn: Any = None) -> None:
    """Count one attempt against each key (keys of any kind), in one transaction (``conn``'s when
    given); attempts that left the window are dropped on the way."""
    now = clock.now()
    with store.tx() if conn is None else contextlib.nullcontext(conn) as c:
        store.delete_before("sign_in_failures", "failed_at", now - WINDOW, c)
        for key in keys:
            store.insert("sign_in_failures", {"user_key": key, "failed_at": now}, c)


def throttled(wait: int, description: str) -> AadError:
    """Azure AD's answer to a caller that must back off: HTTP 429 with ``Retry-After`` (as Azure AD
    answers a client_credentials caller it throttles), in Azure AD's error body."""
    return AadError(
        429,
        "temporarily_unavailable",
        90055,
        f"TenantThrottlingError - There are too many incoming requests. {description} Try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )
