"""Microsoft.Authorization/roleAssignments below a subscription, a resource group or a resource.

One set of routes with a ``{scopePath:path}`` segment serves every scope and the ``…ById``
operations (a role assignment id *is* ``{scope}/providers/Microsoft.Authorization/roleAssignments/{name}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossconnect import clock
from crossconnect.arm.bodies import required_properties
from crossconnect.arm.errors import BadRequest, Conflict, NotFound, resource_group_not_found, resource_not_found
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page
from crossconnect.authz import scopes
from crossconnect.authz.repository import RoleAssignment
from crossconnect.authz.roles import RoleDefinition, iso_time
from crossconnect.identity.groups import GroupDirectory
from crossconnect.resources.providers import add_resource_type
from crossconnect.resources.role_definitions import VERSIONS, find_visible_role, parse_filter, parse_scope, repository

TYPE = "Microsoft.Authorization/roleAssignments"
SCOPED = "/subscriptions/{subscriptionId}/{scopePath:path}/providers/Microsoft.Authorization/roleAssignments"
PRINCIPAL_TYPES = {
    "user": "User",
    "group": "Group",
    "serviceprincipal": "ServicePrincipal",
    "foreigngroup": "ForeignGroup",
}


def render(a: RoleAssignment) -> dict[str, Any]:
    return {
        "properties": {
            "roleDefinitionId": scopes.role_definition_id(a.role_definition_id, a.subscription_id),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
            "condition": a.condition,
            "conditionVersion": a.condition_version,
            "createdOn": iso_time(a.created_at),
            "updatedOn": iso_time(a.updated_at),
            "createdBy": a.created_by or None,
            "updatedBy": a.updated_by or None,
            "delegatedManagedIdentityResourceId": None,
            "description": a.description,
        },
        "id": a.id,
        "type": TYPE,
        "name": a.name,
    }


def _not_found(name: str) -> NotFound:
    return NotFound(f"The role assignment '{name}' is not found.", "RoleAssignmentNotFound")


# -- handlers ------------------------------------------------------------------------------------


async def get_assignment(request: ArmRequest) -> ArmResponse:
    scope = parse_scope(request)
    found = repository(request).find_assignment(_key(scope, request.params["roleAssignmentName"]))
    if found is None:
        raise _not_found(request.params["roleAssignmentName"])
    return ArmResponse(200, render(found))


async def delete_assignment(request: ArmRequest) -> ArmResponse:
    scope = parse_scope(request)
    repo = repository(request)
    with request.services.store.tx() as conn:
        repo.lock(conn)
        found = repo.find_assignment(_key(scope, request.params["roleAssignmentName"]), conn)
        if found is None:
            return ArmResponse(204)
        repo.delete_assignment(found.key, conn)
    return ArmResponse(200, render(found))


async def put_assignment(request: ArmRequest) -> ArmResponse:
    scope = parse_scope(request)
    name = request.params["roleAssignmentName"]
    if not scopes.is_guid(name):
        raise BadRequest(
            f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
            "InvalidRoleAssignmentId",
        )
    wanted = _parse_body(request, scope)
    _check_scope_exists(request, scope)
    repo = repository(request)
    with request.services.store.tx() as conn:
        repo.lock(conn)  # a role definition changed meanwhile is read as it is now
        _check_assignable(repo.find_role(wanted.role_definition_id, conn), wanted.role_definition_id, scope)
        existing = repo.find_assignment(_key(scope, name), conn)
        if existing is not None:
            if (existing.principal_id, existing.role_definition_id) != (wanted.principal_id, wanted.role_definition_id):
                raise Conflict(
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                    "RoleAssignmentUpdateNotPermitted",
                )
            return ArmResponse(200, render(existing))
        for other in repo.assignments(conn, principal_id=wanted.principal_id, scope_key=scope.key):
            if other.role_definition_id == wanted.role_definition_id:
                raise Conflict("The role assignment already exists.", "RoleAssignmentExists")
        now = clock.now()
        by = request.principal.object_id
        created = repo.create_assignment(
            RoleAssignment(
                name=name.lower(),
                scope=scope.text,
                subscription_id=scope.subscription_id,
                tenant_id=request.principal.tenant_id,
                principal_id=wanted.principal_id,
                principal_type=wanted.principal_type,
                role_definition_id=wanted.role_definition_id,
                description=wanted.description,
                condition=wanted.condition,
                condition_version=wanted.condition_version,
                created_at=now,
                updated_at=now,
                created_by=by,
                updated_by=by,
            ),
            conn,
        )
    return ArmResponse(201, render(created))


async def list_assignments(request: ArmRequest) -> ArmResponse:
    """At, above and below the scope; ``atScope()``: at and above only; ``principalId eq``: one
    principal's own; ``assignedTo()``: one principal's own and those of every group it belongs to,
    directly or nested (as Azure expands them)."""
    scope_key = parse_scope(request).key
    wanted = parse_filter(request, {"principalid"}, {"atscope", "assignedto"})
    principals: set[str] = set()
    if wanted.get("principalid"):
        principals = {wanted["principalid"].lower()}
    elif wanted.get("assignedto"):
        principal = wanted["assignedto"].lower()
        principals = {principal, *request.services.authorizer.index.current().groups_of(principal)}
    at_scope = "atscope" in wanted
    store = request.services.store

    def keep(row: dict[str, Any]) -> bool:
        if principals and row["principal_id"] not in principals:
            return False
        if at_scope:
            return scopes.covers(row["scope_key"], scope_key)
        return scopes.related(row["scope_key"], scope_key)

    def fetch(after: int, limit: int) -> list[dict[str, Any]]:
        rows = store.find_all("role_assignments", after_seq=after, subscription_id=request.subscription_id)
        return [r for r in rows if keep(r)][:limit]

    return page(request, fetch, lambda row: render(RoleAssignment.from_row(row)))


# -- validation ----------------------------------------------------------------------------------


def _key(scope: scopes.Scope, name: str) -> str:
    return f"{scope.text}/providers/Microsoft.Authorization/roleAssignments/{name}".lower()


@dataclass(frozen=True)
class _Requested:
    """What a PUT body asks for, validated."""

    principal_id: str
    principal_type: str
    role_definition_id: str
    description: str | None
    condition: str | None
    condition_version: str | None


def _parse_body(request: ArmRequest, scope: scopes.Scope) -> _Requested:
    props = required_properties(request.json_body())
    for field in ("roleDefinitionId", "principalId"):
        if not isinstance(props.get(field), str) or not props[field].strip():
            raise BadRequest(
                "The request content was invalid and could not be deserialized: "
                f"'Required property '{field}' not found in JSON. Path 'properties'.'",
                "InvalidRequestContent",
                target=f"properties.{field}",
            )
    given_scope = props.get("scope")
    if isinstance(given_scope, str) and given_scope and scopes.key(given_scope) != scope.key:
        raise BadRequest(
            f"The request to create role assignment '{request.params['roleAssignmentName']}' is not valid. Role "
            f"assignment scope '{given_scope}' must match the scope specified on the URI '{scope.text}'.",
            "InvalidCreateRoleAssignmentRequest",
        )
    role_definition_id = props["roleDefinitionId"].strip()
    guid = scopes.role_definition_guid(role_definition_id)
    if guid is None:
        raise BadRequest(f"The role definition ID '{role_definition_id}' is not valid.", "InvalidRoleDefinitionId")
    _check_assignable(find_visible_role(request, guid), guid, scope)
    principal_id = props["principalId"].strip().lower()
    tenant = request.principal.tenant_id
    directory = request.services.directory
    if directory.find_service_principal_by_object_id(tenant, principal_id) is not None:
        actual_type = "ServicePrincipal"
    elif directory.find_user_by_object_id(tenant, principal_id) is not None:
        actual_type = "User"
    elif GroupDirectory(request.services.store).find(tenant, principal_id) is not None:
        actual_type = "Group"
    else:
        raise BadRequest(
            f"Principal {principal_id.replace('-', '')} does not exist in the directory {tenant}. Check that you "
            "have the correct principal ID. If you are creating this principal and then immediately assigning a "
            "role, this error might be related to a replication delay. In this case, set the role assignment "
            "principalType property to a value, such as ServicePrincipal, User, or Group.  See "
            "https://aka.ms/docs-principaltype",
            "PrincipalNotFound",
        )
    principal_type = props.get("principalType")
    if principal_type is not None:
        canonical = PRINCIPAL_TYPES.get(str(principal_type).lower())
        if canonical is None:
            raise BadRequest(f"The principal type '{principal_type}' is not valid.", "InvalidPrincipalType")
        if canonical != actual_type:
            raise BadRequest(
                f"The PrincipalId '{principal_id.replace('-', '')}' has type '{actual_type}' , which is different "
                f"from specified PrincipalType '{canonical}'.",
                "UnmatchedPrincipalType",
            )

    def text(field: str) -> str | None:
        value = props.get(field)
        return value if isinstance(value, str) and value else None

    return _Requested(
        principal_id=principal_id,
        principal_type=actual_type,
        role_definition_id=guid,
        description=text("description"),
        condition=text("condition"),
        condition_version=text("conditionVersion"),
    )


def _check_assignable(role: RoleDefinition | None, guid: str, scope: scopes.Scope) -> None:
    if role is None:
        raise BadRequest(
            f"The specified role definition with ID '{guid}' does not exist.", "RoleDefinitionDoesNotExist"
        )
    if not role.assignable_at(scope.key):
        raise BadRequest(
            f"The role definition '{guid}' is not assignable at scope '{scope.text}': its assignable scopes are "
            f"{', '.join(role.assignable_scopes)}.",
            "RoleDefinitionNotAssignableAtScope",
        )


def _check_scope_exists(request: ArmRequest, scope: scopes.Scope) -> None:
    store = request.services.store
    if scope.group_id is not None and store.get_resource(scope.group_id.lower()) is None:
        raise resource_group_not_found(scope.resource_group or "")
    if scope.resource_path is not None and store.get_resource(scope.key) is None:
        parts = scope.resource_path.split("/")[1:]  # drop "providers"
        type_name = "/".join([parts[0], *parts[1::2]])
        raise resource_not_found(type_name, parts[-1], scope.resource_group or "")


def endpoints() -> list[Endpoint]:
    out: list[Endpoint] = []
    add_resource_type("Microsoft.Authorization", "roleAssignments", list(VERSIONS.versions))
    item = SCOPED + "/{roleAssignmentName}"
    out.append(Endpoint("GET", item, get_assignment, VERSIONS, f"{TYPE}/read"))
    out.append(Endpoint("PUT", item, put_assignment, VERSIONS, f"{TYPE}/write"))
    out.append(Endpoint("DELETE", item, delete_assignment, VERSIONS, f"{TYPE}/delete"))
    out.append(Endpoint("GET", SCOPED, list_assignments, VERSIONS, f"{TYPE}/read"))
    return out
