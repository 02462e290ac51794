"""Azure AD endpoints: OpenID discovery, JWKS, and the v2 and v1 token endpoints.

Errors follow Azure AD: ``{"error": "invalid_client", "error_description": "AADSTS7000215: ...",
"error_codes": [7000215], ...}`` with HTTP 400 or 401.

Client authentication is throttled (``identity.throttle``, counted in the store for every
replica): after ``CLIENT_FAILURE_LIMIT`` failed authentications of one client (its secret or
certificate assertion refused), or ``SOURCE_FAILURE_LIMIT`` from one source address (unknown
client ids included), within a minute, the token endpoint answers 429 with ``Retry-After`` and
Azure AD's error body until the oldest of them is a minute old — before anything is hashed, and
whatever the request carries (the right secret too). Secrets are hashed off the event loop.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crossconnect import clock
from crossconnect.identity import client_certificates, throttle
from crossconnect.identity.directory import Directory
from crossconnect.identity.errors import AadError, read_form
from crossconnect.identity.errors import missing as _missing
from crossconnect.identity.signin import USER_GRANTS, UserSignIn
from crossconnect.identity.throttle import source_address
from crossconnect.identity.tokens import GRAPH_AUDIENCE, TokenService, canonical_resource, resource_from_scope

MULTI_TENANT_ALIASES = frozenset({"common", "organizations", "consumers"})
CLIENT_FAILURE_LIMIT = 10  # failed authentications of one client (tenant + client id) per minute
SOURCE_FAILURE_LIMIT = 30  # failed client authentications from one source address per minute


def base_url(request: Request) -> str:
    """The server's own origin as the client addressed it (127.0.0.1, localhost, ...)."""
    host = request.headers.get("host")
    return f"https://{host if host else request.url.netloc}"


