"""The ARM protocol, written once: authentication, api-version, routing, subscription and
registration checks, authorization, the error envelope and the standard response headers."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from crossconnect.arm.errors import (
    ArmError,
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    authorization_failed,
    subscription_not_found,
)
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint, check_body_size
from crossconnect.arm.routing import Router
from crossconnect.arm.services import ArmServices
from crossconnect.identity.endpoints import base_url
from crossconnect.identity.tokens import ARM_AUDIENCES, Principal, TokenError

log = logging.getLogger("crossconnect.arm")


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def registration_error(namespace: str) -> Conflict:
    message = (
        f"The subscription is not registered to use namespace '{namespace}'. "
        "See https://aka.ms/rps-not-found for how to register subscriptions."
    )
    return Conflict(
        message,
        "MissingSubscriptionRegistration",
        details=[{"code": "MissingSubscriptionRegistration", "target": namespace, "message": message}],
    )


class ArmProtocol:
    def __init__(self, services: ArmServices, router: Router) -> None:
        self.services = services
        self.router = router

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        correlation = (
            request.headers.get("x-ms-correlation-request-id")
            or request.headers.get("x-ms-client-request-id")
            or request_id
        )
        headers = {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": correlation,
            "x-ms-routing-request-id": f"LOCAL:{request_id}",
        }
        if request.method in ("GET", "HEAD"):
            headers["x-ms-ratelimit-remaining-subscription-reads"] = "11999"
        else:
            headers["x-ms-ratelimit-remaining-subscription-writes"] = "1199"
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id:
            headers["x-ms-client-request-id"] = client_request_id
        try:
            try:
                result = await self._handle(request)
            except ArmError:
                raise
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                raise ArmError(
                    f"The server encountered an internal error. Request id: {request_id}.", "InternalServerError"
                ) from None
        except ArmError as exc:
            headers.update(exc.headers)
            if exc.status == 401:
                headers["WWW-Authenticate"] = (
                    f'Bearer authorization_uri="{base_url(request)}/common", error="invalid_token", '
                    f'error_description="{exc.message.replace(chr(34), chr(39))}"'
                )
            log.info("%s %s -> %s %s", request.method, request.url.path, exc.status, exc.code)
            return Response(_json(exc.body()), exc.status, headers, media_type="application/json")
        headers.update(result.headers)
        if result.body is None:
            return Response(b"", result.status, headers)
        if request.method == "HEAD":  # HEAD answers 204 (exists) or the error status
            return Response(b"", 204 if result.status == 200 else result.status, headers)
        return Response(_json(result.body), result.status, headers, media_type="application/json")

    async def _handle(self, request: Request) -> ArmResponse:
        principal = self._authenticate(request)
        api_version = request.query_params.get("api-version")
        if not api_version:
            raise BadRequest(
                "The api-version query parameter (?api-version=) is required for all requests.",
                "MissingApiVersionParameter",
            )
        method = request.method
        path = request.scope["path"]  # request.url would rebuild the whole URL each time
        endpoint, params, allowed = self.router.match("GET" if method == "HEAD" else method, path)
        if endpoint is None and method == "HEAD":
            endpoint, params, allowed = self.router.match("HEAD", path)
        if endpoint is None:
            if allowed:
                raise MethodNotAllowed(
                    f"The requested resource does not support http method '{method}'.", "MethodNotAllowed"
                )
            raise self._not_found(path, api_version)
        served = endpoint.api_versions.check(api_version, self.services.settings.strict_api_versions)
        length = int(request.headers.get("content-length") or 0)
        check_body_size(length)
        body = await request.body() if method in ("PUT", "PATCH", "POST") else b""
        check_body_size(len(body))
        arm_request = ArmRequest(
            http=request,
            services=self.services,
            method=method,
            path=path,
            params=params,
            query=dict(request.query_params),
            api_version=api_version,
            served_version=served,
            principal=principal,
            base_url=base_url(request),
            body_bytes=body,
        )
        if endpoint.needs_subscription:
            self._check_subscription(arm_request, endpoint)
        return await endpoint.handler(arm_request)

    def _authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if not header:
            raise Unauthorized("Authentication failed. The 'Authorization' header is missing.", "AuthenticationFailed")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                "AuthenticationFailed",
            )
        try:
            return self.services.tokens.verify(token.strip(), ARM_AUDIENCES)
        except TokenError as exc:
            raise Unauthorized(exc.message, exc.code) from None

    def _check_subscription(self, request: ArmRequest, endpoint: Endpoint) -> None:
        store = self.services.store
        subscription = store.find("subscriptions", id=request.subscription_id)
        if subscription is None:
            raise subscription_not_found(request.params["subscriptionId"])
        principal = request.principal
        if principal.tenant_id != subscription["tenant_id"]:
            raise Unauthorized(
                f"The access token is from the wrong issuer '{request.base_url}/{principal.tenant_id}/v2.0'. "
                f"It must match the tenant '{request.base_url}/{subscription['tenant_id']}/v2.0' associated with "
                f"this subscription. Please use the authority (URL) '{request.base_url}/{subscription['tenant_id']}' "
                "to get the token. Note, if the subscription is transferred to another tenant there is no impact to "
                "the services, but information about new tenant could take time to propagate (up to an hour). If you "
                "just transferred your subscription and see this error message, please try back later.",
                "InvalidAuthenticationTokenTenant",
            )
        if subscription["state"] not in ("Enabled", "Warned", "PastDue") and request.method != "GET":
            raise Conflict(
                f"The subscription '{request.params['subscriptionId']}' is disabled and therefore marked as read only. "
                "You cannot perform any write actions on this subscription until it is re-enabled.",
                "ReadOnlyDisabledSubscription",
            )
        # Authorization before provider registration: a caller without access learns nothing else.
        action = endpoint.action_for(request)
        scope = endpoint.scope_for(request)
        decision = self.services.authorizer.check(principal, action, scope, subscription["tenant_id"])
        if not decision.allowed:
            raise authorization_failed(principal.app_id or principal.object_id, principal.object_id, action, scope)
        if endpoint.namespace is not None:
            from crossconnect.arm.providers import is_registered

            if not is_registered(store, request.subscription_id, endpoint.namespace):
                raise registration_error(endpoint.namespace)

    def _not_found(self, path: str, api_version: str) -> ArmError:
        segments = [s for s in path.strip("/").split("/") if s]
        lowered = [s.lower() for s in segments]
        if "providers" in lowered:
            i = len(lowered) - 1 - lowered[::-1].index("providers")
            if i + 2 < len(segments):
                namespace, rtype = segments[i + 1], segments[i + 2]
                return NotFound(
                    f"The resource type '{rtype}' could not be found in the namespace '{namespace}' for api version "
                    f"'{api_version}'.",
                    "InvalidResourceType",
                )
        return NotFound(f"The requested path '{path}' was not found.", "NotFound")
