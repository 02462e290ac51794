"""Operator endpoints of the network layer: the provider catalog (add providers and locations,
map a provider to its ExpressRoute management subscription), the routing registry, and which
subscriptions may use the Office 365 communities in route filters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from crossconnect.arm.errors import BadRequest, NotFound
from crossconnect.arm.names import RESOURCE_GROUP
from crossconnect.identity.tokens import Principal
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.catalog import routing_registry
from crossconnect.network.common import cross_connection_group
from crossconnect.network.lab.operator_routes import OperatorRoutes
from crossconnect.network.route_filters import communities as bgp


def _provider_view(p: catalog.Provider) -> dict[str, Any]:
    return {
        "name": p.name,
        "peeringLocations": list(p.peering_locations),
        "bandwidthsOffered": list(p.bandwidths),
        "test": p.test,
        "managementSubscriptionId": p.management_subscription_id,
    }


def register(admin: OperatorRoutes) -> None:
    store = admin.ctx.store

    async def list_providers(request: Request, _: Principal) -> Any:
        return {"value": [_provider_view(p) for p in catalog.providers(store)]}

    async def put_provider(request: Request, _: Principal) -> Any:
        name = request.path_params["name"]
        data = await admin.body(request)
        changes: dict[str, Any] = {}
        if "peeringLocations" in data:
            locations = data["peeringLocations"]
            if not isinstance(locations, list) or not all(isinstance(x, str) and x for x in locations):
                raise BadRequest(
                    "peeringLocations must be a list of names.", "InvalidRequestContent", target="peeringLocations"
                )
            for location in locations:
                # each location gets a resource group CrossConnection-<location> for its cross connections
                group = cross_connection_group(location)
                if len(location) > 80 or RESOURCE_GROUP.error(group) is not None:
                    raise BadRequest(
                        f"The peering location '{location}' cannot name the resource group '{group}': use up to 80 "
                        "letters, digits, spaces, '-', '_', '.', '(' or ')', not ending with a period.",
                        "InvalidRequestContent",
                        target="peeringLocations",
                    )
            changes["peeringLocations"] = locations
        if "bandwidthsOffered" in data:
            bandwidths = data["bandwidthsOffered"]
            if not isinstance(bandwidths, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1_000_000 for x in bandwidths
            ):
                raise BadRequest(
                    "bandwidthsOffered must be a list of positive Mbps values.",
                    "InvalidRequestContent",
                    target="bandwidthsOffered",
                )
            changes["bandwidthsOffered"] = bandwidths
        if "managementSubscriptionId" in data:
            sub = data["managementSubscriptionId"]
            if sub is not None and not isinstance(sub, str):
                raise BadRequest(
                    "managementSubscriptionId must be a subscription id or null.",
                    "InvalidRequestContent",
                    target="managementSubscriptionId",
                )
            if sub is not None and store.find("subscriptions", id=str(sub).lower()) is None:
                raise NotFound(
                    f"The subscription '{sub}' could not be found.",
                    "SubscriptionNotFound",
                    target="managementSubscriptionId",
                )
            changes["managementSubscriptionId"] = str(sub).lower() if sub else None
        if "test" in data:
            changes["test"] = bool(data["test"])
        if catalog.find_provider(store, name) is None and not changes.get("peeringLocations"):
            raise BadRequest(
                f"'{name}' is a new provider: give it peeringLocations and bandwidthsOffered.",
                "InvalidRequestContent",
                target="peeringLocations",
            )
        return _provider_view(catalog.update_provider(store, name, changes))

    async def get_registry(request: Request, _: Principal) -> Any:
        return {"value": routing_registry.entries(store)}

    async def put_registry(request: Request, _: Principal) -> Any:
        data = await admin.body(request)
        entries = data.get("value")
        if not isinstance(entries, list):
            raise BadRequest(
                'Expected {"value": [{"prefix", "asn", "registry"}, ...]}.', "InvalidRequestContent", target="value"
            )
        try:
            routing_registry.replace_entries(store, entries)
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRequest(
                f"Invalid routing-registry entry: {exc}.", "InvalidRequestContent", target="value"
            ) from None
        return {"value": routing_registry.entries(store)}

    async def list_route_filter_authorizations(request: Request, _: Principal) -> Any:
        return {"value": [{"subscriptionId": s} for s in bgp.authorized_subscriptions(store)]}

    async def authorize_route_filters(request: Request, _: Principal) -> Any:
        """Clear a subscription for the Office 365 communities in route filters (Microsoft's approval)."""
        data = await admin.body(request)
        sub = data.get("subscriptionId")
        if not isinstance(sub, str) or not sub:
            raise BadRequest("'subscriptionId' is required.", "InvalidRequestContent", target="subscriptionId")
        if store.find("subscriptions", id=sub.lower()) is None:
            raise NotFound(
                f"The subscription '{sub}' could not be found.", "SubscriptionNotFound", target="subscriptionId"
            )
        changed = bgp.set_authorized(store, sub, True)
        return JSONResponse({"subscriptionId": sub.lower(), "authorized": True}, 201 if changed else 200)

    async def revoke_route_filters(request: Request, _: Principal) -> Any:
        sub = request.path_params["subscriptionId"]
        if not bgp.set_authorized(store, sub, False):
            raise NotFound(
                f"The subscription '{sub}' is not authorized for Office 365 route filter communities.",
                "RouteFilterAuthorizationNotFound",
                target="subscriptionId",
            )
        return {"subscriptionId": sub.lower(), "authorized": False}

    admin.add("GET", "/service-providers", list_providers)
    admin.add("PUT", "/service-providers/{name}", put_provider)
    admin.add("GET", "/routing-registry", get_registry)
    admin.add("PUT", "/routing-registry", put_registry)
    admin.add("GET", "/route-filter-authorizations", list_route_filter_authorizations)
    admin.add("POST", "/route-filter-authorizations", authorize_route_filters)
    admin.add("DELETE", "/route-filter-authorizations/{subscriptionId}", revoke_route_filters)
