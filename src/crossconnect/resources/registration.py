"""Everything the Microsoft.Resources, Microsoft.Features and Microsoft.Authorization layer
contributes to ARM: its resource types (one line each) and its extra endpoints. It plugs into
``arm.assembly.build_router`` exactly as ``network.registration`` does."""

from __future__ import annotations

from crossconnect.arm.http import Endpoint
from crossconnect.arm.resource_type import ResourceType
from crossconnect.resources import features, providers, role_assignments, role_definitions, subscriptions
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
    ]
