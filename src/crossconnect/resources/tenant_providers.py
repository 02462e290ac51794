"""Resource providers as the tenant sees them (``Providers_ListAtTenantScope``,
``Providers_GetAtTenantScope``: ``GET /providers[/{namespace}]``) and the resource types of one
provider (``ProviderResourceTypes_List``). The Azure CLI reads them to pick the api-version of
``az resource`` calls. At the tenant there is no subscription, so no registration state."""

from __future__ import annotations

from typing import Any

from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.resources.providers import NAMESPACES, PROVIDER_VERSIONS, render_provider, resolve_namespace


def render_at_tenant(namespace: str) -> dict[str, Any]:
    return {
        "id": f"/providers/{namespace}",
        "namespace": namespace,
        "resourceTypes": [
            {"resourceType": rtype, "locations": [], "apiVersions": sorted(versions, reverse=True)}
            for rtype, versions in sorted(NAMESPACES[namespace].items())
        ],
    }


async def list_at_tenant(request: ArmRequest) -> ArmResponse:
    return page_static(request, [render_at_tenant(ns) for ns in sorted(NAMESPACES)])


async def get_at_tenant(request: ArmRequest) -> ArmResponse:
    return ArmResponse(200, render_at_tenant(resolve_namespace(request)))


async def list_resource_types(request: ArmRequest) -> ArmResponse:
    provider = render_provider(request.services.store, request.subscription_id, resolve_namespace(request))
    return ArmResponse(200, {"value": provider["resourceTypes"]})


def endpoints() -> list[Endpoint]:
    read = "Microsoft.Resources/subscriptions/providers/read"
    return [
        # any signed-in caller of the tenant may read the provider catalogue, as on Azure
        Endpoint("GET", "/providers", list_at_tenant, PROVIDER_VERSIONS, read, needs_subscription=False),
        Endpoint("GET", "/providers/{namespace}", get_at_tenant, PROVIDER_VERSIONS, read, needs_subscription=False),
        Endpoint(
            "GET", "/subscriptions/{subscriptionId}/providers/{namespace}/resourceTypes", list_resource_types,
            PROVIDER_VERSIONS, read,
        ),
    ]  # fmt: skip
