"""The operator API under ``/_crossconnect/`` (plays Microsoft's ExpressRoute engineering).

``/_crossconnect/health`` is open and shows no secrets; everything else needs a token of the
operator principal (its own tenant, its own credential).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crossconnect import clock, entropy
from crossconnect.admin import clock as operator_clock
from crossconnect.arm.errors import ArmError, BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from crossconnect.arm.http import decode_body, payload_too_large
from crossconnect.authz.repository import RbacRepository
from crossconnect.authz.roles import OWNER
from crossconnect.identity.tokens import ARM_AUDIENCES, Principal, TokenError, TokenService
from crossconnect.limits import BodyTooLarge
from crossconnect.resources.features import CATALOG, feature_state, find_feature, set_feature_state
from crossconnect.resources.providers import set_registration
from crossconnect.store import Store
from crossconnect.store.snapshots import export_tables_json, import_tables

OPERATOR_META = "operator"
TENANT_ADMINS_META = "tenant_admins"  # tenant id → object id of its administrator (seeded)
SNAPSHOT_FORMAT = "crossconnect-snapshot/1"
ALL_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"]


@dataclass
class AdminContext:
    store: Store
    tokens: TokenService
    reset: Callable[[], None]
    started_at: float
    database_kind: str
    version: str


# network/operator_routes.py declares the same two shapes (admin does not import network; app wires them)
Handler = Callable[[Request, Principal], Awaitable[Any]]
LabHandler = Callable[[Request, Principal, bool], Awaitable[Any]]


class AdminApi:
    def __init__(self, context: AdminContext) -> None:
        self.ctx = context
        self.extra_routes: list[tuple[str, str, Handler]] = []
        self.lab_routes: list[tuple[str, str, LabHandler]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Other layers (network, fabric) add their operator endpoints here."""
        self.extra_routes.append((method, path, handler))

    def add_lab(self, method: str, path: str, handler: LabHandler) -> None:
        """Lab endpoints accept the operator or any signed-in principal; the handler gets
        ``is_operator`` and decides what a non-operator may touch."""
        self.lab_routes.append((method, path, handler))

    def routes(self) -> list[Route]:
        own: list[tuple[str, str, Handler]] = [
            ("GET", "/subscriptions", self.list_subscriptions),
            ("POST", "/subscriptions", self.enlist_subscription),
            ("GET", "/features", self.list_feature_registrations),
            ("POST", "/features/approve", self.approve_feature),
            ("POST", "/features/deny", self.deny_feature),
            ("POST", "/reset", self.reset),
            ("GET", "/snapshot", self.export_snapshot),
            ("PUT", "/snapshot", self.import_snapshot),
            ("POST", "/signing-keys/rotate", self.rotate_keys),
            ("GET", "/clock", self.show_clock),
            ("POST", "/clock", self.set_clock),
        ]
        # these run their work in a worker thread of their own, on both backends (megabytes of JSON)
        own_thread = {self.reset, self.export_snapshot, self.import_snapshot}
        routes = [Route("/_crossconnect/health", self.health, methods=["GET"])]
        for method, path, handler in own + self.extra_routes:
            wrapped = self._wrap_own_thread(handler) if handler in own_thread else self._wrap(handler)
            routes.append(Route("/_crossconnect" + path, wrapped, methods=[method]))
        for method, path, lab_handler in self.lab_routes:
            routes.append(Route("/_crossconnect" + path, self._wrap_lab(lab_handler), methods=[method]))
        # anything else under the prefix is the operator API's own 404, never an ARM request
        routes.append(Route("/_crossconnect/{path:path}", self._wrap(self.not_found), methods=ALL_METHODS))
        return routes

    def _wrap_lab(self, handler: LabHandler) -> Callable[[Request], Awaitable[Response]]:
        async def served(request: Request) -> Response:
            try:
                principal = self._principal(request)
                operator = self.ctx.store.get_meta(OPERATOR_META) or {}
                result = await handler(request, principal, principal.object_id == operator.get("object_id"))
            except ArmError as exc:
                return JSONResponse(exc.body(), exc.status)
            return result if isinstance(result, Response) else JSONResponse(result)

        return self.ctx.store.calls.endpoint(served)

    # -- plumbing ----------------------------------------------------------------------------
    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def served(request: Request) -> Response:
            try:
                principal = self._operator(request)
                result = await handler(request, principal)
            except ArmError as exc:
                return JSONResponse(exc.body(), exc.status)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return self.ctx.store.calls.endpoint(served)

    def _wrap_own_thread(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A handler that runs its work in a worker thread itself: only the caller's check goes
        where the store runs blocking work."""

        async def endpoint(request: Request) -> Response:
            try:
                principal = await self.ctx.store.calls.run(self._operator, request)
                result = await handler(request, principal)
            except ArmError as exc:
                return JSONResponse(exc.body(), exc.status)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    def _operator(self, request: Request) -> Principal:
        principal = self._principal(request)
        operator = self.ctx.store.get_meta(OPERATOR_META) or {}
        if principal.object_id != operator.get("object_id"):
            raise Forbidden(
                f"The principal '{principal.object_id}' is not the crossconnect operator; the operator API "
                "accepts only the operator credential.",
                "OperatorOnly",
            )
        return principal

    def _principal(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "The operator API needs a bearer token of the operator principal "
                "(get one with the operator credentials from `crossconnect env --json`).",
                "AuthenticationFailed",
            )
        try:
            return self.ctx.tokens.verify(token.strip(), ARM_AUDIENCES)
        except TokenError as exc:
            raise Unauthorized(exc.message, exc.code) from None

    @staticmethod
    async def raw_body(request: Request) -> bytes:
        """The body's bytes, read after the caller was checked (413 past the limit, see ``body``)."""
        try:
            return await request.body()
        except BodyTooLarge as exc:
            raise payload_too_large(exc) from None

    @staticmethod
    async def body(request: Request) -> dict[str, Any]:
        """The JSON object of the body ({} when empty), read after the caller was checked: at most
        ``limits.MAX_BODY`` bytes (a snapshot import: ``MAX_SNAPSHOT_BODY``), counted as they
        stream in; 413 ``RequestEntityTooLarge`` past it."""
        try:
            raw = await request.body()
        except BodyTooLarge as exc:
            raise payload_too_large(exc) from None
        if not raw:
            return {}
        data = decode_body(raw)
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.", "InvalidRequestContent")
        return data

    # -- handlers ----------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "version": self.ctx.version,
                "database": self.ctx.database_kind,
                "uptimeSeconds": round(time.time() - self.ctx.started_at, 1),
            }
        )

    async def list_subscriptions(self, request: Request, _: Principal) -> Any:
        return {"value": [_subscription(r) for r in self.ctx.store.find_all("subscriptions")]}

    async def enlist_subscription(self, request: Request, _: Principal) -> Any:
        data = await self.body(request)
        tenant_id = str(data.get("tenantId", "")).lower()
        name = data.get("displayName")
        if not tenant_id or not isinstance(name, str) or not name:
            raise BadRequest(
                "Both 'tenantId' and 'displayName' are required.",
                "InvalidRequestContent",
                target="tenantId" if not tenant_id else "displayName",
            )
        if self.ctx.store.find("tenants", id=tenant_id) is None:
            raise NotFound(f"The tenant '{tenant_id}' does not exist.", "TenantNotFound", target="tenantId")
        sub_id = str(data.get("subscriptionId") or entropy.guid()).lower()
        if self.ctx.store.find("subscriptions", id=sub_id):
            raise Conflict(f"The subscription '{sub_id}' already exists.", "SubscriptionAlreadyExists")
        row = {
            "id": sub_id,
            "tenant_id": tenant_id,
            "display_name": name,
            "state": "Enabled",
            "created_at": clock.now(),
        }
        owners = self._owners(data, tenant_id)
        with self.ctx.store.tx() as conn:
            self.ctx.store.insert("subscriptions", row, conn)
            for namespace in data.get("registeredProviders", []) or []:
                set_registration(self.ctx.store, sub_id, str(namespace), "Registered", conn=conn)
            rbac = RbacRepository(self.ctx.store)
            for owner in owners:
                rbac.grant(conn, principal_id=owner, role=OWNER, scope=f"/subscriptions/{sub_id}", tenant_id=tenant_id)
        return JSONResponse({**_subscription(row), "owners": owners}, 201)

    def _owners(self, data: dict[str, Any], tenant_id: str) -> list[str]:
        """Who becomes Owner of an enlisted subscription: ``owners`` (service principal object ids of
        the tenant), by default the tenant's administrator, as a new Azure subscription has one."""
        store = self.ctx.store
        owners = data.get("owners")
        if owners is None:
            admin = (store.get_meta(TENANT_ADMINS_META) or {}).get(tenant_id)
            return [admin] if admin else []
        if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
            raise BadRequest("'owners' must be a list of object ids.", "InvalidRequestContent", target="owners")
        for owner in owners:
            if store.find("service_principals", tenant_id=tenant_id, object_id=owner.lower()) is None:
                raise NotFound(
                    f"The principal '{owner}' does not exist in the tenant '{tenant_id}'.",
                    "PrincipalNotFound",
                    target="owners",
                )
        return [o.lower() for o in owners]

    async def list_feature_registrations(self, request: Request, _: Principal) -> Any:
        state = request.query_params.get("state")
        out = []
        for row in self.ctx.store.find_all("feature_registrations"):
            feature = next((f for f in CATALOG if f.key == row["feature_key"]), None)
            if feature is None:
                continue
            current = feature_state(self.ctx.store, row["subscription_id"], feature)
            if state and current.lower() != state.lower():
                continue
            out.append(
                {
                    "subscriptionId": row["subscription_id"],
                    "feature": f"{feature.namespace}/{feature.name}",
                    "state": current,
                }
            )
        return {"value": out}

    async def _decide(self, request: Request, approve: bool) -> Any:
        data = await self.body(request)
        sub_id = str(data.get("subscriptionId", "")).lower()
        name = str(data.get("feature", ""))
        namespace, _, feature_name = name.partition("/")
        feature = find_feature(namespace, feature_name)
        if feature is None:
            raise NotFound(
                f"The feature '{name}' is unknown (expected '<namespace>/<name>').", "FeatureNotFound", target="feature"
            )
        if self.ctx.store.find("subscriptions", id=sub_id) is None:
            raise NotFound(
                f"The subscription '{sub_id}' could not be found.", "SubscriptionNotFound", target="subscriptionId"
            )
        # Approve, like deny, decides a registration the subscription asked for: approving a feature
        # nobody requested would register it behind the subscription's back.
        state = feature_state(self.ctx.store, sub_id, feature)
        if state != "Pending":
            raise Conflict(
                f"The feature '{name}' is not pending on subscription '{sub_id}' (it is {state}); only a "
                "registration the subscription requested (az feature register) can be approved or denied.",
                "FeatureNotPending",
            )
        set_feature_state(self.ctx.store, sub_id, feature, "Registered" if approve else "NotRegistered")
        return {"subscriptionId": sub_id, "feature": name, "state": feature_state(self.ctx.store, sub_id, feature)}

    async def approve_feature(self, request: Request, _: Principal) -> Any:
        return await self._decide(request, True)

    async def deny_feature(self, request: Request, _: Principal) -> Any:
        return await self._decide(request, False)

    async def reset(self, request: Request, _: Principal) -> Any:
        # tens of milliseconds with a thousand circuits: in a worker thread, as snapshots are
        await run_in_threadpool(self.ctx.reset)
        return {"status": "reset"}

    async def export_snapshot(self, request: Request, _: Principal) -> Any:
        # Megabytes at 1,000 circuits: built in a worker thread, so that every other request is
        # served meanwhile (the database makes the JSON text of the rows, store/snapshots.py).
        body = await run_in_threadpool(self._export_body)
        return Response(body, 200, media_type="application/json")

    def _export_body(self) -> bytes:
        tables = export_tables_json(self.ctx.store)
        head = json.dumps({"format": SNAPSHOT_FORMAT, "exportedAt": clock.now()})[:-1]
        return f'{head}, "tables": {tables}}}'.encode()

    async def import_snapshot(self, request: Request, _: Principal) -> Any:
        raw = await self.raw_body(request)
        return await run_in_threadpool(self._import, raw)

    def _import(self, raw: bytes) -> dict[str, Any]:
        """Decode, check and import a snapshot (in a worker thread: see ``export_snapshot``)."""
        # the store checks every value it keeps (store/snapshots.py): no second walk over the strings
        data = decode_body(raw, check_values=False) if raw else {}
        if (
            not isinstance(data, dict)
            or data.get("format") != SNAPSHOT_FORMAT
            or not isinstance(data.get("tables"), dict)
        ):
            raise BadRequest(
                "Not a crossconnect snapshot (expected format 'crossconnect-snapshot/1' with 'tables').",
                "InvalidSnapshot",
            )
        self._check_keeps_operator(data["tables"])
        before = clock.setting()
        try:
            # the snapshot's own generation token may be the one every replica's access index is
            # cached under: write a fresh one, or imported roles and assignments would go unseen
            import_tables(
                self.ctx.store,
                data["tables"],
                then=RbacRepository(self.ctx.store).changed,
                source_text=raw if json.detect_encoding(raw) == "utf-8" else None,
            )
        except Exception as exc:  # the import is one transaction: nothing was changed
            raise BadRequest(
                f"The snapshot could not be imported, nothing was changed: {exc}", "InvalidSnapshot"
            ) from None
        # the snapshot carries the clock's setting (or none: real time); how far the clock ever ran
        # ahead is kept (tokens issued meanwhile stay accepted, admin/clock.py)
        imported = operator_clock.load(self.ctx.store)
        kept = operator_clock.carried(before, imported)
        if kept != imported:
            operator_clock.save(self.ctx.store, kept)
        clock.changed(kept)
        return {"status": "imported", "tables": {k: len(v) for k, v in data["tables"].items()}}

    @staticmethod
    def _check_keeps_operator(tables: dict[str, Any]) -> None:
        """A snapshot replaces everything, the operator included: one without an operator (and
        its service principal) would lock the operator out of this API until a restart."""
        meta = tables.get("meta")
        operator = (
            next((r.get("value") for r in meta if isinstance(r, dict) and r.get("key") == OPERATOR_META), None)
            if isinstance(meta, list)
            else None
        )
        object_id = operator.get("object_id") if isinstance(operator, dict) else None
        principals = tables.get("service_principals")
        if (
            not object_id
            or not isinstance(principals, list)
            or not any(isinstance(r, dict) and r.get("object_id") == object_id for r in principals)
        ):
            raise BadRequest(
                "The snapshot has no operator (meta 'operator' and its service principal); importing it would lock "
                "the operator out. Nothing was changed.",
                "InvalidSnapshot",
            )

    async def not_found(self, request: Request, _: Principal) -> Any:
        raise NotFound(f"The operator API has no endpoint '{request.method} {request.url.path}'.", "NotFound")

    async def show_clock(self, request: Request, _: Principal) -> Any:
        return operator_clock.describe(clock.setting())

    async def set_clock(self, request: Request, _: Principal) -> Any:
        """``{"advance": seconds}``, ``{"freeze": true}`` or ``{"real": true}`` (admin/clock.py)."""
        action, seconds = operator_clock.parse(await self.body(request))
        return operator_clock.describe(operator_clock.change(self.ctx.store, action, seconds))

    async def rotate_keys(self, request: Request, _: Principal) -> Any:
        kid = self.ctx.tokens.keys.rotate()
        return {"activeKid": kid}


def _subscription(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscriptionId": row["id"],
        "tenantId": row["tenant_id"],
        "displayName": row["display_name"],
        "state": row["state"],
    }
