"""The route-filter family's extra endpoint: ``GET …/providers/Microsoft.Network/bgpServiceCommunities``."""

from __future__ import annotations

from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.network.common import NAMESPACE, versions
from crossconnect.network.route_filters.communities import is_authorized, render, service_groups

VERSIONS = versions("bgpServiceCommunities", since="2016-12-01")


async def list_communities(request: ArmRequest) -> ArmResponse:
    authorized = is_authorized(request.services.store, request.subscription_id)
    sub = request.params["subscriptionId"]
    return page_static(request, [render(sub, name, items, authorized) for name, items in service_groups()])


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            "GET",
            "/subscriptions/{subscriptionId}/providers/Microsoft.Network/bgpServiceCommunities",
            list_communities,
            VERSIONS,
            "Microsoft.Network/bgpServiceCommunities/read",
            NAMESPACE,
        ),
    ]
