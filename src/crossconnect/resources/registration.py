"""Everything the Microsoft.Resources, Microsoft.Features and Microsoft.Authorization layer
contributes to ARM: its resource types (one line each) and its extra endpoints. It plugs into
``arm.assembly.build_router`` exactly as ``network.registration`` does."""

from __future__ import annotations

from crossconnect.arm import generic_resources, tags_at_scope
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.http import Endpoint
from crossconnect.arm.resource_type import ResourceType, TypeRegistry
from crossconnect.arm.routing import Router
from crossconnect.resources import (
    features,
    providers,
    role_assignments,
    role_definitions,
    subscriptions,
    tags,
    tenant_providers,
)
from crossconnect.resources.api_versions import RESOURCES_VERSIONS
from crossconnect.resources.resource_groups import ResourceGroups

TYPES: list[type[ResourceType]] = [ResourceGroups]

# Operation status URLs under /providers/Microsoft.Resources/… accept these versions.
OPERATION_VERSIONS = RESOURCES_VERSIONS


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
    return [*generic_resources.endpoints(registry, versions), *tags_at_scope.endpoints(registry, router, versions)]
