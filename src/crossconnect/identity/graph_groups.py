"""Microsoft Graph groups: security groups, their members (users, service principals, groups),
and the membership queries ``az ad group`` and ``az role assignment list --include-groups`` use.

Permissions follow Graph: ``Group.Read.All`` / ``Directory.Read.All`` (and the GroupMember ones)
read; ``Group.ReadWrite.All`` / ``Directory.ReadWrite.All`` create, change and delete groups and
their members; ``GroupMember.ReadWrite.All`` manages members only; a group's **owners** manage its
members. A Global Administrator user holds ``Group.ReadWrite.All``. A principal may always ask
which groups it belongs to itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crossconnect.identity.endpoints import base_url
from crossconnect.identity.graph import (
    GraphApi,
    GraphError,
    _bad_request,
    _collection,
    _denied,
    _iso,
    _not_found,
    parse_filter,
)
from crossconnect.identity.groups import GROUP, SERVICE_PRINCIPAL, USER, GroupDirectory
from crossconnect.identity.tokens import Principal

GROUP_READERS = {"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
                 "Directory.Read.All", "Directory.ReadWrite.All"}  # fmt: skip
GROUP_WRITERS = {"Group.ReadWrite.All", "Directory.ReadWrite.All"}
MEMBER_WRITERS = GROUP_WRITERS | {"GroupMember.ReadWrite.All"}
ODATA_TYPES = {USER: "#microsoft.graph.user", SERVICE_PRINCIPAL: "#microsoft.graph.servicePrincipal",
               GROUP: "#microsoft.graph.group"}  # fmt: skip
# "https://host/v1.0/directoryObjects/{id}" (what the CLI sends), or …/users|servicePrincipals|groups/{id}
_REF = re.compile(
    r"/(?:directoryObjects|users|servicePrincipals|groups)/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    re.IGNORECASE,
)
_ALREADY_OWNER = "One or more added object references already exist for the following modified properties: 'owners'."
_ALREADY_MEMBER = "One or more added object references already exist for the following modified properties: 'members'."

Row = dict[str, Any]
Handler = Callable[[Request, Principal], Awaitable[Response]]


class GraphGroupsApi:
    def __init__(self, graph: GraphApi, groups: GroupDirectory) -> None:
        self.graph = graph
        self.groups = groups
        graph.extra_objects.append(self._objects_by_ids)
        graph.deleted_principals.append(groups.forget_member)

    def routes(self) -> list[Route]:
        own: list[tuple[str, str, Handler]] = [
            ("GET", "/groups", self.list_groups),
            ("POST", "/groups", self.create_group),
            ("GET", "/groups/{id}", self.get_group),
            ("PATCH", "/groups/{id}", self.update_group),
            ("DELETE", "/groups/{id}", self.delete_group),
            ("GET", "/groups/{id}/members", self.list_members),
            ("GET", "/groups/{id}/transitiveMembers", self.list_transitive_members),
            ("POST", "/groups/{id}/members/$ref", self.add_member),
            ("DELETE", "/groups/{id}/members/{member}/$ref", self.remove_member),
            ("GET", "/groups/{id}/owners", self.list_owners),
            ("POST", "/groups/{id}/owners/$ref", self.add_owner),
            ("DELETE", "/groups/{id}/owners/{owner}/$ref", self.remove_owner),
            ("GET", "/groups/{id}/memberOf", self.member_of),
            ("GET", "/groups/{id}/transitiveMemberOf", self.transitive_member_of),
            ("GET", "/users/{id}/memberOf", self.member_of),
            ("GET", "/users/{id}/transitiveMemberOf", self.transitive_member_of),
            ("GET", "/servicePrincipals/{id}/memberOf", self.member_of),
            ("GET", "/servicePrincipals/{id}/transitiveMemberOf", self.transitive_member_of),
            ("POST", "/directoryObjects/{id}/checkMemberGroups", self.check_member_groups),
            ("POST", "/directoryObjects/{id}/getMemberGroups", self.get_member_groups),
            ("POST", "/directoryObjects/{id}/getMemberObjects", self.get_member_groups),
            ("POST", "/groups/{id}/getMemberGroups", self.get_member_groups),
        ]
        return [
            Route(f"/{version}{path}", self.graph._wrap(handler), methods=[method])
            for version in ("v1.0", "beta")
            for method, path, handler in own
        ]

    # -- permissions -------------------------------------------------------------------------
    def _granted(self, principal: Principal) -> set[str]:
        return self.graph._permissions(principal)

    def _require_read(self, principal: Principal) -> None:
        if not self._granted(principal) & GROUP_READERS:
            raise _denied()

    def _can_manage_members(self, principal: Principal, group: Row) -> bool:
        return bool(self._granted(principal) & MEMBER_WRITERS) or principal.object_id in _owners(group)

    def _group(self, principal: Principal, object_id: str) -> Row:
        group = self.groups.find(principal.tenant_id, object_id)
        if group is None:
            raise _not_found(object_id)
        return group

    # -- rendering ---------------------------------------------------------------------------
    def render_group(self, request: Request, group: Row) -> dict[str, Any]:
        return {
            "@odata.context": f"{base_url(request)}/v1.0/$metadata#groups/$entity",
            "id": group["object_id"],
            "deletedDateTime": None,
            "classification": None,
            "createdDateTime": _iso(group["created_at"]),
            "creationOptions": [],
            "description": group["description"],
            "displayName": group["display_name"],
            "expirationDateTime": None,
            "groupTypes": [],
            "isAssignableToRole": None,
            "mail": None,
            "mailEnabled": False,
            "mailNickname": group["mail_nickname"],
            "membershipRule": None,
            "onPremisesSyncEnabled": None,
            "proxyAddresses": [],
            "renewedDateTime": _iso(group["created_at"]),
            "securityEnabled": True,
            "securityIdentifier": None,
            "visibility": None,
        }

    def _render_object(self, request: Request, tenant_id: str, object_id: str) -> dict[str, Any] | None:
        """A member as Graph lists it (``@odata.type`` first); None when it is gone."""
        directory = self.graph.directory
        if (user := directory.find_user_by_object_id(tenant_id, object_id)) is not None:
            body, kind = self.graph.render_user(request, user), USER
        elif (sp := directory.find_service_principal_by_object_id(tenant_id, object_id)) is not None:
            body, kind = self.graph.render_service_principal(request, sp), SERVICE_PRINCIPAL
        elif (group := self.groups.find(tenant_id, object_id)) is not None:
            body, kind = self.render_group(request, group), GROUP
        else:
            return None
        body.pop("@odata.context", None)
        return {"@odata.type": ODATA_TYPES[kind], **body}

    def _objects(self, request: Request, tenant_id: str, ids: list[str]) -> list[dict[str, Any]]:
        rendered = (self._render_object(request, tenant_id, i) for i in ids)
        return [r for r in rendered if r is not None]

    def _objects_by_ids(self, request: Request, tenant_id: str, ids: set[str], types: set[str]) -> list[dict[str, Any]]:
        """``directoryObjects/getByIds``: the groups among ``ids``."""
        if types and "group" not in types:
            return []
        out = []
        for group in self.groups.all(tenant_id):
            if group["object_id"] in ids:
                body = self.render_group(request, group)
                body.pop("@odata.context", None)
                out.append({"@odata.type": ODATA_TYPES[GROUP], **body})
        return out

    # -- groups ------------------------------------------------------------------------------
    async def list_groups(self, request: Request, principal: Principal) -> Response:
        self._require_read(principal)
        keep = parse_filter(request.query_params.get("$filter"))
        items = [self.render_group(request, g) for g in self.groups.all(principal.tenant_id)]
        return _selected(request, "groups", [g for g in items if keep(g)])

    async def create_group(self, request: Request, principal: Principal) -> Response:
        if not self._granted(principal) & GROUP_WRITERS:
            raise _denied()
        body = await self.graph._body(request)
        name = _required_text(body, "displayName", 256)
        nickname = _required_text(body, "mailNickname", 64)
        if re.search(r"[@()\\\[\]\";:<>,\s]", nickname):
            raise _invalid_property("mailNickname")
        if body.get("mailEnabled") is not False or body.get("securityEnabled") is not True:
            raise _bad_request(
                "Only security groups can be created: 'mailEnabled' must be false and 'securityEnabled' true."
            )
        description = _optional_text(body, "description")
        owners = [self._ref_id(ref) for ref in _ref_list(body.get("owners@odata.bind"), "owners@odata.bind")]
        for owner in owners:
            if self._member_type(principal.tenant_id, owner) in (None, GROUP):
                raise _not_found(owner)
        if principal.claims.get("idtyp") == "user" and principal.object_id not in owners:
            owners.insert(0, principal.object_id)  # a user who creates a group owns it, as on Azure AD
        group = self.groups.create(
            principal.tenant_id, name, nickname, description=description, data={"owners": owners}
        )  # fmt: skip
        return JSONResponse(self.render_group(request, group), 201)

    async def get_group(self, request: Request, principal: Principal) -> Response:
        self._require_read(principal)
        group = self._group(principal, request.path_params["id"])
        return _selected_one(request, self.render_group(request, group))

    async def update_group(self, request: Request, principal: Principal) -> Response:
        group = self._group(principal, request.path_params["id"])
        if not self._granted(principal) & GROUP_WRITERS and principal.object_id not in _owners(group):
            raise _denied()
        body = await self.graph._body(request)
        values: dict[str, Any] = {}
        if "displayName" in body:
            values["display_name"] = _required_text(body, "displayName", 256)
        if "mailNickname" in body:
            values["mail_nickname"] = _required_text(body, "mailNickname", 64)
        if "description" in body:
            values["description"] = _optional_text(body, "description")
        for fixed, value in (("mailEnabled", False), ("securityEnabled", True)):
            if fixed in body and body[fixed] is not value:
                raise _invalid_property(fixed)
        if values:
            self.groups.update(group["object_id"], values)
        return Response(status_code=204)

    async def delete_group(self, request: Request, principal: Principal) -> Response:
        group = self._group(principal, request.path_params["id"])
        if not self._granted(principal) & GROUP_WRITERS and principal.object_id not in _owners(group):
            raise _denied()
        with self.groups.store.tx() as conn:
            self.groups.delete(group, conn)
        return Response(status_code=204)

    # -- members -----------------------------------------------------------------------------
    async def list_members(self, request: Request, principal: Principal) -> Response:
        self._require_read(principal)
        group = self._group(principal, request.path_params["id"])
        ids = [m["member_id"] for m in self.groups.members(group["object_id"])]
        return _selected(request, "directoryObjects", self._objects(request, principal.tenant_id, ids))

    async def list_transitive_members(self, request: Request, principal: Principal) -> Response:
        self._require_read(principal)
        group = self._group(principal, request.path_params["id"])
        rows = self.groups.transitive_members(principal.tenant_id, group["object_id"])
        ids = [m["member_id"] for m in rows]
        return _selected(request, "directoryObjects", self._objects(request, principal.tenant_id, ids))

    async def list_owners(self, request: Request, principal: Principal) -> Response:
        self._require_read(principal)
        group = self._group(principal, request.path_params["id"])
        return _selected(request, "directoryObjects", self._objects(request, principal.tenant_id, _owners(group)))

    async def add_owner(self, request: Request, principal: Principal) -> Response:
        """Owners are users or service principals; they manage the group's members."""
        group = self._group(principal, request.path_params["id"])
        if not self._granted(principal) & GROUP_WRITERS and principal.object_id not in _owners(group):
            raise _denied()
        body = await self.graph._body(request)
        owner_id = self._ref_id(body.get("@odata.id"))
        owner_type = self._member_type(principal.tenant_id, owner_id)
        if owner_type is None:
            raise _not_found(owner_id)
        if owner_type == GROUP:
            raise _bad_request(
                f"A group cannot own a group: '{owner_id}' is a group; owners are users or service principals."
            )
        if owner_id in _owners(group):
            raise _bad_request(_ALREADY_OWNER)
        self.groups.update(group["object_id"], {"data": {**group["data"], "owners": [*_owners(group), owner_id]}})
        return Response(status_code=204)

    async def remove_owner(self, request: Request, principal: Principal) -> Response:
        group = self._group(principal, request.path_params["id"])
        if not self._granted(principal) & GROUP_WRITERS and principal.object_id not in _owners(group):
            raise _denied()
        owner_id = request.path_params["owner"].lower()
        if owner_id not in _owners(group):
            raise _not_found(owner_id)
        owners = [o for o in _owners(group) if o != owner_id]
        self.groups.update(group["object_id"], {"data": {**group["data"], "owners": owners}})
        return Response(status_code=204)

    async def add_member(self, request: Request, principal: Principal) -> Response:
        group = self._group(principal, request.path_params["id"])
        if not self._can_manage_members(principal, group):
            raise _denied()
        body = await self.graph._body(request)
        member_id = self._ref_id(body.get("@odata.id"))
        member_type = self._member_type(principal.tenant_id, member_id)
        if member_type is None:
            raise _not_found(member_id)
        with self.groups.store.tx() as conn:
            if member_type == GROUP:
                self.groups.serialize_membership_writes(conn)
            if member_type == GROUP and (
                member_id == group["object_id"]
                or member_id in self.groups.member_of(principal.tenant_id, group["object_id"], conn)
            ):
                raise _bad_request(
                    f"Group '{member_id}' cannot be added as a member of group '{group['object_id']}': a group may "
                    "not be a member of itself or of any group nested in it (circular membership)."
                )
            if not self.groups.add_member(group, member_id, member_type, conn):
                raise _bad_request(_ALREADY_MEMBER)
        return Response(status_code=204)

    async def remove_member(self, request: Request, principal: Principal) -> Response:
        group = self._group(principal, request.path_params["id"])
        if not self._can_manage_members(principal, group):
            raise _denied()
        member_id = request.path_params["member"].lower()
        with self.groups.store.tx() as conn:
            if not self.groups.remove_member(group["object_id"], member_id, conn):
                raise _not_found(member_id)
        return Response(status_code=204)

    # -- memberships of an object ------------------------------------------------------------
    def _subject(self, request: Request, principal: Principal) -> str:
        """The object asked about; it must exist, and the caller may ask about itself or read groups."""
        object_id = request.path_params["id"].lower()
        if object_id != principal.object_id:
            self._require_read(principal)
        if self._member_type(principal.tenant_id, object_id) is None:
            raise _not_found(object_id)
        return object_id

    async def member_of(self, request: Request, principal: Principal) -> Response:
        object_id = self._subject(request, principal)
        tenant = principal.tenant_id
        ids = [
            r["group_id"] for r in self.groups.store.find_all("group_members", tenant_id=tenant, member_id=object_id)
        ]
        return _selected(request, "directoryObjects", self._objects(request, tenant, ids))

    async def transitive_member_of(self, request: Request, principal: Principal) -> Response:
        object_id = self._subject(request, principal)
        ids = sorted(self.groups.member_of(principal.tenant_id, object_id))
        return _selected(request, "directoryObjects", self._objects(request, principal.tenant_id, ids))

    async def check_member_groups(self, request: Request, principal: Principal) -> Response:
        object_id = self._subject(request, principal)
        body = await self.graph._body(request)
        wanted = body.get("groupIds")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(g, str) for g in wanted):
            raise _bad_request("Property 'groupIds' is required and must be a non-empty list of group ids.")
        if len(wanted) > 20:
            raise _bad_request("Property 'groupIds' may name at most 20 groups.")
        member_of = self.groups.member_of(principal.tenant_id, object_id)
        found = [g for g in wanted if g.lower() in member_of]
        return _strings(request, found)

    async def get_member_groups(self, request: Request, principal: Principal) -> Response:
        object_id = self._subject(request, principal)
        body = await self.graph._body(request)
        if "securityEnabledOnly" in body and not isinstance(body["securityEnabledOnly"], bool):
            raise _invalid_property("securityEnabledOnly")
        return _strings(request, sorted(self.groups.member_of(principal.tenant_id, object_id)))

    # -- helpers -----------------------------------------------------------------------------
    def _member_type(self, tenant_id: str, object_id: str) -> str | None:
        directory = self.graph.directory
        if directory.find_user_by_object_id(tenant_id, object_id) is not None:
            return USER
        if directory.find_service_principal_by_object_id(tenant_id, object_id) is not None:
            return SERVICE_PRINCIPAL
        if self.groups.find(tenant_id, object_id) is not None:
            return GROUP
        return None

    @staticmethod
    def _ref_id(value: Any) -> str:
        if value is None or value == "":
            raise _bad_request("Property '@odata.id' is required: the URL of the directory object to reference.")
        match = _REF.search(str(value).strip().rstrip("/")) if isinstance(value, str) else None
        if match is None:
            raise _bad_request(f"Invalid object identifier '{value}' in property '@odata.id'.")
        return match.group(1).lower()