class AadEndpoints:
    def __init__(self, directory: Directory, tokens: TokenService, users: UserSignIn | None = None) -> None:
        self.directory = directory
        self.tokens = tokens
        self.users = users or UserSignIn(directory.store, directory, tokens)
        self.client_failures = throttle.FailureThrottle(directory.store, "client", CLIENT_FAILURE_LIMIT)
        self.source_failures = throttle.FailureThrottle(directory.store, "source", SOURCE_FAILURE_LIMIT)
        # check, verify and count one client authentication at a time in this process, so that a
        # burst of wrong secrets cannot all pass the check before the first of them is counted
        self._authenticating = asyncio.Lock()
        # where the store runs blocking work: the token endpoint's reads and writes go there (a
        # pool thread on PostgreSQL, so a sign-in waiting on the database holds up no other request)
        self._calls = directory.store.calls

    def routes(self) -> list[Route]:
        return [
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.openid_configuration, methods=["GET"]),
            Route("/{tenant}/.well-known/openid-configuration", self.openid_configuration, methods=["GET"]),
            Route("/{tenant}/discovery/v2.0/keys", self.jwks, methods=["GET"]),
            Route("/{tenant}/discovery/keys", self.jwks, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token_v2, methods=["POST"]),
            Route("/{tenant}/oauth2/token", self.token_v1, methods=["POST"]),
            *self.users.routes(),
        ]

    def _tenant(self, request: Request) -> dict[str, Any]:
        name = request.path_params["tenant"]
        tenant = self.directory.find_tenant(name)
        if tenant is None:
            raise AadError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing "
                "into the correct cloud.",
            )
        return tenant

    async def openid_configuration(self, request: Request) -> JSONResponse:
        name = request.path_params["tenant"].lower()
        if name in MULTI_TENANT_ALIASES:
            # MSAL discovers these when signing out (`az logout` uses "organizations"); as on Azure
            # AD the issuer then carries a {tenantid} placeholder. Tokens still need a real tenant.
            tenant = {"id": name}
            issuer_tenant = "{tenantid}"
        else:
            try:
                tenant = await self._calls.run(self._tenant, request)
            except AadError as exc:
                return exc.response()
            issuer_tenant = tenant["id"]
        base, tid = base_url(request), tenant["id"]
        return JSONResponse(
            {
                # the issuer tokens carry (the configured public URL); the endpoints are where this
                # client reached the server
                "issuer": self.tokens.issuer(issuer_tenant),
                "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
                "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid"],
                "tenant_region_scope": "NA",
                "cloud_instance_name": "crossconnect.local",
            }
        )

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(await self._calls.run(self.tokens.keys.jwks))

    async def token_v2(self, request: Request) -> JSONResponse:
        try:
            tenant = await self._calls.run(self._tenant, request)
            form = await _form(request)
            if form.get("grant_type") in USER_GRANTS:  # a user signing in (authorization code, device code)
                return JSONResponse(await self._calls.run(self.users.grant, request, tenant, form))
            scope = form.get("scope")
            if not scope:
                raise _missing("scope")
            resource = resource_from_scope(scope)
            if resource is None:
                raise AadError(
                    400,
                    "invalid_scope",
                    70011,
                    f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
                )
            token, lifetime = await self._grant(request, tenant, form, resource)
        except AadError as exc:
            return exc.response()
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
        )

    async def token_v1(self, request: Request) -> JSONResponse:
        try:
            tenant = await self._calls.run(self._tenant, request)
            form = await _form(request)
            resource = form.get("resource")
            if not resource:
                raise _missing("resource")
            token, lifetime = await self._grant(request, tenant, form, resource)
        except AadError as exc:
            return exc.response()
        now = int(clock.now())
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": str(lifetime),
                "ext_expires_in": str(lifetime),
                "expires_on": str(now + lifetime),
                "not_before": str(now),
                "resource": resource,
                "access_token": token,
            }
        )

    async def _grant(
        self, request: Request, tenant: dict[str, Any], form: dict[str, str], resource: str
    ) -> tuple[str, int]:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _missing("grant_type")
        if grant_type != "client_credentials":
            raise AadError(
                400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
            )
        client_id = form.get("client_id")
        if not client_id:
            raise _missing("client_id")
        audience = canonical_resource(resource)
        if audience is None and resource.rstrip("/").lower() == base_url(request).lower():
            # This server is also the cloud's Microsoft Graph: its metadata names the server's own
            # origin as ``microsoftGraphResourceId``, which the Azure CLI asks tokens for.
            audience = GRAPH_AUDIENCE
        if audience is None:
            raise AadError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named {tenant['display_name']}. "
                "This can happen if the application has not been installed by the administrator of the tenant.",
            )
        calls = self._calls
        source_key = self.source_failures.key(source_address(request))
        await calls.run(self._check_source, source_key)
        principal = await calls.run(self.directory.find_service_principal, tenant["id"], client_id)
        if principal is None:
            await calls.run(throttle.count, self.directory.store, source_key)
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant['display_name']}'. "
                "This can happen if the application has not been installed by the administrator of the tenant or "
                "consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        assertion = form.get("client_assertion")
        secret = form.get("client_secret")
        if not assertion and not secret:
            raise AadError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            )
        client_key = self.client_failures.key(tenant["id"], principal["app_id"])
        async with self._authenticating:
            await calls.run(self._check_source, source_key)
            wait = await calls.run(self.client_failures.wait, client_key)
            if wait:
                raise throttle.throttled(
                    wait, f"Too many failed authentications of application '{client_id}' in the last minute."
                )
            try:
                if assertion:
                    await calls.run(self._check_assertion, request, tenant, form, principal["app_id"], assertion)
                elif not await self.directory.check_secret(principal["app_id"], secret or ""):
                    raise AadError(
                        401,
                        "invalid_client",
                        7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                        f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
                    )
            except AadError as exc:
                if exc.status == 401:  # the client failed to authenticate (not a malformed request)
                    await calls.run(throttle.count, self.directory.store, source_key, client_key)
                raise
        return await calls.run(
            functools.partial(
                self.tokens.issue,
                tenant_id=tenant["id"],
                object_id=principal["object_id"],
                app_id=principal["app_id"],
                audience=audience,
            )
        )

    def _check_source(self, source_key: str) -> None:
        wait = self.source_failures.wait(source_key)
        if wait:
            raise throttle.throttled(
                wait, "Too many failed client authentications from this address in the last minute."
            )

    def _check_assertion(
        self, request: Request, tenant: dict[str, Any], form: dict[str, str], app_id: str, assertion: str
    ) -> None:
        """Certificate credentials: the assertion must be signed by a certificate of the application
        and addressed to this token endpoint (by tenant id or domain, v1 or v2)."""
        if form.get("client_assertion_type") != client_certificates.JWT_BEARER:
            raise AadError(
                400,
                "invalid_request",
                700022,
                "The client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
            )
        base = base_url(request).lower()
        names = {tenant["id"], tenant["domain"], request.path_params["tenant"].lower()}
        audiences = {f"{base}/{n}/oauth2/{v}token" for n in names for v in ("v2.0/", "")}
        credentials = self.directory.credentials(app_id, "certificate")
        try:
            client_certificates.verify_assertion(assertion, app_id, credentials, audiences)
        except client_certificates.AssertionRejected as exc:
            raise AadError(401, "invalid_client", exc.code, exc.description) from None


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in content_type and "multipart/form-data" not in content_type:
        raise AadError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'. "
            "(The body must be application/x-www-form-urlencoded.)",
        )
    return await read_form(request)
