"""Microsoft.Authorization/roleDefinitions: built-in roles (read-only) and custom roles.

Routes live below any scope (``/{scope}/providers/Microsoft.Authorization/roleDefinitions``) and
at the root (``/providers/Microsoft.Authorization/roleDefinitions``, which is what a role
definition id without a subscription points at). Built-in roles are visible everywhere; a custom
role is visible in its own tenant, where one of its assignable scopes is at or above the scope.
"""

from __future__ import annotations

import re
from typing import Any

from crossconnect.arm.api_versions import AUTHORIZATION_VERSIONS, ApiVersions
from crossconnect.arm.bodies import required_properties
from crossconnect.arm.errors import BadRequest, Conflict, Forbidden, NotFound, authorization_failed
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.arm.providers import add_resource_type
from crossconnect.arm.routing import Router
from crossconnect.authz import scopes
from crossconnect.authz.actions import Permission
from crossconnect.authz.repository import RbacRepository
from crossconnect.authz.roles import BUILT_IN_ROLES, CUSTOM, RoleDefinition

VERSIONS = ApiVersions.of(AUTHORIZATION_VERSIONS)
TYPE = "Microsoft.Authorization/roleDefinitions"
SCOPED = "/subscriptions/{subscriptionId}/{scopePath:path}/providers/Microsoft.Authorization/roleDefinitions"
ROOT = "/providers/Microsoft.Authorization/roleDefinitions"

