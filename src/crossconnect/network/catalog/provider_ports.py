"""``GET .../providers/Microsoft.Network/expressRouteProviderPorts`` (the circuit placement API):
the port pairs of the providers this subscription manages, with their capacity and usage."""

from __future__ import annotations

from typing import Any

from crossconnect.arm.errors import NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.fabric import placement
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.common import NAMESPACE, versions

VERSIONS = versions("expressRouteProviderPorts", since="2018-02-01")
BASE = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRouteProviderPorts"


def _pairs(request: ArmRequest) -> list[dict[str, Any]]:
    store = request.services.store
    if request.subscription_id not in catalog.provider_subscriptions(store):
        raise NotFound(
            "The resource type could not be found in the namespace 'Microsoft.Network' for api version "
            f"'{request.api_version}'.",
            "InvalidResourceType",
        )
    wanted = request.query.get("location")
    out = []
    for provider in catalog.providers(store):
        if (provider.management_subscription_id or "").lower() != request.subscription_id:
            continue
        for location in provider.peering_locations:
            if wanted and location.replace(" ", "").lower() != wanted.replace(" ", "").lower():
                continue
            for pair in placement.port_pairs(location, provider.name, store):
                used = placement.usage(store, pair.descriptor)
                out.append(
                    {
                        "id": f"/subscriptions/{request.subscription_id}/providers/Microsoft.Network/"
                        f"expressRouteProviderPorts/{pair.descriptor}",
                        "name": pair.descriptor,
                        "type": "Microsoft.Network/expressRouteProviderPorts",
                        "properties": {
                            "portPairDescriptor": pair.descriptor,
                            "primaryAzurePort": pair.primary_port,
                            "secondaryAzurePort": pair.secondary_port,
                            "peeringLocation": pair.peering_location,
                            "overprovisionFactor": pair.overprovision_factor,
                            "portBandwidthInMbps": pair.port_bandwidth_mbps,
                            "usedBandwidthInMbps": used["usedMbps"],
                            "remainingBandwidthInMbps": pair.capacity_mbps - used["usedMbps"],
                        },
                    }
                )
    return out


async def list_ports(request: ArmRequest) -> ArmResponse:
    return page_static(request, _pairs(request))


async def get_port(request: ArmRequest) -> ArmResponse:
    name = request.params["portPairDescriptor"].lower()
    for pair in _pairs(request):
        if pair["name"].lower() == name:
            return ArmResponse(200, pair)
    raise NotFound(f"The port pair '{request.params['portPairDescriptor']}' was not found.", "ResourceNotFound")


def endpoints() -> list[Endpoint]:
    action = "Microsoft.Network/expressRouteProviderPorts/read"
    return [
        Endpoint("GET", BASE, list_ports, VERSIONS, action, NAMESPACE),
        Endpoint("GET", BASE + "/{portPairDescriptor}", get_port, VERSIONS, action, NAMESPACE),
    ]
