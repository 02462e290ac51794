"""Build the ARM surface: the router with the core types, and every registered resource type."""

from __future__ import annotations

from crossconnect.arm import features, providers, role_assignments, role_definitions, subscriptions
from crossconnect.arm.api_versions import NETWORK_VERSIONS, RESOURCES_VERSIONS, ApiVersions
from crossconnect.arm.http import ArmRequest, Endpoint
from crossconnect.arm.operations import OperationEngine
from crossconnect.arm.resource_groups import ResourceGroups
from crossconnect.arm.resource_type import ResourceType, TypeRegistry, register
from crossconnect.arm.routing import Router
from crossconnect.authz import scopes

# Status URLs are served for any provider namespace: the operation row knows its own type.
_OPERATION_VERSIONS = ApiVersions.of(sorted(set(NETWORK_VERSIONS) | set(RESOURCES_VERSIONS)))


def _operation_scope(request: ArmRequest) -> str:
    """Status URLs sit at subscription level, but an operation is read with the caller's rights
    on the resource it is about (a Contributor on one resource group polls its own writes). An
    operation on a record kept in another subscription (the one peering record of a circuit lives
    under the customer's circuit, also when the partner writes it through its cross connection)
    is authorized at the URL's subscription itself, where holding any role there suffices."""
    op = request.services.store.find("operations", id=request.params["operationId"])
    if op is None:
        return request.path
    if scopes.subscription_of(op["resource_key"]) != request.subscription_id:
        return f"/subscriptions/{request.subscription_id}"
    return str(op["resource_key"])


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
    role_definitions.register_endpoints(router)
    role_assignments.register_endpoints(router)
    classes: list[type[ResourceType]] = [ResourceGroups, *types]
    for cls in classes:
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
            scope=_operation_scope,
        )
    )
    router.add(
        Endpoint(
            "GET",
            base + "/operationResults/{operationId}",
            engine.result,
            _OPERATION_VERSIONS,
            lambda r: f"{r.params['namespace']}/locations/operationResults/read",
            scope=_operation_scope,
        )
    )
    return router
