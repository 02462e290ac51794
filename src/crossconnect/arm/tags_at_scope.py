"""The tags of one resource as their own resource: ``/{scope}/providers/Microsoft.Resources/tags/default``
(``Tags_GetAtScope``, ``CreateOrUpdateAtScope``, ``UpdateAtScope``, ``DeleteAtScope``).

Nothing here knows a resource type. The scope is routed like any request to the typed GET and
PATCH endpoints, so reading and writing tags runs the type's own strategy: its validation of
tags, its not-found errors, its ETag compare-and-swap (a merge's PATCH carries the ETag the GET
returned, so a concurrent change is never overwritten; a replacement carries none: last writer
wins, as for a PUT of the resource).

Who may use it is Azure's rule: whoever holds ``Microsoft.Resources/tags/<verb>`` at the scope (Tag
Contributor, Contributor), or the resource's own read/write action (a Network Contributor tags its
cross connection). The one enforcement point checks whichever of the two the caller holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.bodies import ArmModel, parse
from crossconnect.arm.errors import BadRequest, PreconditionFailed, invalid_content
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.resource_type import TypeRegistry, validate_tags
from crossconnect.arm.routing import Router
from crossconnect.store import Store

SUFFIX = "/providers/Microsoft.Resources/tags/default"
TEMPLATE = "/subscriptions/{subscriptionId}/{scopePath:path}" + SUFFIX
_OPERATIONS = {"replace": "Replace", "merge": "Merge", "delete": "Delete"}
# Rounds of read-change-write a merge makes before a lost race reaches its caller as 412: each
# round one writer of the record wins, so only a storm of writes to one resource gets there.
_ATTEMPTS = 50


class TagsProperties(ArmModel):
    tags: dict[str, Any] | None = None


class TagsResourceBody(ArmModel):
    properties: TagsProperties
    id: str | None = None
    name: str | None = None
    type: str | None = None


class TagsPatchBody(ArmModel):
    operation: str
    properties: TagsProperties


def subscription_tags_key(subscription_id: str) -> str:
    """Where a subscription's own tags are kept (the store's ``meta``; a subscription row has no
    body). Microsoft.Resources renders them on the subscription."""
    return f"subscription_tags/{subscription_id.lower()}"


def subscription_tags(store: Store, subscription_id: str, conn: Connection | None = None) -> dict[str, str]:
    return dict(store.get_meta(subscription_tags_key(subscription_id), conn) or {})


def _is_subscription(request: ArmRequest) -> bool:
    return not request.params.get("scopePath", "")


def scope_of(request: ArmRequest) -> str:
    rest = request.params.get("scopePath", "")
    return f"/subscriptions/{request.params['subscriptionId']}" + (f"/{rest}" if rest else "")


class ScopeTags:
    def __init__(self, registry: TypeRegistry, router: Router) -> None:
        self.router = router
        self.item_templates = {rtype.item_template for rtype in registry}

    def _typed(self, request: ArmRequest, method: str) -> tuple[Endpoint, dict[str, str]] | None:
        endpoint, params, _ = self.router.match(method, scope_of(request))
        if endpoint is None or endpoint.template not in self.item_templates:
            return None
        return endpoint, params

    def action(self, tags_action: str, typed_method: str) -> Callable[[ArmRequest], str]:
        """The action to authorize: the type's own (read for GET, write otherwise) when the caller
        holds it at the scope, else the tags action (which a denial then names)."""

        def choose(request: ArmRequest) -> str:
            found = self._typed(request, typed_method)
            if found is not None and isinstance(found[0].action, str):
                principal = request.principal
                decision = request.services.authorizer.check(
                    principal, found[0].action, scope_of(request), principal.tenant_id
                )
                if decision.allowed:
                    return found[0].action
            return tags_action

        return choose

    async def _call(self, request: ArmRequest, method: str, body: Any = None, etag: str | None = None) -> ArmResponse:
        found = self._typed(request, method)
        if found is None:
            if method == "GET" or self._typed(request, "GET") is None:
                raise BadRequest(
                    f"The scope '{scope_of(request)}' is not valid for tags: tags can be read and written on a "
                    "subscription, a resource group or a resource.",
                    "InvalidScope",
                    target="scope",
                )
            raise BadRequest(
                f"The resource '{scope_of(request)}' does not support tags.", "InvalidScope", target="scope"
            )
        endpoint, params = found
        # The caller's conditions were for the tags resource, not for the one it is routed to;
        # the body needs no content type (``body_value`` is taken as it is).
        headers = request.headers
        if etag is not None or "if-match" in headers or "if-none-match" in headers:
            headers = {k: v for k, v in headers.items() if k not in ("if-match", "if-none-match")}
            if etag is not None:
                headers["if-match"] = etag
        inner = ArmRequest(
            headers=headers,
            services=request.services,
            method=method,
            path=scope_of(request),
            params=params,
            query=request.query,
            api_version=request.api_version,
            served_version=endpoint.api_versions.newest,
            principal=request.principal,
            base_url=request.base_url,
            body_bytes=b"",
            body_value=body,  # built here from the checked body: not encoded and decoded again
        )
        return await endpoint.handler(inner)

    async def _current(self, request: ArmRequest) -> tuple[dict[str, str], str | None]:
        if _is_subscription(request):
            return subscription_tags(request.services.store, request.subscription_id), None
        response = await self._call(request, "GET")
        return dict(response.body.get("tags") or {}), response.headers.get("ETag")

    def _render(self, request: ArmRequest, tags: dict[str, str]) -> dict[str, Any]:
        return {
            "id": scope_of(request) + SUFFIX,
            "name": "default",
            "type": "Microsoft.Resources/tags",
            "properties": {"tags": tags},
        }

    async def _write(self, request: ArmRequest, tags: dict[str, str], etag: str | None) -> dict[str, str]:
        if _is_subscription(request):
            checked = validate_tags(tags)
            request.services.store.set_meta(subscription_tags_key(request.subscription_id), checked)
            return checked
        response = await self._call(request, "PATCH", {"tags": tags}, etag)
        return dict(response.body.get("tags") or {})

    async def _change(self, request: ArmRequest, change: Callable[[dict[str, str]], dict[str, str]]) -> dict[str, str]:
        """Read the tags, ``change`` them and write them back as one step: a change made meanwhile
        (another request, another replica) is never overwritten. The client sent no condition,
        so losing the race is not its 412: the PATCH's compare-and-swap refuses the stale write
        and the change is applied again to what the winner stored."""
        if _is_subscription(request):
            store = request.services.store
            key = subscription_tags_key(request.subscription_id)
            return dict(store.update_meta(key, lambda current: validate_tags(change(dict(current or {})))))
        for attempt in range(_ATTEMPTS):
            current, etag = await self._current(request)
            try:
                return await self._write(request, change(current), etag)
            except PreconditionFailed:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def get(self, request: ArmRequest) -> ArmResponse:
        tags, _ = await self._current(request)
        return ArmResponse(200, self._render(request, tags))

    async def put(self, request: ArmRequest) -> ArmResponse:
        # A replacement depends on nothing stored: last writer wins, as a PUT of the resource does
        # (no read first, no ETag: Tags_CreateOrUpdateAtScope takes no If-Match).
        wanted = parse(TagsResourceBody, request.json_body(), "TagsResource")
        tags = await self._write(request, _as_tags(wanted.properties.tags), None)
        return ArmResponse(200, self._render(request, tags))

    async def patch(self, request: ArmRequest) -> ArmResponse:
        wanted = parse(TagsPatchBody, request.json_body(), "TagsPatchResource")
        operation = _OPERATIONS.get(wanted.operation.lower())
        if operation is None:
            raise invalid_content(
                f"Error converting value '{wanted.operation}' to type 'TagsPatchOperation'. Path 'operation'. "
                "The allowed values are 'Replace', 'Merge' and 'Delete'.",
                "operation",
            )
        given = _as_tags(wanted.properties.tags)
        if operation == "Replace":
            return ArmResponse(200, self._render(request, await self._write(request, given, None)))

        def change(current: dict[str, str]) -> dict[str, str]:
            if operation == "Merge":
                return {**current, **given}
            # Delete: by name, or by name and value when a value is given
            return {k: v for k, v in current.items() if not (k in given and given[k] in ("", v))}

        return ArmResponse(200, self._render(request, await self._change(request, change)))

    async def delete(self, request: ArmRequest) -> ArmResponse:
        await self._write(request, {}, None)
        return ArmResponse(200)


def _as_tags(tags: dict[str, Any] | None) -> dict[str, str]:
    # values are checked by the type's own tag rules (validate_tags) when the PATCH runs
    return dict(tags or {})


def endpoints(registry: TypeRegistry, router: Router, versions: ApiVersions) -> list[Endpoint]:
    tags = ScopeTags(registry, router)
    ns = "Microsoft.Resources/tags"
    return [
        Endpoint("GET", TEMPLATE, tags.get, versions, tags.action(f"{ns}/read", "GET"), scope=scope_of),
        Endpoint("PUT", TEMPLATE, tags.put, versions, tags.action(f"{ns}/write", "PATCH"), scope=scope_of),
        Endpoint("PATCH", TEMPLATE, tags.patch, versions, tags.action(f"{ns}/write", "PATCH"), scope=scope_of),
        Endpoint("DELETE", TEMPLATE, tags.delete, versions, tags.action(f"{ns}/delete", "PATCH"), scope=scope_of),
    ]
