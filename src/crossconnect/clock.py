"""The server's clock: every time the server shows or decides by (operation due times, token
``iat``/``nbf``/``exp`` and their verification, device-code and authorization-code expiry,
throttling windows, BGP up/down times, ARP ages, timestamps in bodies) is ``now()``.

By default it is real time. The operator moves it (``POST /_crossconnect/clock``): ``advance``
adds seconds, ``freeze`` stops it at the current instant, ``real`` goes back to real time. The
setting lives in the database (``app`` wires ``use(load)``, a function reading the meta row), so
every replica on one PostgreSQL database agrees; a process re-reads it at most every ``ttl``
seconds (its own changes at once), so the hot path pays a ``time.monotonic()`` call, not a query.

Functions that must wait in real time (a daemon starting, a subprocess deadline, a lease on a
cache) keep ``time.monotonic()``: only time the caller sees or is judged by comes from here.

A leaf module: it imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic


@dataclass(frozen=True)
class Setting:
    """Where the clock stands: real time plus ``offset`` seconds, or stopped at ``frozen_at``.
    ``reached``: the latest instant it showed before it was last set back (a token issued then is
    one of ours, though its ``nbf`` is still ahead of the clock)."""

    offset: float = 0.0
    frozen_at: float | None = None
    reached: float = 0.0

    def now(self) -> float:
        return self.frozen_at if self.frozen_at is not None else time.time() + self.offset

    def advanced(self, seconds: float) -> Setting:
        if self.frozen_at is not None:
            return Setting(frozen_at=self.frozen_at + seconds, reached=self.reached)
        return Setting(offset=self.offset + seconds, reached=self.reached)

    def frozen(self) -> Setting:
        return self if self.frozen_at is not None else Setting(frozen_at=self.now(), reached=self.reached)

    def real(self) -> Setting:
        return Setting(reached=max(self.reached, self.now()))

    def to_json(self) -> dict[str, float]:
        where = {"frozenAt": self.frozen_at} if self.frozen_at is not None else {"offset": self.offset}
        return {**where, "reached": self.reached}

    @staticmethod
    def from_json(value: object) -> Setting:
        """The stored form; anything else (no row, a hand-edited snapshot) is real time."""
        if not isinstance(value, dict):
            return REAL
        frozen, offset, reached = value.get("frozenAt"), value.get("offset"), value.get("reached")
        reached = float(reached) if _finite(reached) else 0.0  # type: ignore[arg-type]
        if _finite(frozen):
            return Setting(frozen_at=float(frozen), reached=reached)  # type: ignore[arg-type]
        return Setting(offset=float(offset) if _finite(offset) else 0.0, reached=reached)  # type: ignore[arg-type]


REAL = Setting()

_setting = REAL
_load: Callable[[], Setting] | None = None
_ttl = math.inf
_reload_at = -math.inf  # time.monotonic() when the stored setting is read again
_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()


def now() -> float:
    """Seconds since the epoch on the server's clock (on every request's path: kept to a few
    attribute reads beyond ``time.time()``)."""
    setting = _current() if _load is not None and monotonic() >= _reload_at else _setting
    frozen = setting.frozen_at
    return frozen if frozen is not None else time.time() + setting.offset


def utcnow() -> datetime:
    """``now()`` as an aware UTC datetime."""
    return datetime.fromtimestamp(now(), UTC)


def setting() -> Setting:
    return _current()


def use(load: Callable[[], Setting] | None, ttl: float = math.inf) -> None:
    """Read the setting with ``load`` (the database) now and again whenever ``ttl`` seconds have
    passed: ``math.inf`` where this process is the only writer (SQLite), a fraction of a second
    where replicas share the setting (PostgreSQL). ``None``: real time, nothing stored."""
    global _load, _ttl, _reload_at
    _load, _ttl, _reload_at = load, ttl, -math.inf
    if load is None:
        _apply(REAL)


def reload() -> Setting:
    """Read the stored setting now (after a reset or a snapshot import replaced it)."""
    global _reload_at
    value = _load() if _load is not None else REAL
    _reload_at = time.monotonic() + _ttl
    _apply(value)
    return value


def changed(value: Setting) -> None:
    """This process stored ``value``: use it at once and wake whoever waits on the clock."""
    global _reload_at
    _reload_at = time.monotonic() + _ttl
    _apply(value)


def on_change(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (no arguments, from whichever thread saw the change) when the setting
    changes; returns a function that removes it."""
    _listeners.append(listener)
    return lambda: _remove(listener)


def _remove(listener: Callable[[], None]) -> None:
    with contextlib.suppress(ValueError):
        _listeners.remove(listener)


def _current() -> Setting:
    if _load is not None and time.monotonic() >= _reload_at:
        with _lock:
            if time.monotonic() >= _reload_at:
                reload()
    return _setting


def _apply(value: Setting) -> None:
    global _setting
    before, _setting = _setting, value
    if value != before:
        for listener in list(_listeners):
            listener()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
