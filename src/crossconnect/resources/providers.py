"""Resource providers: list, get, register, unregister (Registering → Registered)."""

from __future__ import annotations

from typing import Any

from crossconnect import clock
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.resources.api_versions import RESOURCES_VERSIONS
from crossconnect.store import Store

# Namespaces that need no registration (ARM's own) are always Registered.
REGISTRATION_FREE = {"microsoft.resources", "microsoft.authorization", "microsoft.features"}

# Namespace → resource types it serves (the types are filled in by the layers that own them).
NAMESPACES: dict[str, dict[str, list[str]]] = {
    "Microsoft.Network": {},
    "Microsoft.Features": {"features": ["2021-07-01", "2015-12-01"], "providers": ["2021-07-01"]},
    "Microsoft.Authorization": {"roleAssignments": ["2022-04-01"], "roleDefinitions": ["2022-04-01"]},
    "Microsoft.Resources": {"resourceGroups": RESOURCES_VERSIONS[-6:], "subscriptions": ["2022-12-01"]},
}

PROVIDER_VERSIONS = ApiVersions.of(RESOURCES_VERSIONS)


def add_resource_type(namespace: str, resource_type: str, versions: list[str]) -> None:
    NAMESPACES.setdefault(namespace, {})[resource_type] = versions


def canonical_namespace(name: str) -> str | None:
    for namespace in NAMESPACES:
        if namespace.lower() == name.lower():
            return namespace
    return None


def registration_state(store: Store, subscription_id: str, namespace: str) -> str:
    key = namespace.lower()
    if key in REGISTRATION_FREE:
        return "Registered"
    subscription = subscription_id.lower()
    # asked on every provider request: the row is remembered until the next write (Store.remembered);
    # the time-driven step below writes, which forgets it
    row = store.remembered(
        ("provider_registration", subscription, key),
        lambda: store.find("provider_registrations", subscription_id=subscription, namespace_key=key),
        "provider_registrations",
    )
    if row is None:
        return "NotRegistered"
    if row["state"] in ("Registering", "Unregistering") and row["due_at"] <= clock.now():
        final = "Registered" if row["state"] == "Registering" else "NotRegistered"
        store.update_where("provider_registrations", {"state": final}, subscription_id=subscription, namespace_key=key)
        return final
    return str(row["state"])


def is_registered(store: Store, subscription_id: str, namespace: str) -> bool:
    return registration_state(store, subscription_id, namespace) == "Registered"


def set_registration(
    store: Store, subscription_id: str, namespace: str, state: str, delay: float = 0.0, conn: Any = None
) -> None:
    key = namespace.lower()
    values = {"state": state, "due_at": clock.now() + delay}
    if store.find("provider_registrations", conn, subscription_id=subscription_id.lower(), namespace_key=key):
        store.update_where(
            "provider_registrations", values, conn, subscription_id=subscription_id.lower(), namespace_key=key
        )
    else:
        store.insert(
            "provider_registrations", {"subscription_id": subscription_id.lower(), "namespace_key": key, **values}, conn
        )


def render_provider(store: Store, subscription_id: str, namespace: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": registration_state(store, subscription_id, namespace),
        "registrationPolicy": "RegistrationFree" if namespace.lower() in REGISTRATION_FREE else "RegistrationRequired",
        "resourceTypes": [
            {
                "resourceType": rtype,
                "locations": [],
                "apiVersions": sorted(versions, reverse=True),
                "capabilities": "None",
            }
            for rtype, versions in sorted(NAMESPACES[namespace].items())
        ],
    }


def resolve_namespace(request: ArmRequest) -> str:
    """The canonical casing of the request's ``{namespace}``, or Azure's 404."""
    return _namespace(request)


def _namespace(request: ArmRequest) -> str:
    namespace = canonical_namespace(request.params["namespace"])
    if namespace is None:
        raise NotFound(
            f"The resource namespace '{request.params['namespace']}' is invalid.", "InvalidResourceNamespace"
        )
    return namespace


async def list_providers(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    return page_static(request, [render_provider(store, request.subscription_id, ns) for ns in sorted(NAMESPACES)])


async def get_provider(request: ArmRequest) -> ArmResponse:
    return ArmResponse(200, render_provider(request.services.store, request.subscription_id, _namespace(request)))


async def register(request: ArmRequest) -> ArmResponse:
    namespace = _namespace(request)
    store = request.services.store
    if namespace.lower() not in REGISTRATION_FREE and not is_registered(store, request.subscription_id, namespace):
        set_registration(
            store, request.subscription_id, namespace, "Registering", request.services.settings.operation_delay
        )
    return ArmResponse(200, render_provider(store, request.subscription_id, namespace))


async def unregister(request: ArmRequest) -> ArmResponse:
    namespace = _namespace(request)
    store = request.services.store
    if namespace.lower() not in REGISTRATION_FREE:
        set_registration(
            store, request.subscription_id, namespace, "Unregistering", request.services.settings.operation_delay
        )
    return ArmResponse(200, render_provider(store, request.subscription_id, namespace))


def endpoints() -> list[Endpoint]:
    out: list[Endpoint] = []
    base = "/subscriptions/{subscriptionId}/providers"
    out.append(
        Endpoint("GET", base, list_providers, PROVIDER_VERSIONS, "Microsoft.Resources/subscriptions/providers/read")
    )
    out.append(
        Endpoint(
            "GET",
            base + "/{namespace}",
            get_provider,
            PROVIDER_VERSIONS,
            "Microsoft.Resources/subscriptions/providers/read",
        )
    )
    out.append(
        Endpoint(
            "POST",
            base + "/{namespace}/register",
            register,
            PROVIDER_VERSIONS,
            lambda r: f"{r.params['namespace']}/register/action",
        )
    )
    out.append(
        Endpoint(
            "POST",
            base + "/{namespace}/unregister",
            unregister,
            PROVIDER_VERSIONS,
            lambda r: f"{r.params['namespace']}/unregister/action",
        )
    )
    return out
