"""The ARM protocol, written once: authentication, api-version, routing, subscription and
registration checks, authorization, the error envelope and the standard response headers.

``ArmProtocol`` is a plain ASGI application. Every ARM request passes through it, so it reads the
ASGI scope and writes the response messages itself: Starlette's ``Request``/``Response`` objects
and middleware cost more per request than the rest of a resource GET (see bench/README.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from crossconnect import entropy
from crossconnect.arm.errors import (
    ArmError,
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    authorization_failed,
    stored_value_refused,
    subscription_not_found,
)
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint, check_body_size, encode_json, payload_too_large
from crossconnect.arm.routing import Router
from crossconnect.arm.services import ArmServices
from crossconnect.identity.tokens import ARM_AUDIENCES, Principal, TokenError
from crossconnect.limits import BodyTooLarge, limited_receive
from crossconnect.store import InvalidValue, NotRemembered, Store

log = logging.getLogger("crossconnect.arm")

T = TypeVar("T")

_JSON = (b"content-type", b"application/json")
_READS_LEFT = (b"x-ms-ratelimit-remaining-subscription-reads", b"11999")
_WRITES_LEFT = (b"x-ms-ratelimit-remaining-subscription-writes", b"1199")


# A random (version 4) GUID, as Azure's request ids are (``entropy``: seeded with --seed).
new_request_id = entropy.request_id


def parse_query(query_string: bytes) -> dict[str, str]:
    """The query as a dict, last value winning, blank values kept (as Starlette's QueryParams).
    Plain ``a=b&c=d`` strings, nearly every ARM request, skip ``parse_qsl``'s unquoting."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    query: dict[str, str] = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            query[name] = value
    return query


def request_headers(scope: Scope) -> dict[str, str]:
    """Request headers by (lowercase) name; of repeated headers the first one counts."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(scope["headers"])}


def origin(scope: Scope, headers: dict[str, str]) -> str:
    """The server's own origin as the client addressed it (127.0.0.1, localhost, ...)."""
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 443)
        host = f"{server[0]}:{server[1]}"
    return f"https://{host}"


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


class _Disconnected(Exception):
    """The client went away while sending its body: nobody is left to answer."""


# Whether a subscription has registered a resource provider namespace (Microsoft.Resources
# answers it; the protocol only asks).
ProviderRegistered = Callable[[Store, str, str], bool]


