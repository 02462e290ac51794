"""Fault injection for partner testing: ports, devices or single links down, BGP flaps, the
next N operations on a resource failing with a chosen ARM error, extra operation latency.
One call clears them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crossconnect import clock
from crossconnect.store import Store

_KEY = "fabric.faults"
FLAP_SECONDS = 5.0


def _empty() -> dict[str, Any]:
    return {"ports": [], "devices": [], "links": [], "flaps": {}, "failNext": {}, "latency": {}, "updatedAt": 0.0}


def current(store: Store) -> dict[str, Any]:
    return {**_empty(), **(store.get_meta(_KEY) or {})}


def save(store: Store, faults: dict[str, Any]) -> dict[str, Any]:
    faults = {**faults, "updatedAt": clock.now()}
    store.set_meta(_KEY, faults)
    return faults


def change(store: Store, edit: Callable[[dict[str, Any]], dict[str, Any]], conn: Any = None) -> dict[str, Any]:
    """Apply ``edit`` to the current faults and store the result, as one step: faults set at the
    same time (any replica) all stay set."""
    return store.update_meta(
        _KEY, lambda stored: {**edit({**_empty(), **(stored or {})}), "updatedAt": clock.now()}, conn
    )


def clear(store: Store) -> dict[str, Any]:
    return save(store, _empty())


def link_id(service_key: str, link: str) -> str:
    return f"{service_key.lower()}/{link}"


def set_down(store: Store, kind: str, name: str, down: bool) -> dict[str, Any]:
    """kind: ports | devices | links (a link is '<serviceKey>/<primary|secondary>')."""

    def edit(faults: dict[str, Any]) -> dict[str, Any]:
        names = {n.lower() for n in faults[kind]}
        if down:
            names.add(name.lower())
        else:
            names.discard(name.lower())
        return {**faults, kind: sorted(names)}

    return change(store, edit)


def flap(store: Store, service_key: str, peering_type: str, link: str, seconds: float = FLAP_SECONDS) -> dict[str, Any]:
    flap_id = f"{link_id(service_key, link)}/{peering_type.lower()}"
    return change(store, lambda faults: {**faults, "flaps": {**faults["flaps"], flap_id: clock.now() + seconds}})


def fail_next(store: Store, resource_id: str, count: int, code: str, message: str) -> dict[str, Any]:
    rule = {"count": count, "code": code, "message": message}
    return change(store, lambda faults: {**faults, "failNext": {**faults["failNext"], resource_id.lower(): rule}})


def take_failure(store: Store, resource_key: str, conn: Any = None) -> dict[str, Any] | None:
    """If the next operation on this resource (or on a parent of it) must fail, consume one
    (two replicas completing operations at once consume two)."""
    if not current(store)["failNext"]:
        return None  # the usual case, without a write
    taken: list[dict[str, Any]] = []

    def consume(faults: dict[str, Any]) -> dict[str, Any]:
        for target, rule in faults["failNext"].items():
            if (resource_key == target or resource_key.startswith(target + "/")) and rule["count"] > 0:
                taken.append({**rule, "count": rule["count"] - 1})
                return {**faults, "failNext": {**faults["failNext"], target: taken[0]}}
        return faults

    change(store, consume, conn)
    return taken[0] if taken else None


def set_latency(store: Store, resource_id: str, seconds: float) -> dict[str, Any]:
    return change(store, lambda faults: {**faults, "latency": {**faults["latency"], resource_id.lower(): seconds}})


def latency_for(store: Store, resource_key: str) -> float:
    latency = current(store)["latency"]
    return max([s for t, s in latency.items() if t == "*" or resource_key.startswith(t)] or [0.0])
