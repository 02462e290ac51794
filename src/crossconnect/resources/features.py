"""Microsoft.Features: subscription preview features, some of which need approval.

A feature that needs approval goes ``Pending`` on register and stays there until the
operator approves (``Registered``) or denies (back to ``NotRegistered``) it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossconnect import clock
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.resources.api_versions import FEATURES_VERSIONS
from crossconnect.store import Store


@dataclass(frozen=True)
class Feature:
    namespace: str
    name: str
    needs_approval: bool
    description: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}".lower()


# The name of Azure's real test-locations flag is not published; this is ours (README says so).
TEST_LOCATIONS = Feature(
    "Microsoft.Network",
    "AllowExpressRouteTestPeeringLocations",
    True,
    "Exposes the test peering locations (dummy devices and ports) to this subscription.",
)

CATALOG: list[Feature] = [
    TEST_LOCATIONS,
    Feature("Microsoft.Network", "AllowExpressRoutePorts", True, "ExpressRoute Direct ports."),
    Feature("Microsoft.Network", "AllowExpressRouteIPv6MicrosoftPeering", False, "IPv6 on Microsoft peering."),
]

VERSIONS = ApiVersions.of(FEATURES_VERSIONS)


def find_feature(namespace: str, name: str) -> Feature | None:
    key = f"{namespace}/{name}".lower()
    return next((f for f in CATALOG if f.key == key), None)


def feature_state(store: Store, subscription_id: str, feature: Feature) -> str:
    row = store.find("feature_registrations", subscription_id=subscription_id.lower(), feature_key=feature.key)
    if row is None:
        return "NotRegistered"
    if row["state"] in ("Registering", "Unregistering") and row["due_at"] <= clock.now():
        final = "Registered" if row["state"] == "Registering" else "Unregistered"
        set_feature_state(store, subscription_id, feature, final)
        return final
    return str(row["state"])


def is_feature_registered(store: Store, subscription_id: str, feature: Feature) -> bool:
    return feature_state(store, subscription_id, feature) == "Registered"


def set_feature_state(
    store: Store, subscription_id: str, feature: Feature, state: str, delay: float = 0.0, conn: Any = None
) -> None:
    now = clock.now()
    values = {"state": state, "due_at": now + delay, "updated_at": now}
    where = {"subscription_id": subscription_id.lower(), "feature_key": feature.key}
    if store.find("feature_registrations", conn, **where):
        store.update_where("feature_registrations", values, conn, **where)
    else:
        store.insert("feature_registrations", {**where, **values}, conn)


def render_feature(store: Store, subscription_id: str, feature: Feature) -> dict[str, Any]:
    return {
        "properties": {"state": feature_state(store, subscription_id, feature)},
        "id": f"/subscriptions/{subscription_id}/providers/Microsoft.Features/providers/{feature.namespace}/features/{feature.name}",
        "type": "Microsoft.Features/providers/features",
        "name": f"{feature.namespace}/{feature.name}",
    }


def _feature(request: ArmRequest) -> Feature:
    feature = find_feature(request.params["namespace"], request.params["featureName"])
    if feature is None:
        raise NotFound(f"The feature '{request.params['featureName']}' could not be found.", "FeatureNotFound")
    return feature


async def list_all(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    return page_static(request, [render_feature(store, request.subscription_id, f) for f in CATALOG])


async def list_for_provider(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    namespace = request.params["namespace"].lower()
    return page_static(
        request,
        [render_feature(store, request.subscription_id, f) for f in CATALOG if f.namespace.lower() == namespace],
    )


async def get(request: ArmRequest) -> ArmResponse:
    return ArmResponse(200, render_feature(request.services.store, request.subscription_id, _feature(request)))


async def register(request: ArmRequest) -> ArmResponse:
    feature = _feature(request)
    store = request.services.store
    state = feature_state(store, request.subscription_id, feature)
    if state not in ("Registered", "Pending", "Registering"):
        if feature.needs_approval:
            set_feature_state(store, request.subscription_id, feature, "Pending")
        else:
            set_feature_state(
                store, request.subscription_id, feature, "Registering", request.services.settings.operation_delay
            )
    return ArmResponse(200, render_feature(store, request.subscription_id, feature))


async def unregister(request: ArmRequest) -> ArmResponse:
    feature = _feature(request)
    store = request.services.store
    if feature_state(store, request.subscription_id, feature) not in ("NotRegistered", "Unregistered"):
        set_feature_state(
            store, request.subscription_id, feature, "Unregistering", request.services.settings.operation_delay
        )
    return ArmResponse(200, render_feature(store, request.subscription_id, feature))


def endpoints() -> list[Endpoint]:
    out: list[Endpoint] = []
    base = "/subscriptions/{subscriptionId}/providers/Microsoft.Features"
    item = base + "/providers/{namespace}/features/{featureName}"
    out.append(Endpoint("GET", base + "/features", list_all, VERSIONS, "Microsoft.Features/features/read"))
    out.append(
        Endpoint(
            "GET",
            base + "/providers/{namespace}/features",
            list_for_provider,
            VERSIONS,
            "Microsoft.Features/providers/features/read",
        )
    )
    out.append(Endpoint("GET", item, get, VERSIONS, "Microsoft.Features/providers/features/read"))
    out.append(
        Endpoint(
            "POST", item + "/register", register, VERSIONS, "Microsoft.Features/providers/features/register/action"
        )
    )
    out.append(
        Endpoint(
            "POST",
            item + "/unregister",
            unregister,
            VERSIONS,
            "Microsoft.Features/providers/features/unregister/action",
        )
    )
    return out
