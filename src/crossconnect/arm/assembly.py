"""Build the ARM surface from resource-provider plug-ins (``resources``, ``network``): each gives
its resource types, its extra endpoints and the api-versions of its operation status URLs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crossconnect.arm import operation_status
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.http import Endpoint
from crossconnect.arm.operations import OperationEngine
from crossconnect.arm.resource_type import ResourceType, TypeRegistry, register
from crossconnect.arm.routing import Router
from crossconnect.arm.services import ArmServices


class ResourceProvider(Protocol):
    """What a resource-provider package (its ``registration`` module) gives the protocol."""

    TYPES: list[type[ResourceType]]
    OPERATION_VERSIONS: list[str]

    def endpoints(self) -> list[Endpoint]: ...


def build_router(
    registry: TypeRegistry,
    engine: OperationEngine,
    providers: Sequence[ResourceProvider],
    services: ArmServices | None = None,
) -> Router:
    router = Router()
    for provider in providers:
        for endpoint in provider.endpoints():
            router.add(endpoint)
    # Status URLs are served for any provider namespace: the operation row knows its own type.
    operation_versions = ApiVersions.of(sorted({v for p in providers for v in p.OPERATION_VERSIONS}))
    for cls in (cls for provider in providers for cls in provider.TYPES):
        rtype = registry.add(cls)
        register(router, rtype)
        engine.register(rtype.type_name, rtype)
    # ARM's generic surface over every type (the resource list, tags at any scope) comes last:
    # it needs the registry and the routes above. A plug-in offers it with ``generic_endpoints``.
    for provider in providers:
        generic = getattr(provider, "generic_endpoints", None)
        if generic is not None:
            for endpoint in generic(registry, router):
                router.add(endpoint)
    # Operations that are not a resource type's own (a template deployment): a plug-in offers
    # their completers with ``operation_completers``; they may make requests of their own.
    for provider in providers:
        completers = getattr(provider, "operation_completers", None)
        if completers is not None and services is not None:
            for type_name, completer in completers(services, router).items():
                engine.register(type_name, completer)
    for endpoint in operation_status.endpoints(engine, operation_versions):
        router.add(endpoint)
    return router
