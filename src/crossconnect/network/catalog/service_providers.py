"""``GET .../providers/Microsoft.Network/expressRouteServiceProviders``: the catalog as this
subscription sees it (test providers only with the test-locations feature Registered)."""

from __future__ import annotations

from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.common import NAMESPACE, versions

VERSIONS = versions("expressRouteServiceProviders")


async def list_service_providers(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    return page_static(
        request, [catalog.render_provider(p) for p in catalog.visible_providers(store, request.subscription_id)]
    )


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            "GET",
            "/subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRouteServiceProviders",
            list_service_providers,
            VERSIONS,
            "Microsoft.Network/expressRouteServiceProviders/read",
            NAMESPACE,
        ),
    ]
