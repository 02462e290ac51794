"""Helpers for the route-filter tests: route filters through the real azure-mgmt-network SDK and
raw HTTPS for what the SDK cannot send. Circuits, peerings and the "nothing changed" check come
from tests/support/network.py."""

from __future__ import annotations

from typing import Any

import httpx

from crossconnect.network.route_filters import attachment as filter_attachment
from crossconnect.store import Store, database_url
from tests.support import Server
from tests.support.network import (
    MICROSOFT,
    MICROSOFT_IPV6,
    NETWORK,
    PRIVATE,
    circuit_peering_path,
    xc_peering_path,
)

API = "2024-07-01"
FILTER_GROUP = "filters-rg"

# Private peering as the route-filter tests send it: without the shared key.
PRIVATE_NO_SHARED_KEY = {k: v for k, v in PRIVATE.items() if k != "sharedKey"}


def rule(communities: list[str], access: str = "Allow", rule_type: str = "Community") -> dict[str, Any]:
    return {"properties": {"access": access, "routeFilterRuleType": rule_type, "communities": communities}}


def filter_body(*rules: tuple[str, list[str]], location: str = "westus", **extra: Any) -> dict[str, Any]:
    """A route filter PUT body; ``rules`` are (name, communities) pairs sent inline."""
    body: dict[str, Any] = {"location": location, "properties": {}, **extra}
    if rules:
        body["properties"]["rules"] = [{"name": name, **rule(communities)} for name, communities in rules]
    return body


def ensure_group(server: Server, role: str, group: str) -> None:
    """The group in ``role``'s subscription, created by the subscription admin: the partner (Network
    Contributor) may create route filters but not resource groups."""
    rc = server.resources("admin", subscription=server.subscription(role))
    rc.resource_groups.create_or_update(group, {"location": "westus"})


def create_filter(
    server: Server,
    name: str = "filter1",
    *rules: tuple[str, list[str]],
    role: str = "customer",
    group: str = FILTER_GROUP,
) -> Any:
    ensure_group(server, role, group)
    return server.network(role).route_filters.begin_create_or_update(group, name, filter_body(*rules)).result()


def filter_path(server: Server, name: str = "filter1", role: str = "customer", group: str = FILTER_GROUP) -> str:
    return f"/subscriptions/{server.subscription(role)}/resourceGroups/{group}/{NETWORK}/routeFilters/{name}"


def microsoft_peering_of(server: Server, view: str, cross_connection_name: str) -> tuple[str, str]:
    """The caller and the Microsoft peering's path in one view of the circuit: the customer on the
    circuit ("circuit"), the partner on its cross connection ("crossConnection")."""
    if view == "circuit":
        return "customer", circuit_peering_path(server, "MicrosoftPeering")
    return "partner", xc_peering_path(server, cross_connection_name, "MicrosoftPeering")


def raw(server: Server, role: str, method: str, path: str, body: Any = None, **query: str) -> httpx.Response:
    with server.http(role) as client:
        return client.request(method, path, params={"api-version": API, **query}, json=body)


def microsoft_ipv6(route_filter: Any, **changes: Any) -> dict[str, Any]:
    """Microsoft peering properties with an IPv6 session whose ``ipv6PeeringConfig.routeFilter`` is
    ``route_filter`` (``{"id": ...}``, or ``None``/``{}`` to detach)."""
    return {**MICROSOFT, "ipv6PeeringConfig": {**MICROSOFT_IPV6, "routeFilter": route_filter}, **changes}


def advertised(server: Server, peering_id: str) -> list[tuple[str, str]]:
    """What the device layer is told to advertise on a peering (filter_attachment.advertised_prefixes
    on the server's own database)."""
    store = Store(database_url(server.database, server.data_dir))
    try:
        row = store.get_resource(peering_id)
        assert row is not None, peering_id
        return filter_attachment.advertised_prefixes(store, row)
    finally:
        store.dispose()
