"""Fault injection for partner testing: ports, devices or single links down, BGP flaps, the
next N operations on a resource failing with a chosen ARM error, extra operation latency.
One call clears them all."""

from __future__ import annotations

import time
from typing import Any

from crossconnect.store import Store

_KEY = "fabric.faults"
FLAP_SECONDS = 5.0


def _empty() -> dict[str, Any]:
    return {"ports": [], "devices": [], "links": [], "flaps": {}, "failNext": {}, "latency": {}, "updatedAt": 0.0}


def current(store: Store) -> dict[str, Any]:
    return {**_empty(), **(store.get_meta(_KEY) or {})}


def save(store: Store, faults: dict[str, Any]) -> dict[str, Any]:
    faults = {**faults, "updatedAt": time.time()}
    store.set_meta(_KEY, faults)
    return faults


def clear(store: Store) -> dict[str, Any]:
    return save(store, _empty())


def link_id(service_key: str, link: str) -> str:
    return f"{service_key.lower()}/{link}"


def set_down(store: Store, kind: str, name: str, down: bool) -> dict[str, Any]:
    """kind: ports | devices | links (a link is '<serviceKey>/<primary|secondary>')."""
    faults = current(store)
    names = {n.lower() for n in faults[kind]}
    if down:
        names.add(name.lower())
    else:
        names.discard(name.lower())
    faults[kind] = sorted(names)
    return save(store, faults)


def flap(store: Store, service_key: str, peering_type: str, link: str, seconds: float = FLAP_SECONDS) -> dict[str, Any]:
    faults = current(store)
    faults["flaps"] = {**faults["flaps"], f"{link_id(service_key, link)}/{peering_type.lower()}": time.time() + seconds}
    return save(store, faults)


def fail_next(store: Store, resource_id: str, count: int, code: str, message: str) -> dict[str, Any]:
    faults = current(store)
    faults["failNext"] = {**faults["failNext"], resource_id.lower(): {"count": count, "code": code, "message": message}}
    return save(store, faults)


def take_failure(store: Store, resource_key: str, conn: Any = None) -> dict[str, Any] | None:
    """If the next operation on this resource (or on a parent of it) must fail, consume one."""
    faults = {**_empty(), **(store.get_meta(_KEY, conn) or {})}
    for target, rule in faults["failNext"].items():
        if (resource_key == target or resource_key.startswith(target + "/")) and rule["count"] > 0:
            rule = {**rule, "count": rule["count"] - 1}
            faults["failNext"] = {**faults["failNext"], target: rule}
            store.set_meta(_KEY, {**faults, "updatedAt": time.time()}, conn)
            return rule
    return None


def set_latency(store: Store, resource_id: str, seconds: float) -> dict[str, Any]:
    faults = current(store)
    faults["latency"] = {**faults["latency"], resource_id.lower(): seconds}
    return save(store, faults)


def latency_for(store: Store, resource_key: str) -> float:
    latency = current(store)["latency"]
    return max([s for t, s in latency.items() if t == "*" or resource_key.startswith(t)] or [0.0])
