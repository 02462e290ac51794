"""``GET …/providers/Microsoft.Network/expressRoutePortsLocations[/{locationName}]``: where
ExpressRoute Direct ports can be ordered. The locations are the fabric's peering locations that
the subscription can see (test locations only with the test-locations feature Registered); a
location's ``availableBandwidths`` is its real-time inventory of free Direct port pairs, shown on
GET of one location only, as Azure does (the list leaves it out)."""

from __future__ import annotations

from typing import Any

from crossconnect.arm.errors import NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.fabric import direct_ports
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.common import NAMESPACE, versions
from crossconnect.store import Store

VERSIONS = versions("expressRoutePortsLocations", since="2018-08-01")
BASE = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRoutePortsLocations"
ACTION = "Microsoft.Network/expressRoutePortsLocations/read"


def visible_locations(store: Store, subscription_id: str) -> list[str]:
    names: set[str] = set()
    for provider in catalog.visible_providers(store, subscription_id):
        names.update(provider.peering_locations)
    return sorted(names, key=str.lower)


def find_location(store: Store, subscription_id: str, name: str) -> str | None:
    """The location's exact name (case and spaces as the catalog has them), if visible."""
    wanted = name.replace(" ", "").lower()
    return next((n for n in visible_locations(store, subscription_id) if n.replace(" ", "").lower() == wanted), None)


def render_location(store: Store, subscription_id: str, name: str, *, with_bandwidths: bool) -> dict[str, Any]:
    code = direct_ports.pairs(name)[0].primary_port.split("-06GMR-")[0]
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "address": f"{name} meet-me room, crossconnect fabric (MSEEs {code}-06GMR-CIS-PRI/SEC)",
        "contact": "expressroute-direct@crossconnect.local",
    }
    if with_bandwidths:
        props["availableBandwidths"] = [
            {"offerName": f"{bandwidth} Gbps", "valueInGbps": bandwidth}
            for bandwidth in direct_ports.free_bandwidths(store, name)
        ]
    return {
        "id": f"/subscriptions/{subscription_id}/providers/Microsoft.Network/expressRoutePortsLocations/{name}",
        "name": name,
        "type": "Microsoft.Network/expressRoutePortsLocations",
        "properties": props,
    }


async def list_locations(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    sub = request.subscription_id
    return page_static(
        request, [render_location(store, sub, n, with_bandwidths=False) for n in visible_locations(store, sub)]
    )


async def get_location(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    name = find_location(store, request.subscription_id, request.params["locationName"])
    if name is None:
        raise NotFound(
            f"The ExpressRoute ports location '{request.params['locationName']}' was not found.", "ResourceNotFound"
        )
    return ArmResponse(200, render_location(store, request.subscription_id, name, with_bandwidths=True))


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("GET", BASE, list_locations, VERSIONS, ACTION, NAMESPACE),
        Endpoint("GET", BASE + "/{locationName}", get_location, VERSIONS, ACTION, NAMESPACE),
    ]
