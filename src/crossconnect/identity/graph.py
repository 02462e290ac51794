"""A Microsoft Graph subset on the same listener: applications, their passwords and certificates,
and service principals, as far as ``az ad app|sp`` and ``az ad sp create-for-rbac`` use them.

The server's metadata names its own origin as the cloud's ``microsoftGraphResourceId``; the
Azure CLI asks the token endpoint for that resource and calls ``{origin}/v1.0/...``. Tokens
carry the Graph audience, and only such tokens are accepted here (ARM tokens are not).

Permissions follow Graph's application permissions, kept on the caller's service principal
(``data.graphAppRoles``): ``Application.ReadWrite.All`` manages every application of the
tenant; ``Application.ReadWrite.OwnedBy`` creates applications and manages those it owns;
``Application.Read.All`` / ``Directory.Read.All`` read. Without one: 403, as Graph answers.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crossconnect import clock, entropy
from crossconnect.identity import client_certificates
from crossconnect.identity.directory import Directory
from crossconnect.identity.endpoints import base_url
from crossconnect.identity.tokens import GRAPH_AUDIENCES, Principal, TokenError, TokenService
from crossconnect.limits import BodyTooLarge
from crossconnect.store import Store
from crossconnect.untrusted import Rejected, decode_json, printable

READ_WRITE_ALL = "Application.ReadWrite.All"
READ_WRITE_OWNED = "Application.ReadWrite.OwnedBy"
READERS = {READ_WRITE_ALL, "Application.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}
WRITERS = {READ_WRITE_ALL, "Directory.ReadWrite.All"}
PASSWORD_LIFETIME = 2 * 365 * 24 * 3600
MAX_DISPLAY_NAME = 255
# A user's directory role grants what an application permission grants an application.
GLOBAL_ADMINISTRATOR = "Global Administrator"
DIRECTORY_ROLE_PERMISSIONS = {
    GLOBAL_ADMINISTRATOR: {READ_WRITE_ALL, "Directory.Read.All", "User.Read.All", "Group.ReadWrite.All"}
}
USER_READERS = {"User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}

Row = dict[str, Any]
Handler = Callable[[Request, Principal], Awaitable[Response]]


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        message = printable(message)  # an echoed value must not break the response
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self, request: Request) -> JSONResponse:
        now = clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
        return JSONResponse(
            {
                "error": {
                    "code": self.code,
                    "message": self.message,
                    "innerError": {
                        "date": now,
                        "request-id": entropy.guid(entropy.REQUEST_IDS),
                        "client-request-id": request.headers.get(
                            "client-request-id", entropy.guid(entropy.REQUEST_IDS)
                        ),
                    },
                }
            },
            self.status,
        )


def _denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _not_found(object_id: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present.",
    )


def _bad_request(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: Any, default: float, name: str = "dateTime") -> float:
    """A date-time property as seconds since the epoch; a 400 unless it is an ISO 8601 date-time
    that UTC can show (years 1 to 9999, as Graph's DateTimeOffset)."""
    if value in (None, ""):
        return default
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        epoch = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        _iso(epoch)
    except (ValueError, OverflowError):
        raise _bad_request(f"Invalid value '{value}' specified for property '{name}'.") from None
    return epoch


def _check_period(start: float, end: float, resource: str) -> None:
    """A credential's endDateTime: after its startDateTime, and one that UTC can show (a start in
    year 9999 leaves no room for the default lifetime)."""
    try:
        _iso(end)
    except (ValueError, OverflowError):
        raise _bad_request(
            f"Invalid value specified for property 'endDateTime' of resource '{resource}': the credential would end "
            f"after 9999-12-31 (it starts {_iso(start)}); give an endDateTime.") from None  # fmt: skip
    if end <= start:
        raise _bad_request(
            f"Invalid value specified for property 'endDateTime' of resource '{resource}': it must be after "
            f"startDateTime ({_iso(start)}).")  # fmt: skip


def _display_name(value: Any, name: str = "displayName", required: bool = True) -> str:
    """A display name: a string of at most MAX_DISPLAY_NAME characters (non-empty when required)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad_request(f"Property '{name}' is required and must be a non-empty string.")
    if len(value) > MAX_DISPLAY_NAME:
        raise _bad_request(
            f"Invalid value specified for property '{name}': it is {len(value)} characters long; at most "
            f"{MAX_DISPLAY_NAME} are allowed.")  # fmt: skip
    return value


# -- $filter: the shapes the Azure CLI sends ------------------------------------------------------
_EQ = re.compile(r"^(\w+)\s+eq\s+'((?:[^']|'')*)'$", re.IGNORECASE)
_STARTSWITH = re.compile(r"^startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)$", re.IGNORECASE)
_ANY = re.compile(r"^(\w+)/any\(\s*(\w+)\s*:\s*\2\s+eq\s+'((?:[^']|'')*)'\s*\)$", re.IGNORECASE)


def parse_filter(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over rendered Graph objects for ``$filter`` (``and`` of the clauses above)."""
    if not text or not text.strip():
        return lambda obj: True
    tests = [_clause_test(clause.strip()) for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)]
    return lambda obj: all(t(obj) for t in tests)