_CLAUSE = re.compile(r"^\s*(?P<field>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
_FUNCTION = re.compile(r"^\s*(?P<name>\w+)\(\s*(?:'(?P<value>(?:[^']|'')*)')?\s*\)\s*$", re.IGNORECASE)


# -- shared with role assignments ----------------------------------------------------------------


def repository(request: ArmRequest) -> RbacRepository:
    return request.services.authorizer.index.repository


def request_scope(request: ArmRequest) -> str:
    """The scope a ``/subscriptions/{s}/{scopePath:path}/providers/Microsoft.Authorization/...``
    request is about (root for the root routes)."""
    if "subscriptionId" not in request.params:
        return scopes.ROOT
    below = request.params.get("scopePath", "")
    return scopes.normalize(f"/subscriptions/{request.params['subscriptionId']}/{below}")


def parse_scope(request: ArmRequest) -> scopes.Scope:
    scope = request_scope(request)
    parsed = scopes.parse(scope)
    if parsed is None:
        raise BadRequest(
            f"The scope '{scope}' is not valid. Valid scopes are a subscription, a resource group or a resource.",
            "InvalidScope",
        )
    return parsed


def parse_filter(request: ArmRequest, fields: set[str], functions: set[str]) -> dict[str, str]:
    """``$filter``: clauses joined by ``and``; ``field eq 'value'`` or ``function('value')``.
    Returns {lowercased field or function name: value ('' for ``atScope()``)}."""
    text = request.query.get("$filter", "").strip()
    found: dict[str, str] = {}
    if not text:
        return found
    for clause in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if match and match.group("field").lower() in fields:
            found[match.group("field").lower()] = match.group("value").replace("''", "'")
            continue
        match = _FUNCTION.match(clause)
        if match and match.group("name").lower() in functions:
            found[match.group("name").lower()] = (match.group("value") or "").replace("''", "'")
            continue
        raise BadRequest(f"The filter '{text}' is not supported.", "UnsupportedFilter")
    return found


# -- rendering -----------------------------------------------------------------------------------


def render(role: RoleDefinition, subscription_id: str | None) -> dict[str, Any]:
    return {
        "id": scopes.role_definition_id(role.id, subscription_id),
        "type": TYPE,
        "name": role.id,
        "properties": {
            "roleName": role.role_name,
            "type": role.role_type,
            "description": role.description,
            "assignableScopes": list(role.assignable_scopes),
            "permissions": [p.to_json() for p in role.permissions],
            "createdOn": role.created_on,
            "updatedOn": role.updated_on,
            "createdBy": role.created_by,
            "updatedBy": role.updated_by,
        },
    }


def visible_roles(request: ArmRequest, scope_key: str) -> list[RoleDefinition]:
    """Built-in roles, then the tenant's custom roles assignable at ``scope_key``."""
    custom = repository(request).custom_roles(tenant_id=request.principal.tenant_id)
    if scope_key != scopes.ROOT:
        custom = [r for r in custom if any(scopes.covers(scopes.key(s), scope_key) for s in r.assignable_scopes)]
    return [*BUILT_IN_ROLES.values(), *custom]


def find_visible_role(request: ArmRequest, guid: str) -> RoleDefinition | None:
    role = repository(request).find_role(guid) if scopes.is_guid(guid) else None
    if role is None or (not role.is_built_in and role.tenant_id != request.principal.tenant_id):
        return None
    return role


def does_not_exist(guid: str) -> NotFound:
    return NotFound(f"The specified role definition with ID '{guid}' does not exist.", "RoleDefinitionDoesNotExist")


def _subscription(request: ArmRequest) -> str | None:
    return request.subscription_id if "subscriptionId" in request.params else None


# -- handlers ------------------------------------------------------------------------------------


async def get_role_definition(request: ArmRequest) -> ArmResponse:
    if "subscriptionId" in request.params:
        parse_scope(request)
    role = find_visible_role(request, request.params["roleDefinitionId"])
    if role is None:
        raise does_not_exist(request.params["roleDefinitionId"])
    return ArmResponse(200, render(role, _subscription(request)))


async def list_role_definitions(request: ArmRequest) -> ArmResponse:
    scope_key = parse_scope(request).key if "subscriptionId" in request.params else scopes.ROOT
    wanted = parse_filter(request, {"rolename", "type"}, set())
    roles = visible_roles(request, scope_key)
    if "rolename" in wanted:
        roles = [r for r in roles if r.role_name.lower() == wanted["rolename"].lower()]
    if "type" in wanted:
        roles = [r for r in roles if r.role_type.lower() == wanted["type"].lower()]
    subscription = _subscription(request)
    return page_static(request, [render(r, subscription) for r in roles])


async def put_role_definition(request: ArmRequest) -> ArmResponse:
    parse_scope(request)
    guid = request.params["roleDefinitionId"]
    if not scopes.is_guid(guid):
        raise BadRequest(f"The role definition ID '{guid}' is not valid. It must be a GUID.", "InvalidRoleDefinitionId")
    guid = guid.lower()
    if guid in BUILT_IN_ROLES:
        raise Forbidden(f"The built-in role definition '{guid}' cannot be changed.", "BuiltInRoleCannotBeModified")
    repo = repository(request)
    tenant = request.principal.tenant_id
    existing = repo.find_role(guid)
    if existing is not None and existing.tenant_id != tenant:
        raise Conflict(f"The role definition ID '{guid}' is already in use.", "RoleDefinitionIdConflict")
    role = _parse_custom_role(request, guid, tenant)
    _authorize_assignable_scopes(request, role, "write")
    with request.services.store.tx() as conn:
        repo.lock(conn)
        existing = repo.find_role(guid, conn)  # again, now that no other change can come between
        if existing is not None and existing.tenant_id != tenant:
            raise Conflict(f"The role definition ID '{guid}' is already in use.", "RoleDefinitionIdConflict")
        same_name = repo.role_named(tenant, role.role_name, conn)
        if same_name is not None and same_name.id != guid:
            raise Conflict(
                "A role definition cannot be updated with a name that already exists.",
                "RoleDefinitionWithSameNameExists",
            )
        saved = repo.save_custom_role(role, request.principal.object_id, conn)
    return ArmResponse(201, render(saved, _subscription(request)))


async def delete_role_definition(request: ArmRequest) -> ArmResponse:
    parse_scope(request)
    guid = request.params["roleDefinitionId"].lower()
    if guid in BUILT_IN_ROLES:
        raise Forbidden(f"The built-in role definition '{guid}' cannot be deleted.", "BuiltInRoleCannotBeModified")
    role = find_visible_role(request, guid)
    if role is None:
        return ArmResponse(204)
    _authorize_assignable_scopes(request, role, "delete")
    repo = repository(request)
    with request.services.store.tx() as conn:
        repo.lock(conn)  # an assignment of this role created meanwhile is counted
        if repo.store.count("role_assignments", conn, role_definition_id=guid):
            raise Conflict(
                "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).",
                "RoleDefinitionHasAssignments",
            )
        repo.delete_custom_role(guid, conn)
    return ArmResponse(200, render(role, _subscription(request)))


# -- validation ----------------------------------------------------------------------------------


def _parse_custom_role(request: ArmRequest, guid: str, tenant: str) -> RoleDefinition:
    props = required_properties(request.json_body())
    name = props.get("roleName")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("The role name cannot be null or empty.", "RoleDefinitionNameNullOrEmpty")
    role_type = props.get("type") or CUSTOM
    if str(role_type).lower() != CUSTOM.lower():
        raise BadRequest(
            f"The role type '{role_type}' is not valid: only 'CustomRole' can be created.", "InvalidRoleType"
        )
    raw_permissions = props.get("permissions")
    if not isinstance(raw_permissions, list) or not all(isinstance(p, dict) for p in raw_permissions):
        raise BadRequest("The role definition must have a list of permissions.", "InvalidRoleDefinitionPermissions")
    for p in raw_permissions:
        for field in ("actions", "notActions", "dataActions", "notDataActions"):
            value = p.get(field)
            if value is not None and (not isinstance(value, list) or not all(isinstance(a, str) for a in value)):
                raise BadRequest(
                    f"'permissions[].{field}' must be a list of strings.", "InvalidRoleDefinitionPermissions"
                )
    assignable = props.get("assignableScopes")
    if not isinstance(assignable, list) or not assignable or not all(isinstance(s, str) for s in assignable):
        raise BadRequest("The assignable scopes cannot be null or empty.", "InvalidAssignableScopes")
    normalized = [_assignable_scope(request, s, tenant) for s in assignable]
    description = props.get("description")
    return RoleDefinition(
        id=guid,
        role_name=name.strip(),
        description=description if isinstance(description, str) else "",
        role_type=CUSTOM,
        permissions=tuple(Permission.from_json(p) for p in raw_permissions),
        assignable_scopes=tuple(normalized),
        tenant_id=tenant,
    )


def _assignable_scope(request: ArmRequest, scope: str, tenant: str) -> str:
    parsed = scopes.parse(scope)
    if parsed is None:
        raise BadRequest(
            f"The assignable scope '{scope}' is not valid: a custom role is assignable at subscriptions, "
            "resource groups or resources, never at the root.",
            "InvalidAssignableScopes",
        )
    subscription = request.services.store.find("subscriptions", id=parsed.subscription_id)
    if subscription is None or subscription["tenant_id"] != tenant:
        raise BadRequest(
            f"The assignable scope '{scope}' is not valid: subscription '{parsed.subscription_id}' is not in "
            "this tenant.",
            "InvalidAssignableScopes",
        )
    return parsed.text


def _authorize_assignable_scopes(request: ArmRequest, role: RoleDefinition, verb: str) -> None:
    """Changing a custom role needs the right at every scope it is assignable at, not only at
    the scope in the URL (the protocol checked that one)."""
    action = f"{TYPE}/{verb}"
    principal = request.principal
    for scope in role.assignable_scopes:
        if not request.services.authorizer.check(principal, action, scope, principal.tenant_id).allowed:
            raise authorization_failed(principal.app_id or principal.object_id, principal.object_id, action, scope)


def register_endpoints(router: Router) -> None:
    add_resource_type("Microsoft.Authorization", "roleDefinitions", list(VERSIONS.versions))
    item = SCOPED + "/{roleDefinitionId}"
    router.add(Endpoint("GET", item, get_role_definition, VERSIONS, f"{TYPE}/read"))
    router.add(Endpoint("PUT", item, put_role_definition, VERSIONS, f"{TYPE}/write"))
    router.add(Endpoint("DELETE", item, delete_role_definition, VERSIONS, f"{TYPE}/delete"))
    router.add(Endpoint("GET", SCOPED, list_role_definitions, VERSIONS, f"{TYPE}/read"))
    # The root: built-in roles (and the caller's tenant's custom roles) need no subscription.
    router.add(
        Endpoint("GET", ROOT + "/{roleDefinitionId}", get_role_definition, VERSIONS, f"{TYPE}/read",
                 needs_subscription=False)
    )  # fmt: skip
    router.add(Endpoint("GET", ROOT, list_role_definitions, VERSIONS, f"{TYPE}/read", needs_subscription=False))
