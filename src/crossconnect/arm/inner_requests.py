"""Requests the server makes on a caller's behalf (a template deployment writing its resources):
routed by resource id to the same endpoint a client's request reaches, authorized by the same
check for the same caller, and run by the same handler — the protocol is not written twice.

The handlers of resource types never wait on anything outside the process (they read and write
the store synchronously), so an inner request runs to completion synchronously: the operation
engine's completers, which call it, are synchronous."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from crossconnect.arm.errors import Conflict, NotFound, authorization_failed
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.protocol import run_to_end
from crossconnect.arm.routing import Router
from crossconnect.arm.services import ArmServices
from crossconnect.identity.tokens import Principal

# Whether a subscription has registered a provider namespace (Microsoft.Resources answers it).
Registered = Callable[[ArmServices, str, str], bool]


class InnerRequests:
    def __init__(self, router: Router, registered: Registered) -> None:
        self.router = router
        self.registered = registered

    def endpoint(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        endpoint, params, _ = self.router.match(method, path)
        if endpoint is None:
            return None
        return endpoint, params

    def call(
        self,
        services: ArmServices,
        principal: Principal,
        method: str,
        path: str,
        api_version: str,
        base_url: str,
        body: Any = None,
    ) -> ArmResponse:
        """``method path`` as ``principal`` would send it; ARM errors are raised as for a client."""
        found = self.endpoint(method, path)
        if found is None:
            raise NotFound(f"The requested path '{path}' was not found.", "NotFound")
        endpoint, params = found
        served = endpoint.api_versions.check(api_version, services.settings.strict_api_versions)
        request = ArmRequest(
            headers={"content-type": "application/json"} if body is not None else {},
            services=services,
            method=method,
            path=path,
            params=params,
            query={"api-version": api_version},
            api_version=api_version,
            served_version=served,
            principal=principal,
            base_url=base_url,
            body_bytes=json.dumps(body).encode() if body is not None else b"",
        )
        action = endpoint.action_for(request)
        scope = endpoint.scope_for(request)
        decision = services.authorizer.check(principal, action, scope, principal.tenant_id)
        if not decision.allowed:
            raise authorization_failed(principal.app_id or principal.object_id, principal.object_id, action, scope)
        namespace = endpoint.namespace
        if namespace is not None and not self.registered(services, request.subscription_id, namespace):
            raise Conflict(
                f"The subscription is not registered to use namespace '{namespace}'.",
                "MissingSubscriptionRegistration",
            )
        return run_to_end(endpoint.handler(request))