def _clause_test(clause: str) -> Callable[[dict[str, Any]], bool]:
    if m := _EQ.match(clause):
        field, value = m.group(1), m.group(2).replace("''", "'").lower()
        return lambda obj: str(obj.get(field, "")).lower() == value
    if m := _STARTSWITH.match(clause):
        field, value = m.group(1), m.group(2).replace("''", "'").lower()
        return lambda obj: str(obj.get(field, "")).lower().startswith(value)
    if m := _ANY.match(clause):
        field, value = m.group(1), m.group(3).replace("''", "'").lower()
        return lambda obj: value in [str(x).lower() for x in obj.get(field) or []]
    raise _bad_request(f"Invalid filter clause: '{clause}'.")


class GraphApi:
    def __init__(self, store: Store, directory: Directory, tokens: TokenService) -> None:
        self.store = store
        self.directory = directory
        self.tokens = tokens
        # Other parts of the Graph subset (groups) plug in here: more objects for getByIds, and
        # what to do when a service principal is deleted (leave its groups), in that transaction.
        self.extra_objects: list[Callable[[Request, str, set[str], set[str]], list[dict[str, Any]]]] = []
        self.deleted_principals: list[Callable[[str, Any], None]] = []

    def routes(self) -> list[Route]:
        own: list[tuple[str, str, Handler]] = [
            ("GET", "/applications", self.list_applications),
            ("POST", "/applications", self.create_application),
            ("GET", "/applications/{id}", self.get_application),
            ("PATCH", "/applications/{id}", self.update_application),
            ("DELETE", "/applications/{id}", self.delete_application),
            ("POST", "/applications/{id}/addPassword", self.add_password),
            ("POST", "/applications/{id}/removePassword", self.remove_password),
            ("GET", "/servicePrincipals", self.list_service_principals),
            ("POST", "/servicePrincipals", self.create_service_principal),
            ("GET", "/servicePrincipals/{id}", self.get_service_principal),
            ("DELETE", "/servicePrincipals/{id}", self.delete_service_principal),
            ("POST", "/directoryObjects/getByIds", self.get_by_ids),
            ("GET", "/users", self.list_users),
            ("GET", "/users/{id}", self.get_user),
            ("GET", "/me", self.get_me),
        ]
        routes = []
        for version in ("v1.0", "beta"):
            for method, path, handler in own:
                routes.append(Route(f"/{version}{path}", self._wrap(handler), methods=[method]))
        return routes

    # -- plumbing ----------------------------------------------------------------------------
    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return self.store.calls.endpoint(functools.partial(self._serve, handler))

    async def _serve(self, handler: Handler, request: Request) -> Response:
        try:
            return await handler(request, self._authenticate(request))
        except GraphError as exc:
            return exc.response(request)

    def _authenticate(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            return self.tokens.verify(token.strip(), GRAPH_AUDIENCES)
        except TokenError as exc:
            detail = "Invalid audience." if exc.code == "InvalidAuthenticationTokenAudience" else exc.message
            raise GraphError(401, "InvalidAuthenticationToken", f"Access token validation failure. {detail}") from None

    def _permissions(self, principal: Principal) -> set[str]:
        if principal.claims.get("idtyp") == "user":
            user = self.directory.find_user_by_object_id(principal.tenant_id, principal.object_id)
            roles = (user or {}).get("data", {}).get("directoryRoles", [])
            return set().union(*(DIRECTORY_ROLE_PERMISSIONS.get(r, set()) for r in roles))
        caller = self.directory.find_service_principal_by_object_id(principal.tenant_id, principal.object_id)
        return set((caller or {}).get("data", {}).get("graphAppRoles", []))

    def _can_read(self, principal: Principal, app: Row | None = None) -> bool:
        granted = self._permissions(principal)
        if granted & READERS:
            return True
        return READ_WRITE_OWNED in granted and (app is None or principal.object_id in _owners(app))

    def _can_write(self, principal: Principal, app: Row) -> bool:
        granted = self._permissions(principal)
        return bool(granted & WRITERS) or (READ_WRITE_OWNED in granted and principal.object_id in _owners(app))

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        """The JSON object of the body, read only after the caller was authorized: at most
        ``limits.MAX_BODY`` bytes, counted as they stream in (413 past it)."""
        try:
            raw = await request.body()
        except BodyTooLarge as exc:
            raise GraphError(413, "Request_EntityTooLarge", exc.message) from None
        if not raw.strip():
            return {}
        try:
            data = decode_json(raw)
        except Rejected as exc:
            if exc.malformed:
                raise _bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set and "
                                   f"payload is of valid JSON format: {exc.reason}.") from None  # fmt: skip
            raise _bad_request(f"Invalid value specified for property '{exc.path or 'body'}': {exc.reason}.") from None
        if not isinstance(data, dict):
            raise _bad_request("The request body must be a JSON object.")
        return data

    def _application(self, principal: Principal, object_id: str) -> Row:
        app = self.directory.find_application_by_object_id(principal.tenant_id, object_id)
        if app is None:
            # Graph also takes the appId in the id position for applications(appId='...'); the CLI
            # resolves appIds itself, so only the object id is accepted here.
            raise _not_found(object_id)
        return app

    # -- rendering ---------------------------------------------------------------------------
    def render_application(self, request: Request, app: Row, conn: Any = None) -> dict[str, Any]:
        data = dict(app["data"])
        data.pop("owners", None)
        creds = self.directory.credentials(app["app_id"], conn=conn)
        tenant = self.directory.find_tenant(app["tenant_id"], conn) or {}
        return {
            "@odata.context": f"{base_url(request)}/v1.0/$metadata#applications/$entity",
            "id": app["object_id"],
            "deletedDateTime": None,
            "appId": app["app_id"],
            "createdDateTime": _iso(app["created_at"]),
            "description": None,
            "displayName": app["display_name"],
            "identifierUris": [],
            "isFallbackPublicClient": None,
            "notes": None,
            "publisherDomain": tenant.get("domain"),
            "serviceManagementReference": None,
            "signInAudience": "AzureADMyOrg",
            "tags": [],
            "appRoles": [],
            "requiredResourceAccess": [],
            "api": {"requestedAccessTokenVersion": None, "oauth2PermissionScopes": []},
            "web": {"homePageUrl": None, "redirectUris": [], "implicitGrantSettings": {}},
            "publicClient": {"redirectUris": []},
            **data,
            "keyCredentials": [_key_credential(c) for c in creds if c["kind"] == "certificate"],
            "passwordCredentials": [_password_credential(c) for c in creds if c["kind"] == "secret"],
        }

    def render_service_principal(self, request: Request, sp: Row) -> dict[str, Any]:
        data = {k: v for k, v in sp["data"].items() if k != "graphAppRoles"}
        app = self.directory.find_application(sp["app_id"])
        return {
            "@odata.context": f"{base_url(request)}/v1.0/$metadata#servicePrincipals/$entity",
            "id": sp["object_id"],
            "deletedDateTime": None,
            "accountEnabled": True,
            "appDisplayName": app["display_name"] if app else sp["display_name"],
            "appId": sp["app_id"],
            "appOwnerOrganizationId": app["tenant_id"] if app else sp["tenant_id"],
            "appRoleAssignmentRequired": False,
            "displayName": sp["display_name"],
            "servicePrincipalNames": [sp["app_id"]],
            "servicePrincipalType": "Application",
            "signInAudience": "AzureADMyOrg",
            "tags": [],
            "keyCredentials": [],
            "passwordCredentials": [],
            **data,
        }

    # -- applications ------------------------------------------------------------------------
    async def list_applications(self, request: Request, principal: Principal) -> Response:
        if not self._can_read(principal):
            raise _denied()
        keep = parse_filter(request.query_params.get("$filter"))
        items = [
            self.render_application(request, a)
            for a in self.directory.applications(principal.tenant_id)
            if self._can_read(principal, a)
        ]
        return _collection(request, "applications", [a for a in items if keep(a)])

    async def create_application(self, request: Request, principal: Principal) -> Response:
        granted = self._permissions(principal)
        if not granted & WRITERS and READ_WRITE_OWNED not in granted:
            raise _denied()
        body = await self._body(request)
        name = _display_name(body.get("displayName"))
        key_credentials = body.get("keyCredentials") or []
        password_credentials = body.get("passwordCredentials") or []
        with self.store.tx() as conn:
            data = {**_writable(body), "owners": [principal.object_id]}
            app = self.directory.register_application(principal.tenant_id, name.strip(), data, conn)
            self._set_key_credentials(app, key_credentials, conn)
            secrets = [self._new_password(app, p, conn) for p in _list(password_credentials, "passwordCredentials")]
            rendered = self.render_application(request, app, conn)
            if secrets:  # on creation Graph returns the generated secret text once
                by_id = {s["keyId"]: s for s in secrets}
                rendered["passwordCredentials"] = [
                    {**p, "secretText": by_id.get(p["keyId"], {}).get("secretText")}
                    for p in rendered["passwordCredentials"]
                ]
            return JSONResponse(rendered, 201)  # encoded before the commit: what cannot be shown is not stored

    async def get_application(self, request: Request, principal: Principal) -> Response:
        app = self._application(principal, request.path_params["id"])
        if not self._can_read(principal, app):
            raise _denied()
        return JSONResponse(self.render_application(request, app))

    async def update_application(self, request: Request, principal: Principal) -> Response:
        app = self._application(principal, request.path_params["id"])
        if not self._can_write(principal, app):
            raise _denied()
        body = await self._body(request)
        values: dict[str, Any] = {"data": {**app["data"], **_writable(body)}}
        if "displayName" in body:
            values["display_name"] = _display_name(body["displayName"]).strip()
        with self.store.tx() as conn:
            self.directory.update_application(app["object_id"], values, conn)
            if "keyCredentials" in body:
                self._set_key_credentials(app, body["keyCredentials"] or [], conn, replace=True)
            updated = self.directory.find_application_by_object_id(principal.tenant_id, app["object_id"], conn)
            JSONResponse(self.render_application(request, updated or app, conn))  # renders before the commit
        return Response(status_code=204)

    async def delete_application(self, request: Request, principal: Principal) -> Response:
        app = self._application(principal, request.path_params["id"])
        if not self._can_write(principal, app):
            raise _denied()
        sp = self.directory.find_service_principal(app["tenant_id"], app["app_id"])
        with self.store.tx() as conn:
            self.directory.delete_application(app, conn)
            if sp is not None:
                for forget in self.deleted_principals:
                    forget(sp["object_id"], conn)
        return Response(status_code=204)

    async def add_password(self, request: Request, principal: Principal) -> Response:
        app = self._application(principal, request.path_params["id"])
        if not self._can_write(principal, app):
            raise _denied()
        body = await self._body(request)
        wanted = body.get("passwordCredential") or {}
        if not isinstance(wanted, dict):
            raise _bad_request("Property 'passwordCredential' must be an object.")
        with self.store.tx() as conn:
            created = self._new_password(app, wanted, conn)
        return JSONResponse(
            {"@odata.context": f"{base_url(request)}/v1.0/$metadata#microsoft.graph.passwordCredential", **created}
        )

    async def remove_password(self, request: Request, principal: Principal) -> Response:
        app = self._application(principal, request.path_params["id"])
        if not self._can_write(principal, app):
            raise _denied()
        body = await self._body(request)
        key_id = str(body.get("keyId") or "")
        secrets = {c["key_id"] for c in self.directory.credentials(app["app_id"], "secret")}
        if key_id.lower() not in secrets:
            raise GraphError(
                400, "Request_BadRequest", f"No password credential found with keyId '{key_id}'."
            )  # fmt: skip
        self.directory.remove_credential(app["app_id"], key_id)
        return Response(status_code=204)

    # -- service principals ------------------------------------------------------------------
    async def list_service_principals(self, request: Request, principal: Principal) -> Response:
        if not self._can_read(principal):
            raise _denied()
        keep = parse_filter(request.query_params.get("$filter"))
        items = [
            self.render_service_principal(request, sp) for sp in self.directory.service_principals(principal.tenant_id)
        ]
        return _collection(request, "servicePrincipals", [sp for sp in items if keep(sp)])

    async def create_service_principal(self, request: Request, principal: Principal) -> Response:
        granted = self._permissions(principal)
        if not granted & WRITERS and READ_WRITE_OWNED not in granted:
            raise _denied()  # before the body is read: which application it names decides the rest
        body = await self._body(request)
        app_id = str(body.get("appId") or "").lower()
        app = self.directory.find_application(app_id) if app_id else None
        if app is None or app["tenant_id"] != principal.tenant_id:
            raise _bad_request(
                f"The appId '{app_id}' of the service principal does not reference a valid application object."
            )
        if not self._can_write(principal, app):
            raise _denied()
        if self.directory.find_service_principal(principal.tenant_id, app_id) is not None:
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                f"The service principal cannot be created, updated, or restored because the service principal name "
                f"{app_id} is already in use.",
            )
        data = {k: v for k, v in _writable(body).items() if k not in ("appId", "accountEnabled")}
        sp = self.directory.create_service_principal(principal.tenant_id, app_id, app["display_name"], data)
        return JSONResponse(self.render_service_principal(request, sp), 201)

    async def get_service_principal(self, request: Request, principal: Principal) -> Response:
        if not self._can_read(principal):
            raise _denied()
        sp = self.directory.find_service_principal_by_object_id(principal.tenant_id, request.path_params["id"])
        if sp is None:
            raise _not_found(request.path_params["id"])
        return JSONResponse(self.render_service_principal(request, sp))

    async def delete_service_principal(self, request: Request, principal: Principal) -> Response:
        sp = self.directory.find_service_principal_by_object_id(principal.tenant_id, request.path_params["id"])
        if sp is None:
            raise _not_found(request.path_params["id"])
        app = self.directory.find_application(sp["app_id"])
        if app is None or not self._can_write(principal, app):
            raise _denied()
        with self.store.tx() as conn:
            self.directory.delete_service_principal(sp["object_id"], conn)
            for forget in self.deleted_principals:
                forget(sp["object_id"], conn)
        return Response(status_code=204)

    async def get_by_ids(self, request: Request, principal: Principal) -> Response:
        """``az role assignment list`` resolves principal names through this."""
        if not self._can_read(principal):
            raise _denied()
        body = await self._body(request)
        ids = {i.lower() for i in _strings(body, "ids")}
        types = {t.lower() for t in _strings(body, "types")}
        found: list[dict[str, Any]] = []
        if not types or "serviceprincipal" in types:
            for sp in self.directory.service_principals(principal.tenant_id):
                if sp["object_id"] in ids:
                    found.append({"@odata.type": "#microsoft.graph.servicePrincipal",
                                  **self.render_service_principal(request, sp)})  # fmt: skip
        if not types or "application" in types:
            for app in self.directory.applications(principal.tenant_id):
                if app["object_id"] in ids:
                    found.append(
                        {"@odata.type": "#microsoft.graph.application", **self.render_application(request, app)}
                    )
        if not types or "user" in types:
            for user in self.directory.users(principal.tenant_id):
                if user["object_id"] in ids:
                    found.append({"@odata.type": "#microsoft.graph.user", **self.render_user(request, user)})
        for extra in self.extra_objects:
            found.extend(extra(request, principal.tenant_id, ids, types))
        for item in found:
            item.pop("@odata.context", None)
        return _collection(request, "directoryObjects", found)

    # -- users -------------------------------------------------------------------------------
    def render_user(self, request: Request, user: Row) -> dict[str, Any]:
        return {
            "@odata.context": f"{base_url(request)}/v1.0/$metadata#users/$entity",
            "id": user["object_id"],
            "displayName": user["display_name"],
            "userPrincipalName": user["user_principal_name"],
            "mail": None,
            "accountEnabled": True,
            "userType": "Member",
        }

    async def list_users(self, request: Request, principal: Principal) -> Response:
        if not self._permissions(principal) & USER_READERS:
            raise _denied()
        keep = parse_filter(request.query_params.get("$filter"))
        items = [self.render_user(request, u) for u in self.directory.users(principal.tenant_id)]
        return _collection(request, "users", [u for u in items if keep(u)])

    async def get_user(self, request: Request, principal: Principal) -> Response:
        wanted = request.path_params["id"]
        own = wanted.lower() == principal.object_id
        if not own and not self._permissions(principal) & USER_READERS:
            raise _denied()
        user = self.directory.find_user_by_object_id(principal.tenant_id, wanted) or self.directory.find_user(
            principal.tenant_id, wanted
        )
        if user is None:
            raise _not_found(wanted)
        return JSONResponse(self.render_user(request, user))

    async def get_me(self, request: Request, principal: Principal) -> Response:
        user = self.directory.find_user_by_object_id(principal.tenant_id, principal.object_id)
        if user is None:
            raise _bad_request("/me request is only valid with delegated authentication flow.")
        return JSONResponse(self.render_user(request, user))

    # -- credentials -------------------------------------------------------------------------
    def _new_password(self, app: Row, wanted: dict[str, Any], conn: Any) -> dict[str, Any]:
        now = clock.now()
        start = _epoch(wanted.get("startDateTime"), now, "startDateTime")
        end = _epoch(wanted.get("endDateTime"), start + PASSWORD_LIFETIME, "endDateTime")
        _check_period(start, end, "PasswordCredential")
        name = _display_name(wanted.get("displayName"), required=False)
        added = self.directory.add_secret(app["app_id"], name or "", conn=conn)
        self.store.update_where(
            "client_credentials", {"start_at": start, "end_at": end}, conn, key_id=added["keyId"]
        )  # fmt: skip
        return {
            "customKeyIdentifier": None,
            "displayName": name or None,
            "endDateTime": _iso(end),
            "hint": added["hint"],
            "keyId": added["keyId"],
            "secretText": added["secretText"],
            "startDateTime": _iso(start),
        }

    def _set_key_credentials(self, app: Row, wanted: Any, conn: Any, *, replace: bool = False) -> None:
        """Graph semantics: ``keyCredentials`` is the whole set. An entry with ``key`` adds that
        certificate; an entry naming only the ``keyId`` of a certificate already there keeps it;
        certificates not listed are removed (only when replacing)."""
        entries = _list(wanted, "keyCredentials")
        existing = {c["key_id"]: c for c in self.directory.credentials(app["app_id"], "certificate", conn)}
        keep: set[str] = set()
        for entry in entries:
            key_id = str(entry.get("keyId") or "").lower()
            if not entry.get("key"):
                if key_id in existing:
                    keep.add(key_id)
                    continue
                raise _bad_request("Property 'key' is required on a new key credential.")
            if (
                str(entry.get("type") or "AsymmetricX509Cert") != "AsymmetricX509Cert"
                or str(entry.get("usage") or "Verify") != "Verify"
            ):
                raise _bad_request(
                    "Only key credentials of type 'AsymmetricX509Cert' with usage 'Verify' are supported."
                )
            try:
                client_certificates.load(str(entry["key"]))
            except ValueError:
                raise _bad_request("Invalid value specified for property 'key' of resource 'KeyCredential'.") from None
            if key_id in existing:
                self.directory.remove_credential(app["app_id"], key_id, conn)
            row = self.directory.add_certificate(
                app["app_id"],
                str(entry["key"]),
                display_name=_display_name(entry.get("displayName"), required=False),
                key_id=key_id if _is_uuid(key_id) else None,
                start_at=_epoch(entry.get("startDateTime"), 0, "startDateTime") or None,
                end_at=_epoch(entry.get("endDateTime"), 0, "endDateTime") or None,
                conn=conn,
            )
            keep.add(row["key_id"])
        if replace:
            for key_id in set(existing) - keep:
                self.directory.remove_credential(app["app_id"], key_id, conn)


