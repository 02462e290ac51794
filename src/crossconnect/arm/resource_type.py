"""Resource types as strategies.

The ARM layer does the HTTP protocol generically (GET/PUT/PATCH/DELETE/list, ETags and
conditional requests, paging, long-running operations); each resource type plugs in a small
strategy: its type name, path templates, api-versions, RBAC action names, how to validate and
apply a write, and what completing an operation means. Adding a type touches its own module
and one registration line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import (
    ArmError,
    BadRequest,
    Conflict,
    PreconditionFailed,
    resource_group_not_found,
    resource_not_found,
)
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint, encode_json
from crossconnect.arm.names import ARM_RESOURCE, NameRule
from crossconnect.arm.paging import page
from crossconnect.arm.routing import Router
from crossconnect.store import Store

Row = dict[str, Any]
_PARAM = re.compile(r"\{(\w+)\}")


def new_etag() -> str:
    return f'W/"{entropy.guid(entropy.ETAGS)}"'


def render_template(template: str, params: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: params[m.group(1)], template)


@dataclass
class Write:
    """What a strategy decided a write does."""

    row: Row | None  # the resource row to store (None: nothing to store)
    created: bool = False
    operation: str | None = None  # kind of long-running operation to start ("put", "delete", ...)
    payload: dict[str, Any] = field(default_factory=dict)
    extra_rows: list[Row] = field(default_factory=list)


class ResourceType:
    type_name: ClassVar[str]  # e.g. "Microsoft.Network/expressRouteCircuits"
    item_template: ClassVar[str]
    list_templates: ClassVar[tuple[str, ...]] = ()
    api_versions: ClassVar[ApiVersions]
    namespace: ClassVar[str | None] = None  # the provider namespace a subscription must register
    methods: ClassVar[frozenset[str]] = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    put_is_long_running: ClassVar[bool] = True
    put_always_200: ClassVar[bool] = False  # cross connections: never 201
    delete_is_long_running: ClassVar[bool] = True
    # Deleting what does not exist answers 204 (Azure's resource providers), except for types
    # whose DELETE is ARM's own and answers 404 (resource groups: ResourceGroupNotFound).
    delete_missing_is_not_found: ClassVar[bool] = False
    # The final Location poll of a finished delete: 204 (no content), or 200 where the spec
    # lists only 200/202 (resource groups).
    finished_delete_status: ClassVar[int] = 204
    parent: ClassVar[type[ResourceType] | None] = None
    # what a new resource of this type may be called (Azure Resource Manager's rule unless the
    # type's family has its own: resource groups, the Microsoft.Network types)
    name_rule: ClassVar[NameRule] = ARM_RESOURCE

    def __init__(self, store: Store, registry: TypeRegistry) -> None:
        self.store = store
        self.registry = registry

    # -- names -----------------------------------------------------------------------------
    @property
    def type_key(self) -> str:
        return self.type_name.lower()

    @property
    def short_type(self) -> str:
        return self.type_name.split("/", 1)[1]

    def action(self, verb: str) -> str:
        return f"{self.type_name}/{verb}"

    def key(self, request: ArmRequest) -> str:
        return render_template(self.item_template, request.params).lower()

    def name(self, request: ArmRequest) -> str:
        return request.params[_PARAM.findall(self.item_template)[-1]]

    # -- reading ---------------------------------------------------------------------------
    def load(self, request: ArmRequest, conn: Connection | None = None) -> Row | None:
        return self.store.get_resource(self.key(request), conn)

    def load_existing(self, request: ArmRequest) -> Row:
        """The resource the request names, for an endpoint of its own (stats, links): 404 naming
        the resource group, the parent or the resource itself, whichever is missing."""
        self.check_scope(request)
        row = self.load(request)
        if row is None:
            raise self.not_found(request)
        return row

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        """The resource as ARM shows it. A write renders its result inside its own transaction
        (``conn``), so a resource that cannot be shown is never stored."""
        body = dict(row["body"])
        out: dict[str, Any] = {"id": row["id"], "name": row["name"], "type": self.type_name}
        out["etag"] = row["etag"]
        out.update(body)
        return out

    def listed(self, request: ArmRequest, row: Row) -> dict[str, Any] | None:
        """A row as a list shows it; None leaves it out (a view whose record is gone)."""
        return self.render(request, row)

    def listed_page(self, request: ArmRequest, rows: list[Row]) -> list[dict[str, Any] | None]:
        """A page of rows as a list shows them (None leaves one out). A type whose rows show
        other records (a cross connection its circuit and peerings) overrides this to load those
        for the whole page at once (``Store.find_in``): one query per kind, not one per row."""
        return [self.listed(request, row) for row in rows]

    def list_rows(self, request: ArmRequest, after: int, limit: int) -> list[Row]:
        params = request.params
        return self.store.list_resources(
            subscription_id=request.subscription_id,
            type_key=self.type_key,
            group_key=params.get("resourceGroupName"),
            parent_key=self.parent_key(request) if self.parent else None,
            after_seq=after,
            limit=limit,
        )

    def parent_key(self, request: ArmRequest) -> str:
        assert self.parent is not None
        return render_template(self.parent.item_template, request.params).lower()

    # -- integrity across replicas ------------------------------------------------------------
    def lock_keys(self, request: ArmRequest) -> list[str]:
        """The records a write to this resource reads and changes. A PUT, PATCH or DELETE locks
        them (``Store.lock``) before it reads anything, so writes to one record — from any
        replica, through any view — take turns, and each sees what the one before it committed.
        Default: the resource itself. A type whose write checks or changes another record (a
        peering its circuit's other peerings, a cross connection its circuit) names it too."""
        return [self.key(request)]

    def operation_lock_keys(self, op: Row) -> list[str]:
        """What completing operation ``op`` locks, by the same rule as ``lock_keys``."""
        return [op["resource_key"]]

    def not_found(self, request: ArmRequest) -> ArmError:
        return resource_not_found(self.short_type, self.name(request), request.params.get("resourceGroupName", ""))

    def check_scope(self, request: ArmRequest) -> None:
        """The resource group and the parent must exist (404 naming what is missing)."""
        group = request.params.get("resourceGroupName")
        group_key = f"/subscriptions/{request.subscription_id}/resourcegroups/{group}"
        if (
            group
            and self.type_key != "microsoft.resources/resourcegroups"
            and self.store.get_resource(group_key) is None
        ):
            raise resource_group_not_found(group)
        if self.parent is not None:
            parent = self.registry.get(self.parent)
            if parent.load(request) is None:
                raise parent.not_found(request)

    # -- writing (strategies override) ------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        raise BadRequest(f"{self.type_name} cannot be written.", "OperationNotSupported")

    def update_tags(self, request: ArmRequest, body: Any, existing: Row, conn: Connection) -> Write:
        tags = parse_tags(body)
        row = dict(existing)
        row["body"] = {**existing["body"], "tags": tags}
        row["etag"] = new_etag()
        return Write(row)

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        """Default: mark Deleting and let the operation remove it."""
        row = dict(existing)
        body = dict(existing["body"])
        props = dict(body.get("properties", {}))
        props["provisioningState"] = "Deleting"
        body["properties"] = props
        row["body"] = body
        return Write(row, operation="delete")

    def new_row(self, request: ArmRequest, body: dict[str, Any]) -> Row:
        params = request.params
        return {
            "key": self.key(request),
            "id": render_template(self.item_template, params),
            "type_key": self.type_key,
            "subscription_id": request.subscription_id,
            "group_key": params.get("resourceGroupName", "").lower(),
            "parent_key": self.parent_key(request) if self.parent else "",
            "name": self.name(request),
            "body": body,
            "etag": new_etag(),
        }

    # -- operations ------------------------------------------------------------------------
    def operation_location(self, row: Row) -> str:
        return str(row["body"].get("location") or "global")

    def complete_operation(self, op: Row, conn: Connection) -> Any:
        row = self.store.get_resource(op["resource_key"], conn)
        if op["kind"] == "delete":
            if row is not None:
                self.on_delete(row, conn)
                self.store.delete_resource_tree(op["resource_key"], conn)
            return None
        if row is not None:
            self.set_state(row, "Succeeded", conn)
        return None

    def fail_operation(self, op: Row, conn: Connection, error: ArmError) -> None:
        row = self.store.get_resource(op["resource_key"], conn)
        if row is not None:
            self.set_state(row, "Failed", conn)

    def set_state(self, row: Row, state: str, conn: Connection) -> None:
        body = dict(row["body"])
        props = dict(body.get("properties", {}))
        props["provisioningState"] = state
        body["properties"] = props
        # ``row`` was read in this transaction, which holds its lock: only what changed is written
        self.store.replace_resource({**row, "body": body, "etag": new_etag()}, row, conn)

    def on_delete(self, row: Row, conn: Connection) -> None:
        """Side effects of removing this resource (cascade to other views)."""

    # -- endpoints -------------------------------------------------------------------------
    def extra_endpoints(self) -> Iterable[Endpoint]:
        return ()


class TypeRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._types: dict[type[ResourceType], ResourceType] = {}
        self.by_key: dict[str, ResourceType] = {}

    def add(self, cls: type[ResourceType]) -> ResourceType:
        instance = cls(self.store, self)
        self._types[cls] = instance
        self.by_key[instance.type_key] = instance
        return instance

    def get(self, cls: type[ResourceType]) -> ResourceType:
        return self._types[cls]

    def __iter__(self):
        return iter(self._types.values())


def parse_tags(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise BadRequest(
            "The request content was invalid and could not be deserialized: 'Expected an object.'",
            "InvalidRequestContent",
        )
    tags = body.get("tags", {})
    return validate_tags(tags)


# the characters a tag name may not hold (one search instead of a scan per character)
_TAG_NAME_REFUSED = re.compile(r"[<>%&\\?/]")


def validate_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise BadRequest(
            "The request content was invalid and could not be deserialized: "
            f"'Error converting value {tags!r} to type 'Dictionary[String,String]'. Path 'tags'.'",
            "InvalidRequestContent",
            target="tags",
        )
    if len(tags) > 50:
        raise BadRequest("The number of tags exceeds the maximum of 50.", "InvalidTagCount", target="tags")
    for name, value in tags.items():
        if not isinstance(value, str):
            raise BadRequest(
                "The request content was invalid and could not be deserialized: "
                f"'Error converting value {value!r} to type 'String'. Path 'tags.{name}'.'",
                "InvalidRequestContent",
                target=f"tags.{name}",
            )
        if len(name) > 512 or _TAG_NAME_REFUSED.search(name):
            raise BadRequest(
                f"The tag name '{name}' has invalid characters or is too long.",
                "InvalidTagNameCharacters",
                target=f"tags.{name}",
            )
        if len(value) > 256:
            raise BadRequest(
                f"The tag value of tag '{name}' is longer than 256 characters.",
                "InvalidTagValueLength",
                target=f"tags.{name}",
            )
    return dict(tags)


# -- the generic protocol for a resource type -----------------------------------------------


def _check_preconditions(request: ArmRequest, existing: Row | None) -> None:
    if_match = request.header("if-match")
    if_none_match = request.header("if-none-match")
    if if_match is not None:
        wanted = [t.strip() for t in if_match.split(",")]
        if existing is None or ("*" not in wanted and existing["etag"] not in wanted):
            raise PreconditionFailed(
                "The condition specified using HTTP conditional header(s) is not met: the resource's ETag "
                f"{existing['etag'] if existing else '(none: the resource does not exist)'} does not match "
                f"If-Match {if_match}.",
                "PreconditionFailed",
            )
    if if_none_match is not None and existing is not None:
        wanted = [t.strip() for t in if_none_match.split(",")]
        if "*" in wanted or existing["etag"] in wanted:
            raise PreconditionFailed(
                "The condition specified using HTTP conditional header(s) is not met: the resource already exists "
                f"(If-None-Match {if_none_match}).",
                "PreconditionFailed",
            )


def another_operation_in_progress(request: ArmRequest, op: Row) -> Conflict:
    # the same status URL the operation was started with (its own provider namespace)
    url = request.services.operations.headers_for(request, op, location=False, async_operation=True)[
        "Azure-AsyncOperation"
    ]
    return Conflict(
        "Another operation on this or dependent resource is in progress. To retrieve status of the operation use "
        f"uri: {url}.",
        "AnotherOperationInProgress",
    )


def register(router: Router, rtype: ResourceType) -> None:
    """Give a resource type its ARM endpoints."""
    engine = lambda r: r.services.operations  # noqa: E731

    async def get_item(request: ArmRequest) -> ArmResponse:
        rtype.check_scope(request)
        row = rtype.load(request)
        if row is not None and _is_transient(row):
            # only a resource an operation is still working on can have one falling due
            engine(request).settle_resource(rtype.key(request))
            row = rtype.load(request)
        if row is None:
            raise rtype.not_found(request)
        return ArmResponse(200, rtype.render(request, row), {"ETag": row["etag"]})

    async def put_item(request: ArmRequest) -> ArmResponse:
        rtype.check_scope(request)
        ops = engine(request)
        ops.settle_resource(rtype.key(request))  # before the transaction: completing takes the same locks
        body = request.json_body()
        store = request.services.store
        with store.tx() as conn:
            existing = _locked(request, rtype, conn)
            _check_preconditions(request, existing)
            if existing is not None:
                running = ops.in_progress(rtype.key(request), conn)
                if running is not None:
                    raise another_operation_in_progress(request, running)
            else:
                rtype.name_rule.check(rtype.name(request))
            write = rtype.create_or_update(request, body, existing, conn)
            assert write.row is not None
            if write.operation:
                _set_updating(write.row)
            written: Row | None = None
            if existing is not None:
                written = store.replace_resource(write.row, existing, conn, expected_etag=existing["etag"])
                replaced = written is not None
            else:
                replaced = store.put_resource(write.row, conn)
            if not replaced:
                raise PreconditionFailed(
                    "The resource was changed by another request while this one was processed; retry.",
                    "PreconditionFailed",
                )
            for extra in write.extra_rows:
                store.put_resource(extra, conn)
                if written is not None and extra["key"].lower() == written["key"]:
                    written = None  # written again: read back what is stored now
            op = None
            if write.operation:
                op = ops.start(
                    conn,
                    subscription_id=request.subscription_id,
                    location=rtype.operation_location(write.row),
                    kind=write.operation,
                    resource_key=write.row["key"],
                    resource_type=rtype.type_name,
                    payload=write.payload,
                )
            stored, rendered, encoded = _render_stored(rtype, request, write.row["key"], conn, written)
        headers = {"ETag": stored["etag"]}
        if op is not None:
            headers.update(ops.headers_for(request, op, location=False, async_operation=True))
        status = 201 if write.created and not rtype.put_always_200 else 200
        return ArmResponse(status, rendered, headers, encoded)

    async def patch_item(request: ArmRequest) -> ArmResponse:
        rtype.check_scope(request)
        body = request.json_body()
        try:
            return _patch(request, body, settle=False)
        except _SettleFirst:
            engine(request).settle_resource(rtype.key(request))
            return _patch(request, body, settle=True)

    def _patch(request: ArmRequest, body: Any, *, settle: bool) -> ArmResponse:
        store = request.services.store
        with store.tx() as conn:
            existing = _locked(request, rtype, conn)
            if existing is not None and not settle and _is_transient(existing):
                # An operation on it may have fallen due: complete it first (outside this
                # transaction: completing takes the same locks), then write what it left. A
                # resource no operation is working on has none that can fall due (as a GET).
                raise _SettleFirst
            if existing is None:
                raise rtype.not_found(request)
            _check_preconditions(request, existing)
            write = rtype.update_tags(request, body, existing, conn)
            assert write.row is not None
            written = store.replace_resource(write.row, existing, conn, expected_etag=existing["etag"])
            if written is None:
                raise PreconditionFailed("The resource was changed by another request; retry.", "PreconditionFailed")
            stored, rendered, encoded = _render_stored(rtype, request, write.row["key"], conn, written)
        return ArmResponse(200, rendered, {"ETag": stored["etag"]}, encoded)

    async def delete_item(request: ArmRequest) -> ArmResponse:
        rtype.check_scope(request)
        ops = engine(request)
        ops.settle_resource(rtype.key(request))
        store = request.services.store
        with store.tx() as conn:
            existing = _locked(request, rtype, conn)
            _check_preconditions(request, existing)
            if existing is None:
                if rtype.delete_missing_is_not_found:
                    raise rtype.not_found(request)
                return ArmResponse(204)
            running = ops.in_progress(rtype.key(request), conn)
            if running is not None:
                raise another_operation_in_progress(request, running)
            write = rtype.delete(request, existing, conn)
            op = None
            if write.operation and rtype.delete_is_long_running:
                assert write.row is not None
                store.put_resource(write.row, conn)
                op = ops.start(
                    conn,
                    subscription_id=request.subscription_id,
                    location=rtype.operation_location(existing),
                    kind="delete",
                    resource_key=existing["key"],
                    resource_type=rtype.type_name,
                    payload=write.payload,
                )
            else:
                rtype.on_delete(existing, conn)
                store.delete_resource_tree(existing["key"], conn)
        if op is None:
            return ArmResponse(200)
        return ArmResponse(202, None, ops.headers_for(request, op, location=True, async_operation=True))

    async def list_items(request: ArmRequest) -> ArmResponse:
        rtype.check_scope(request)
        return page(
            request,
            lambda after, limit: rtype.list_rows(request, after, limit),
            render_page=lambda rows: rtype.listed_page(request, rows),
        )

    item = rtype.item_template
    ns = rtype.namespace
    versions = rtype.api_versions
    if "GET" in rtype.methods:
        router.add(Endpoint("GET", item, get_item, versions, rtype.action("read"), ns, reads_only_store=True))
    if "PUT" in rtype.methods:
        router.add(Endpoint("PUT", item, put_item, versions, rtype.action("write"), ns))
    if "PATCH" in rtype.methods:
        router.add(Endpoint("PATCH", item, patch_item, versions, rtype.action("write"), ns))
    if "DELETE" in rtype.methods:
        router.add(Endpoint("DELETE", item, delete_item, versions, rtype.action("delete"), ns))
    for template in rtype.list_templates:
        router.add(Endpoint("GET", template, list_items, versions, rtype.action("read"), ns, reads_only_store=True))
    for endpoint in rtype.extra_endpoints():
        router.add(endpoint)
    _ = time  # keep import for strategies that subclass and need it


class _SettleFirst(Exception):  # noqa: N818 - a signal, not an error
    """A write found its resource in a state an operation may complete first (``patch_item``)."""


def _render_stored(
    rtype: ResourceType, request: ArmRequest, key: str, conn: Connection, written: Row | None = None
) -> tuple[Row, Any, bytes]:
    """Render what a write stored, before it commits: a resource that cannot be shown (or
    encoded as JSON) makes the write fail instead of every later read. ``written``: the row as
    stored, when the write has it (``Store.replace_resource``); else it is read back. Returns the
    row, its rendering and that encoded (the response sends these very bytes)."""
    stored = written if written is not None else rtype.store.get_resource(key, conn)
    if stored is None:
        raise ArmError("The resource written by this request could not be read back.", "InternalServerError")
    rendered = rtype.render(request, stored, conn)
    return stored, rendered, encode_json(rendered)


def _locked(request: ArmRequest, rtype: ResourceType, conn: Connection) -> Row | None:
    """Lock the records the write touches, then read the resource as the last writer left it:
    a create racing a create finds the first one's row and becomes an update (or a 409/412)."""
    request.services.store.lock(conn, *rtype.lock_keys(request))
    return rtype.load(request, conn)


def _is_transient(row: Row) -> bool:
    state = row["body"].get("properties", {}).get("provisioningState")
    return state in ("Updating", "Deleting")


def _set_updating(row: Row) -> None:
    body = dict(row["body"])
    props = dict(body.get("properties", {}))
    props["provisioningState"] = "Updating"
    body["properties"] = props
    row["body"] = body
