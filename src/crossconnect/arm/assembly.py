"""Build the ARM surface: the router with the core types, and every registered resource type."""

from __future__ import annotations

from crossconnect.arm import features, providers, subscriptions
from crossconnect.arm.api_versions import NETWORK_VERSIONS, RESOURCES_VERSIONS, ApiVersions
from crossconnect.arm.http import Endpoint
from crossconnect.arm.operations import OperationEngine
from crossconnect.arm.resource_groups import ResourceGroups
from crossconnect.arm.resource_type import ResourceType, TypeRegistry, register
from crossconnect.arm.routing import Router

# Status URLs are served for any provider namespace: the operation row knows its own type.
_OPERATION_VERSIONS = ApiVersions.of(sorted(set(NETWORK_VERSIONS) | set(RESOURCES_VERSIONS)))


def build_router(
    registry: TypeRegistry,
    engine: OperationEngine,
    types: list[type[ResourceType]],
    endpoints: list[Endpoint] | None = None,
) -> Router:
    router = Router()
    for endpoint in endpoints or []:
        router.add(endpoint)
    subscriptions.register_endpoints(router)
    providers.register_endpoints(router)
    features.register_endpoints(router)
    for cls in [ResourceGroups, *types]:
        rtype = registry.add(cls)
        register(router, rtype)
        engine.register(rtype.type_name, rtype)
    base = "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}"
    router.add(
        Endpoint(
            "GET",
            base + "/operations/{operationId}",
            engine.status,
            _OPERATION_VERSIONS,
            lambda r: f"{r.params['namespace']}/locations/operations/read",
        )
    )
    router.add(
        Endpoint(
            "GET",
            base + "/operationResults/{operationId}",
            engine.result,
            _OPERATION_VERSIONS,
            lambda r: f"{r.params['namespace']}/locations/operationResults/read",
        )
    )
    return router