def _owners(group: Row) -> list[str]:
    return list(group["data"].get("owners", []))


def _invalid_property(name: str) -> GraphError:
    return _bad_request(f"Invalid value specified for property '{name}' of resource 'Group'.")


def _required_text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _invalid_property(name)
    return value.strip()


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 1024:
        raise _invalid_property(name)
    return value or None


def _ref_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_request(f"Property '{name}' must be a list of directory object URLs.")
    return value


def _selected(request: Request, name: str, items: list[dict[str, Any]]) -> JSONResponse:
    """A collection, with ``$select`` applied to each item."""
    fields = _select_fields(request)
    items = [{k: v for k, v in item.items() if k != "@odata.context"} for item in items]  # only on the collection
    if fields:
        items = [_pick(item, fields) for item in items]
    return _collection(request, name, items)


def _selected_one(request: Request, item: dict[str, Any]) -> JSONResponse:
    fields = _select_fields(request)
    return JSONResponse(_pick(item, fields) if fields else item)


def _select_fields(request: Request) -> list[str]:
    text = request.query_params.get("$select", "")
    fields = [f.strip() for f in text.split(",") if f.strip()]
    for f in fields:
        if not re.fullmatch(r"[A-Za-z@.]+", f):
            raise _bad_request(f"Parsing OData Select and Expand failed: Term '{f}' is not valid in a $select.")
    return fields


def _pick(item: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    keep = {f.lower() for f in fields} | {"@odata.type", "@odata.context"}
    return {k: v for k, v in item.items() if k.lower() in keep}


def _strings(request: Request, values: list[str]) -> JSONResponse:
    return JSONResponse(
        {"@odata.context": f"{base_url(request)}/v1.0/$metadata#Collection(Edm.String)", "value": values}
    )
