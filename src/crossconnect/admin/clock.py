"""The operator's clock (``GET``/``POST /_crossconnect/clock``): where ``crossconnect.clock`` keeps
its setting (the meta row ``clock``, shared by every replica on one database) and the rules a
change request must follow."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from crossconnect import clock
from crossconnect.arm.errors import BadRequest
from crossconnect.store import Store

CLOCK_META = "clock"
ACTIONS = ("advance", "freeze", "real")
MAX_ADVANCE = 10 * 365 * 86400  # ten years in one step
LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()  # the clock never goes past this instant


def load(store: Store) -> clock.Setting:
    return clock.Setting.from_json(store.get_meta(CLOCK_META))


def save(store: Store, setting: clock.Setting, conn: Connection | None = None) -> None:
    store.set_meta(CLOCK_META, setting.to_json(), conn)


def carried(before: clock.Setting, after: clock.Setting) -> clock.Setting:
    """``after`` (the setting a reset or an import puts in place), remembering how far the clock
    had run ahead of it: tokens issued then have an ``nbf`` still in the future and stay accepted.
    Unchanged when the clock never showed a later instant (the common case: a snapshot imports
    as it was exported)."""
    reached = max(before.reached, before.now(), after.reached)
    return replace(after, reached=reached) if reached > after.now() else after


def parse(body: dict[str, Any]) -> tuple[str, float]:
    """The one action of a change request and its seconds (0 for freeze and real); 400 naming the
    field for anything else."""
    unknown = sorted(set(body) - set(ACTIONS))
    if unknown:
        raise BadRequest(
            f'The clock has no setting \'{unknown[0]}\': send one of {{"advance": seconds}}, {{"freeze": true}} '
            'or {"real": true}.',
            "InvalidRequestContent",
            target=unknown[0],
        )
    given = [a for a in ACTIONS if a in body]
    if len(given) != 1:
        raise BadRequest(
            'Send exactly one of {"advance": seconds}, {"freeze": true} or {"real": true}'
            + (f" (not {' and '.join(given)} together)." if given else "."),
            "InvalidRequestContent",
            target=given[-1] if given else None,
        )
    action, value = given[0], body[given[0]]
    if action != "advance":
        if value is not True:
            raise BadRequest(f"'{action}' must be true.", "InvalidRequestContent", target=action)
        return action, 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest("'advance' must be a number of seconds.", "InvalidRequestContent", target="advance")
    if value < 0:
        raise BadRequest(
            f"'advance' must not be negative ({value}): the clock only moves forward; "
            'send {"real": true} to go back to real time.',
            "InvalidRequestContent",
            target="advance",
        )
    if value > MAX_ADVANCE:
        raise BadRequest(
            f"'advance' must be at most {MAX_ADVANCE} seconds (ten years) in one step, not {value}.",
            "InvalidRequestContent",
            target="advance",
        )
    return action, float(value)


def change(store: Store, action: str, seconds: float) -> clock.Setting:
    """Apply the action to the stored setting (under its row lock: two replicas advancing at once
    both count) and use the result in this process at once."""

    def apply(stored: Any) -> dict[str, float]:
        current = clock.Setting.from_json(stored)
        if action == "advance":
            new = current.advanced(seconds)
            if new.now() > LATEST:
                raise BadRequest(
                    f"Advancing by {seconds} seconds would move the clock past {_iso(LATEST)}; nothing was changed.",
                    "InvalidRequestContent",
                    target="advance",
                )
        elif action == "freeze":
            new = current.frozen()
        else:
            new = current.real()
        return new.to_json()

    setting = clock.Setting.from_json(store.update_meta(CLOCK_META, apply))
    clock.changed(setting)
    return setting


def describe(setting: clock.Setting) -> dict[str, Any]:
    now = setting.now()
    return {
        "now": _iso(now),
        "epoch": now,
        "frozen": setting.frozen_at is not None,
        "offsetSeconds": (now - _real_now()) if setting.frozen_at is not None else setting.offset,
    }


def _real_now() -> float:
    return datetime.now(UTC).timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