# Properties a client may set on an application or service principal and read back verbatim.
_READ_ONLY = {"id", "appId", "createdDateTime", "deletedDateTime", "publisherDomain", "keyCredentials",
              "passwordCredentials", "owners", "graphAppRoles", "@odata.context", "@odata.type"}  # fmt: skip


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _READ_ONLY and k != "displayName"}


def _strings(body: dict[str, Any], name: str) -> list[str]:
    """A collection of strings member (``ids``, ``types``); absent or null is empty."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_request(f"Invalid value specified for property '{name}': expected a collection of strings.")
    return value


def _owners(app: Row) -> list[str]:
    return list(app["data"].get("owners", []))


def _list(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _bad_request(f"Property '{name}' must be a list of objects.")
    return value


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _key_credential(row: Row) -> dict[str, Any]:
    return {
        "customKeyIdentifier": row["thumbprint"],
        "displayName": row["display_name"] or None,
        "endDateTime": _iso(row["end_at"]),
        "key": None,
        "keyId": row["key_id"],
        "startDateTime": _iso(row["start_at"]),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }


def _password_credential(row: Row) -> dict[str, Any]:
    return {
        "customKeyIdentifier": None,
        "displayName": row["display_name"] or None,
        "endDateTime": _iso(row["end_at"]),
        "hint": row["hint"],
        "keyId": row["key_id"],
        "secretText": None,
        "startDateTime": _iso(row["start_at"]),
    }


def _collection(request: Request, name: str, items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"@odata.context": f"{base_url(request)}/v1.0/$metadata#{name}", "value": items})
