"""Everything the Microsoft.Resources, Microsoft.Features and Microsoft.Authorization layer
contributes to ARM: its resource types (one line each) and its extra endpoints. It plugs into
``arm.assembly.build_router`` exactly as ``network.registration`` does."""

from __future__ import annotations

from crossconnect.arm import generic_resources, tags_at_scope
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.http import Endpoint
from crossconnect.arm.inner_requests import InnerRequests
from crossconnect.arm.operations import Completer
from crossconnect.arm.resource_type import ResourceType, TypeRegistry
from crossconnect.arm.routing import Router
from crossconnect.arm.services import ArmServices
from crossconnect.resources import (
    features,
    providers,
    role_assignments,
    role_definitions,
    subscriptions,
    tags,
    tenant_providers,
)
from crossconnect.resources.api_versions import DEPLOYMENTS_VERSIONS, RESOURCES_VERSIONS
from crossconnect.resources.deployments import routes as deployments
from crossconnect.resources.deployments.paths import TYPE as DEPLOYMENTS_TYPE
from crossconnect.resources.resource_groups import ResourceGroups

TYPES: list[type[ResourceType]] = [ResourceGroups]

# Operation status URLs under /providers/Microsoft.Resources/… accept these versions.
OPERATION_VERSIONS = RESOURCES_VERSIONS

for _type in ("deployments", "deployments/operations", "deployments/operationStatuses"):
    providers.add_resource_type("Microsoft.Resources", _type, DEPLOYMENTS_VERSIONS[-6:])


def endpoints() -> list[Endpoint]:
    return [
        *subscriptions.endpoints(),
        *providers.endpoints(),
        *features.endpoints(),
        *role_definitions.endpoints(),
        *role_assignments.endpoints(),
        *tenant_providers.endpoints(),
        *tags.endpoints(),
    ]


def generic_endpoints(registry: TypeRegistry, router: Router) -> list[Endpoint]:
    """ARM's surface over every registered type, served under Microsoft.Resources: the generic
    resource list and the tags of any resource (the dispatch itself is written once in ``arm``)."""
    versions = ApiVersions.of(RESOURCES_VERSIONS)
    return [
        *generic_resources.endpoints(registry, versions),
        *tags_at_scope.endpoints(registry, router, versions),
        *deployments.endpoints(_inner_requests(router), ApiVersions.of(DEPLOYMENTS_VERSIONS)),
    ]


def operation_completers(services: ArmServices, router: Router) -> dict[str, Completer]:
    """Template deployments run as operations: each resource is written through ``router``."""
    return {DEPLOYMENTS_TYPE: deployments.DeploymentCompleter(services, _inner_requests(router))}


def _inner_requests(router: Router) -> InnerRequests:
    return InnerRequests(router, lambda services, subscription, namespace: providers.is_registered(
        services.store, subscription, namespace))  # fmt: skip