class ArmProtocol:
    def __init__(self, services: ArmServices, router: Router, provider_registered: ProviderRegistered) -> None:
        self.services = services
        self.router = router
        self.provider_registered = provider_registered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        method = scope["method"]
        request_id = new_request_id()
        correlation = headers.get("x-ms-correlation-request-id") or headers.get("x-ms-client-request-id") or request_id
        response_headers = [
            (b"x-ms-request-id", request_id.encode()),
            (b"x-ms-correlation-request-id", correlation.encode("latin-1")),
            (b"x-ms-routing-request-id", f"LOCAL:{request_id}".encode()),
            _READS_LEFT if method in ("GET", "HEAD") else _WRITES_LEFT,
        ]
        client_request_id = headers.get("x-ms-client-request-id")
        if client_request_id:
            response_headers.append((b"x-ms-client-request-id", client_request_id.encode("latin-1")))
        try:
            try:
                result = await self._handle(scope, receive, headers)
            except (ArmError, _Disconnected):
                raise
            except InvalidValue as exc:  # the store's last line: a value neither backend can keep
                raise stored_value_refused(exc) from None
            except Exception:
                log.exception("unhandled error on %s %s", method, scope["path"])
                raise ArmError(
                    f"The server encountered an internal error. Request id: {request_id}.", "InternalServerError"
                ) from None
        except _Disconnected:
            return
        except ArmError as exc:
            extra = dict(exc.headers)
            if exc.status == 401:
                extra["WWW-Authenticate"] = (
                    f'Bearer authorization_uri="{origin(scope, headers)}/common", error="invalid_token", '
                    f'error_description="{exc.message.replace(chr(34), chr(39))}"'
                )
            log.info("%s %s -> %s %s", method, scope["path"], exc.status, exc.code)
            await _respond(send, exc.status, response_headers, extra, encode_json(exc.body()), json=True)
            return
        if result.body is None:
            await _respond(send, result.status, response_headers, result.headers, b"")
        elif method == "HEAD":  # HEAD answers 204 (exists) or the error status
            await _respond(send, 204 if result.status == 200 else result.status, response_headers, result.headers, b"")
        else:
            encoded = result.encoded if result.encoded is not None else encode_json(result.body)
            await _respond(send, result.status, response_headers, result.headers, encoded, json=True)

    async def _handle(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> ArmResponse:
        principal = self._authenticate(headers)
        query = parse_query(scope["query_string"])
        api_version = query.get("api-version")
        if not api_version:
            raise BadRequest(
                "The api-version query parameter (?api-version=) is required for all requests.",
                "MissingApiVersionParameter",
            )
        method = scope["method"]
        path = scope["path"]
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
        declared = int(headers.get("content-length") or 0)
        check_body_size(declared)  # an announced size over the limit: refused before anything is read
        arm_request = ArmRequest(
            headers=headers,
            services=self.services,
            method=method,
            path=path,
            params=params,
            query=query,
            api_version=api_version,
            served_version=served,
            principal=principal,
            base_url=origin(scope, headers),
            body_bytes=b"",
        )
        # The checks and the handler read and write the store: they run where the store runs
        # blocking work (``Store.calls``: threads on PostgreSQL, so a request waiting on the
        # database holds up no other), each within ``fresh_reads`` (what may be served from memory).
        store = self.services.store
        calls = store.calls
        if method in ("PUT", "PATCH", "POST"):
            checked = endpoint.needs_subscription
            if checked:
                # PostgreSQL: the checks are made from memory on the event loop when they can be
                # (``_from_memory``); the write itself always runs where the store runs it
                fresh, passed = await self._from_memory(lambda: self._passes_checks(arm_request, endpoint))
                if passed is None:
                    await calls.run(self._checked, arm_request, endpoint, fresh)
            # the body is read only once the caller may make this request (authorization above)
            arm_request.body_bytes = await _read_body(receive, declared)
            return await calls.run(self._served, arm_request, endpoint, False, checked)
        check = endpoint.needs_subscription
        if endpoint.reads_only_store:
            checked_here, answer = await self._from_memory(lambda: self._serve(arm_request, endpoint, check))
            if answer is not None:
                return answer
            return await calls.run(self._served, arm_request, endpoint, check, checked_here)
        return await calls.run(self._served, arm_request, endpoint, check, False)

    async def _from_memory(self, work: Callable[[], T]) -> tuple[bool, T | None]:
        """PostgreSQL: ``work()`` right here on the event loop, after the generation check made
        here, when every row it reads is remembered (the thread hop and a blocking driver call
        cost more than the rest of a remembered GET, or of a write's checks). Returns whether the
        check was made (work started again on a thread need not make it again) and ``work``'s
        result, None when it must run on a thread: SQLite (store work runs inline anyway), a check
        that could not be made here, or a row it would have to read (``NotRemembered``: nothing
        was written, the work starts again from the beginning)."""
        store = self.services.store
        if store.is_sqlite or not await store.fresh_on_loop():
            return False, None
        try:
            with store.memory_only():
                return True, work()
        except NotRemembered:
            return True, None

    def _passes_checks(self, request: ArmRequest, endpoint: Endpoint) -> bool:
        self._check_subscription(request, endpoint)  # (raises the ARM error of a check that fails)
        return True

    def _checked(self, request: ArmRequest, endpoint: Endpoint, fresh: bool) -> None:
        # fresh: the generation check was made on the event loop for this request already
        with self.services.store.fresh_reads(checked=fresh):
            self._check_subscription(request, endpoint)

    def _served(self, request: ArmRequest, endpoint: Endpoint, check: bool, fresh: bool) -> ArmResponse:
        # fresh: the request's first step checked what may be served from memory (a second check
        # would only see writes that began after this request did)
        with self.services.store.fresh_reads(checked=fresh):
            return self._serve(request, endpoint, check)

    def _serve(self, request: ArmRequest, endpoint: Endpoint, check: bool) -> ArmResponse:
        if check:
            self._check_subscription(request, endpoint)
        return run_to_end(endpoint.handler(request))

    def _authenticate(self, headers: dict[str, str]) -> Principal:
        header = headers.get("authorization")
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
        subscription_id = request.subscription_id
        subscription = store.remembered(
            ("subscription", subscription_id), lambda: store.find("subscriptions", id=subscription_id), "subscriptions"
        )
        if subscription is None:
            raise subscription_not_found(request.params["subscriptionId"])
        principal = request.principal
        if principal.tenant_id != subscription["tenant_id"]:
            tokens = self.services.tokens
            raise Unauthorized(
                f"The access token is from the wrong issuer '{principal.claims['iss']}'. "
                f"It must match the tenant '{tokens.issuer(subscription['tenant_id'])}' associated with "
                f"this subscription. Please use the authority (URL) '{tokens.issuer_base}/{subscription['tenant_id']}' "
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
        namespace = endpoint.namespace
        if namespace is not None and not self.provider_registered(store, request.subscription_id, namespace):
            raise registration_error(namespace)

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


def run_to_end(handler: Awaitable[ArmResponse]) -> ArmResponse:
    """The result of an ARM handler, run on the calling thread. Handlers are coroutines by
    convention but do their work synchronously (the store is synchronous; ``await`` only calls
    another handler), so the coroutine ends at its first step; one that suspends is a bug."""
    coroutine = cast(Coroutine[Any, Any, ArmResponse], handler)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(ArmResponse, done.value)
    coroutine.close()
    raise RuntimeError("an ARM handler suspended: handlers must not await anything but other handlers")


async def _read_body(receive: Receive, declared: int) -> bytes:
    """The body, counted as it streams in: a client that announced no length (chunked) is
    stopped at the limit too."""
    chunks: list[bytes] = []
    limited = limited_receive(receive, declared)
    while True:
        try:
            message = await limited()
        except BodyTooLarge as exc:
            raise payload_too_large(exc) from None
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    extra: dict[str, str],
    body: bytes,
    *,
    json: bool = False,
) -> None:
    """One response: the standard headers, the handler's own (names lowercased, as Starlette
    sends them), then the content headers."""
    for name, value in extra.items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if status >= 200 and status not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    if json:
        headers.append(_JSON)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
