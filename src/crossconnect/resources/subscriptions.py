"""Subscriptions and tenants (what ``az login`` reads)."""

from __future__ import annotations

from typing import Any

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import subscription_not_found
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page
from crossconnect.arm.tags_at_scope import subscription_tags
from crossconnect.resources.api_versions import SUBSCRIPTIONS_VERSIONS

VERSIONS = ApiVersions.of(SUBSCRIPTIONS_VERSIONS)


def render_subscription(row: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    out = {
        "id": f"/subscriptions/{row['id']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": row["id"],
        "tenantId": row["tenant_id"],
        "displayName": row["display_name"],
        "state": row["state"],
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "Internal_2014-09-01",
            "spendingLimit": "Off",
        },
    }
    if tags:  # written through {subscription}/providers/Microsoft.Resources/tags/default
        out["tags"] = tags
    return out


async def list_subscriptions(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    principal = request.principal
    authorizer = request.services.authorizer

    def fetch(after: int, limit: int) -> list[dict[str, Any]]:
        # Filter before limiting, so that a page is full whenever more visible items exist.
        rows = store.find_all("subscriptions", after_seq=after, tenant_id=principal.tenant_id)
        return [r for r in rows if authorizer.can_see_subscription(principal, r["id"], r["tenant_id"])][:limit]

    return page(request, fetch, lambda row: render_subscription(row, subscription_tags(store, row["id"])))


async def get_subscription(request: ArmRequest) -> ArmResponse:
    row = request.services.store.find("subscriptions", id=request.subscription_id)
    if row is None:
        raise subscription_not_found(request.params["subscriptionId"])
    return ArmResponse(200, render_subscription(row, subscription_tags(request.services.store, row["id"])))


async def list_tenants(request: ArmRequest) -> ArmResponse:
    directory = request.services.directory
    tenant = directory.find_tenant(request.principal.tenant_id)
    items = []
    if tenant is not None:
        items.append(
            {
                "id": f"/tenants/{tenant['id']}",
                "tenantId": tenant["id"],
                "tenantCategory": "Home",
                "displayName": tenant["display_name"],
                "defaultDomain": tenant["domain"],
                "domains": [tenant["domain"]],
                "tenantType": "AAD",
            }
        )
    return ArmResponse(200, {"value": items})


async def list_locations(request: ArmRequest) -> ArmResponse:
    from crossconnect.resources.locations import LOCATIONS

    return ArmResponse(
        200,
        {
            "value": [
                {
                    "id": f"/subscriptions/{request.subscription_id}/locations/{name}",
                    "name": name,
                    "displayName": display,
                    "regionalDisplayName": f"({geo}) {display}",
                    "type": "Region",
                    "metadata": {"regionType": "Physical", "geographyGroup": geo},
                }
                for name, display, geo in LOCATIONS
            ]
        },
    )


def endpoints() -> list[Endpoint]:
    out: list[Endpoint] = []
    out.append(
        Endpoint(
            "GET",
            "/subscriptions",
            list_subscriptions,
            VERSIONS,
            "Microsoft.Resources/subscriptions/read",
            needs_subscription=False,
        )
    )
    out.append(
        Endpoint(
            "GET",
            "/subscriptions/{subscriptionId}",
            get_subscription,
            VERSIONS,
            "Microsoft.Resources/subscriptions/read",
        )
    )
    out.append(
        Endpoint(
            "GET",
            "/subscriptions/{subscriptionId}/locations",
            list_locations,
            VERSIONS,
            "Microsoft.Resources/subscriptions/locations/read",
        )
    )
    out.append(
        Endpoint(
            "GET", "/tenants", list_tenants, VERSIONS, "Microsoft.Resources/tenants/read", needs_subscription=False
        )
    )
    return out
