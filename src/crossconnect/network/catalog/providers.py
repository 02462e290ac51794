"""The ExpressRoute service-provider catalog: providers, their peering locations and bandwidths.

The shipped data file holds the real catalog; the operator API adds providers or locations and
maps each provider to its ExpressRoute management subscription (where its cross connections
appear). Operator changes live in the store, so every replica and snapshot sees them.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from crossconnect.resources.features import TEST_LOCATIONS, is_feature_registered
from crossconnect.store import Store

_DATA = Path(__file__).parent / "data" / "service_providers.json"
_OVERRIDES = "catalog.providers"  # meta key: operator-added providers and management subscriptions
# what ``Store.remembered`` keeps of the catalog, until ``meta`` (the overrides) is written
_PROVIDERS = ("catalog", "providers")
_SUBSCRIPTIONS = ("catalog", "management subscriptions")

BANDWIDTH_NAMES = {
    50: "50Mbps",
    100: "100Mbps",
    200: "200Mbps",
    500: "500Mbps",
    1000: "1Gbps",
    2000: "2Gbps",
    5000: "5Gbps",
    10000: "10Gbps",
}


@dataclass(frozen=True)
class Provider:
    name: str
    peering_locations: tuple[str, ...]
    bandwidths: tuple[int, ...]
    test: bool
    management_subscription_id: str | None

    def find_location(self, name: str) -> str | None:
        return next((loc for loc in self.peering_locations if loc == name), None)


@cache
def _shipped() -> dict[str, dict[str, Any]]:
    data = json.loads(_DATA.read_text())
    return {p["name"]: p for p in data["providers"]}


def _merged(store: Store, conn: Connection | None = None) -> dict[str, dict[str, Any]]:
    merged = {name: dict(p) for name, p in _shipped().items()}
    for name, override in (store.get_meta(_OVERRIDES, conn) or {}).items():
        merged[name] = {**merged.get(name, {"name": name, "peeringLocations": [], "bandwidthsOffered": []}), **override}
    return merged


def _provider(entry: dict[str, Any]) -> Provider:
    return Provider(
        name=entry["name"],
        peering_locations=tuple(entry.get("peeringLocations", [])),
        bandwidths=tuple(sorted(int(b) for b in entry.get("bandwidthsOffered", []))),
        test=bool(entry.get("test", False)),
        management_subscription_id=entry.get("managementSubscriptionId"),
    )


def providers(store: Store, conn: Connection | None = None) -> list[Provider]:
    if conn is not None:  # inside a transaction, which may have changed the overrides itself
        return _providers(store, conn)
    # Built from the shipped catalog and the operator's overrides (a ``meta`` row) for every
    # cross-connection request (its scope check): kept until the next write of ``meta``. Building
    # the hundred-odd providers cost more than the rest of a cross-connection peering GET.
    return list(store.remembered(_PROVIDERS, lambda: tuple(_providers(store)), "meta"))


def _providers(store: Store, conn: Connection | None = None) -> list[Provider]:
    return [_provider(e) for e in sorted(_merged(store, conn).values(), key=lambda e: e["name"].lower())]


def find_provider(store: Store, name: str, conn: Connection | None = None) -> Provider | None:
    entry = _merged(store, conn).get(name)
    return _provider(entry) if entry else None


def visible_providers(store: Store, subscription_id: str) -> list[Provider]:
    """Test providers and locations are invisible unless the test-locations feature is Registered."""
    show_test = is_feature_registered(store, subscription_id, TEST_LOCATIONS)
    return [p for p in providers(store) if show_test or not p.test]


def update_provider(store: Store, name: str, changes: dict[str, Any], conn: Connection | None = None) -> Provider:
    def merge(stored: dict[str, Any] | None) -> dict[str, Any]:
        overrides = dict(stored or {})
        overrides[name] = {**overrides.get(name, {}), **changes, "name": name}
        return overrides

    with store.tx() if conn is None else contextlib.nullcontext(conn) as c:
        store.update_meta(_OVERRIDES, merge, c)  # one step: another provider's change at once stays
        provider = find_provider(store, name, c)
    assert provider is not None
    return provider


def provider_subscriptions(store: Store, conn: Connection | None = None) -> frozenset[str]:
    """Subscriptions that are some provider's ExpressRoute management subscription."""
    if conn is not None:
        return _management_subscriptions(providers(store, conn))
    return store.remembered(_SUBSCRIPTIONS, lambda: _management_subscriptions(providers(store)), "meta")


def _management_subscriptions(catalog: list[Provider]) -> frozenset[str]:
    return frozenset(p.management_subscription_id.lower() for p in catalog if p.management_subscription_id)


def render_provider(provider: Provider) -> dict[str, Any]:
    return {
        "name": provider.name,
        "id": "/subscriptions//resourceGroups//providers/Microsoft.Network/expressRouteServiceProviders/",
        "type": "Microsoft.Network/expressRouteServiceProviders",
        "properties": {
            "provisioningState": "Succeeded",
            "peeringLocations": list(provider.peering_locations),
            "bandwidthsOffered": [
                {"offerName": BANDWIDTH_NAMES.get(b, f"{b}Mbps"), "valueInMbps": b} for b in provider.bandwidths
            ],
        },
    }
