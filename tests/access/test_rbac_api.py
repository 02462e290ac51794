"""Microsoft.Authorization through azure-mgmt-authorization 4.0.0 (and raw HTTPS for the
versions the Azure CLI sends): role definitions, custom roles, role assignments at every scope,
their filters and errors, and changes taking effect on the very next request."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support import Server, rbac
from tests.support.network import XC_GROUP, provisioned_circuit

AUTHZ = "/providers/Microsoft.Authorization"


def _admin(server: Server) -> Any:
    return rbac.authorization(server, rbac.seeded(server, "admin"), server.subscription("partner"))


def _error(call: Any) -> tuple[int, str, str]:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.error is not None
    return info.value.status_code, str(info.value.error.code), str(info.value.error.message)


def _group(server: Server, name: str = "app-rg") -> str:
    admin = rbac.seeded(server, "admin")
    rbac.resources(server, admin, server.subscription("partner")).resource_groups.create_or_update(
        name, {"location": "westus"}
    )
    return f"/subscriptions/{server.subscription('partner')}/resourceGroups/{name}"


# -- role definitions ------------------------------------------------------------------------------
def test_built_in_roles_with_their_real_ids_and_actions(server: Server) -> None:
    client = _admin(server)
    sub = server.subscription("partner")
    found = list(client.role_definitions.list(f"/subscriptions/{sub}", filter="roleName eq 'Network Contributor'"))
    assert len(found) == 1
    nc = found[0]
    assert nc.name == "4d97b98b-1d4f-4787-a291-c67834d212e7"
    assert nc.id == f"/subscriptions/{sub}{AUTHZ}/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
    assert (nc.role_type, nc.assignable_scopes) == ("BuiltInRole", ["/"])
    assert nc.description == "Lets you manage networks, but not access to them."
    assert "Microsoft.Network/*" in nc.permissions[0].actions
    assert "Microsoft.Resources/subscriptions/resourceGroups/read" in nc.permissions[0].actions
    contributor = client.role_definitions.get(f"/subscriptions/{sub}", rbac.ROLE_IDS["Contributor"])
    assert contributor.role_name == "Contributor"
    assert contributor.permissions[0].actions == ["*"]
    assert "Microsoft.Authorization/*/Write" in contributor.permissions[0].not_actions
    names = {r.role_name for r in client.role_definitions.list(f"/subscriptions/{sub}", filter="type eq 'BuiltInRole'")}
    assert names == {"Owner", "Contributor", "Reader", "Network Contributor", "User Access Administrator"}
    # by id at the root, without a subscription (what a role definition id points at)
    owner = client.role_definitions.get_by_id(f"{AUTHZ}/roleDefinitions/{rbac.ROLE_IDS['Owner']}")
    assert (owner.role_name, owner.permissions[0].actions) == ("Owner", ["*"])
    assert owner.id == f"{AUTHZ}/roleDefinitions/{rbac.ROLE_IDS['Owner']}"
    with pytest.raises(ResourceNotFoundError) as info:
        client.role_definitions.get(f"/subscriptions/{sub}", str(uuid.uuid4()))
    assert info.value.error.code == "RoleDefinitionDoesNotExist"


def test_role_definitions_api_version_of_the_azure_cli(server: Server) -> None:
    """The CLI's role definitions use 2022-05-01-preview; ``roleName`` filters are case-insensitive."""
    sub = server.subscription("partner")
    with server.http("partner") as c:
        r = c.get(f"/subscriptions/{sub}{AUTHZ}/roleDefinitions",
                  params={"api-version": "2022-05-01-preview", "$filter": "roleName eq 'reader'"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert [d["name"] for d in r.json()["value"]] == [rbac.ROLE_IDS["Reader"]]
        r = c.get(f"/subscriptions/{sub}{AUTHZ}/roleDefinitions", params={"api-version": "2022-04-01",
                                                                           "$filter": "createdBy eq 'x'"})  # fmt: skip
        assert (r.status_code, r.json()["error"]["code"]) == (400, "UnsupportedFilter")


def test_custom_role_lifecycle(server: Server) -> None:
    client = _admin(server)
    sub = server.subscription("partner")
    scope = f"/subscriptions/{sub}"
    guid = rbac.create_custom_role(server, "Cross-connection auditor", ["Microsoft.Network/*/read"], [scope])
    role = client.role_definitions.get(scope, guid)
    assert (role.role_name, role.role_type, role.assignable_scopes) == (
        "Cross-connection auditor",
        "CustomRole",
        [scope],
    )
    assert role.permissions[0].actions == ["Microsoft.Network/*/read"]
    group = _group(server)
    # listed wherever it is assignable: at the subscription and below it
    assert guid in {r.name for r in client.role_definitions.list(group, filter="type eq 'CustomRole'")}
    # a second role with the same name is refused
    status, code, _ = _error(lambda: rbac.create_custom_role(server, "cross-connection AUDITOR", ["*/read"], [scope]))
    assert (status, code) == (409, "RoleDefinitionWithSameNameExists")
    # in use: cannot be deleted
    who = rbac.create_identity(server, "auditor")
    assignment = rbac.assign(server, who, guid, group)
    status, code, _ = _error(lambda: client.role_definitions.delete(scope, guid))
    assert (status, code) == (409, "RoleDefinitionHasAssignments")
    client.role_assignments.delete_by_id(assignment.id)
    deleted = client.role_definitions.delete(scope, guid)
    assert deleted.name == guid
    with pytest.raises(ResourceNotFoundError):
        client.role_definitions.get(scope, guid)


@pytest.mark.parametrize(
    ("scopes", "code"),
    [(["/"], "InvalidAssignableScopes"), ([], "InvalidAssignableScopes"), (["/tenants/x"], "InvalidAssignableScopes")],
)
def test_custom_role_needs_valid_assignable_scopes(server: Server, scopes: list[str], code: str) -> None:
    sub = server.subscription("partner")
    client = _admin(server)
    before = rbac.settled_snapshot(server)
    body = {"role_name": "Bad", "permissions": [{"actions": ["*/read"]}], "assignable_scopes": scopes}
    status, got, _ = _error(
        lambda: client.role_definitions.create_or_update(f"/subscriptions/{sub}", str(uuid.uuid4()), body)
    )
    assert (status, got) == (400, code)
    assert rbac.settled_snapshot(server) == before


def test_custom_role_assignable_only_in_its_own_tenant(server: Server) -> None:
    operator_tenant = server.env["operator"]["tenant_id"]
    r = server.operator("POST", "/subscriptions", {"tenantId": operator_tenant, "displayName": "Elsewhere"})
    elsewhere = r.json()["subscriptionId"]
    sub = server.subscription("partner")
    client = _admin(server)
    body = {"role_name": "Reach", "permissions": [{"actions": ["*/read"]}],
            "assignable_scopes": [f"/subscriptions/{sub}", f"/subscriptions/{elsewhere}"]}  # fmt: skip
    status, code, message = _error(
        lambda: client.role_definitions.create_or_update(f"/subscriptions/{sub}", str(uuid.uuid4()), body)
    )
    assert (status, code) == (400, "InvalidAssignableScopes") and elsewhere in message


def test_custom_role_changes_need_the_right_at_every_assignable_scope(server: Server) -> None:
    """Owner of the provider subscription only (User Access Administrator there), not of the customer's."""
    provider, customer = server.subscription("partner"), server.subscription("customer")
    who = rbac.create_identity(server, "half-owner")
    rbac.assign(server, who, rbac.ROLE_IDS["Owner"], f"/subscriptions/{provider}")
    client = rbac.authorization(server, who, provider)
    body = {"role_name": "Both", "permissions": [{"actions": ["*/read"]}],
            "assignable_scopes": [f"/subscriptions/{provider}", f"/subscriptions/{customer}"]}  # fmt: skip
    rbac.assert_denied(
        server,
        lambda: client.role_definitions.create_or_update(f"/subscriptions/{provider}", str(uuid.uuid4()), body),
        "Microsoft.Authorization/roleDefinitions/write",
        f"/subscriptions/{customer}",
    )


def test_built_in_roles_cannot_be_changed(server: Server) -> None:
    sub = server.subscription("partner")
    client = _admin(server)
    body = {"role_name": "Owner", "permissions": [{"actions": ["*"]}], "assignable_scopes": [f"/subscriptions/{sub}"]}
    status, code, _ = _error(
        lambda: client.role_definitions.create_or_update(f"/subscriptions/{sub}", rbac.ROLE_IDS["Owner"], body)
    )
    assert (status, code) == (403, "BuiltInRoleCannotBeModified")
    status, code, _ = _error(lambda: client.role_definitions.delete(f"/subscriptions/{sub}", rbac.ROLE_IDS["Reader"]))
    assert (status, code) == (403, "BuiltInRoleCannotBeModified")


def test_contributor_cannot_create_custom_roles(server: Server) -> None:
    customer = rbac.seeded(server, "customer")  # Contributor on the customer subscription
    sub = server.subscription("customer")
    client = rbac.authorization(server, customer, sub)
    body = {"role_name": "Mine", "permissions": [{"actions": ["*"]}], "assignable_scopes": [f"/subscriptions/{sub}"]}
    rbac.assert_denied(
        server,
        lambda: client.role_definitions.create_or_update(f"/subscriptions/{sub}", str(uuid.uuid4()), body),
        "Microsoft.Authorization/roleDefinitions/write",
    )


# -- role assignments ------------------------------------------------------------------------------
def test_assignments_at_every_scope_and_their_lists(server: Server) -> None:
    client = _admin(server)
    sub = server.subscription("partner")
    _, xc = provisioned_circuit(server)
    group_scope = f"/subscriptions/{sub}/resourceGroups/{XC_GROUP}"
    who = rbac.create_identity(server, "lister")
    at_sub = rbac.assign(server, who, rbac.ROLE_IDS["Reader"], f"/subscriptions/{sub}")
    at_group = rbac.assign(server, who, rbac.ROLE_IDS["Network Contributor"], group_scope)
    at_resource = rbac.assign(server, who, rbac.ROLE_IDS["Contributor"], xc.id)
    assert at_group.scope == group_scope and at_group.principal_type == "ServicePrincipal"
    assert at_group.id == f"{group_scope}{AUTHZ}/roleAssignments/{at_group.name}"
    assert at_group.role_definition_id == rbac.role_definition_id(sub, rbac.ROLE_IDS["Network Contributor"])
    assert at_resource.scope == xc.id
    # get, by scope and name and by id
    assert client.role_assignments.get(group_scope, at_group.name).principal_id == who.object_id
    assert client.role_assignments.get_by_id(at_resource.id).scope == xc.id

    def names(pager: Any) -> set[str]:
        return {a.name for a in pager if a.principal_id == who.object_id}

    mine = {at_sub.name, at_group.name, at_resource.name}
    assert names(client.role_assignments.list_for_subscription()) == mine
    # a group's list: at, above and below it; atScope(): at and above only
    assert names(client.role_assignments.list_for_resource_group(XC_GROUP)) == mine
    assert names(client.role_assignments.list_for_scope(group_scope, filter="atScope()")) == {
        at_sub.name,
        at_group.name,
    }
    name = xc.name
    on_resource = client.role_assignments.list_for_resource(
        XC_GROUP, "Microsoft.Network", "expressRouteCrossConnections", name
    )
    assert names(on_resource) == mine
    # principalId filter: everything of that principal in the subscription
    filtered = list(client.role_assignments.list_for_subscription(filter=f"principalId eq '{who.object_id}'"))
    assert {a.name for a in filtered} == mine
    # an unrelated group sees only what is above it
    other = _group(server, "other-rg")
    assert names(client.role_assignments.list_for_scope(other)) == {at_sub.name}


def test_delete_assignment(server: Server) -> None:
    client = _admin(server)
    who = rbac.create_identity(server, "short-lived")
    group = _group(server)
    made = rbac.assign(server, who, rbac.ROLE_IDS["Reader"], group)
    gone = client.role_assignments.delete(group, made.name)
    assert gone is not None and gone.name == made.name
    assert client.role_assignments.delete(group, made.name) is None  # 204 the second time
    with pytest.raises(ResourceNotFoundError) as info:
        client.role_assignments.get(group, made.name)
    assert info.value.error.code == "RoleAssignmentNotFound"
    again = rbac.assign(server, who, rbac.ROLE_IDS["Reader"], group)
    client.role_assignments.delete_by_id(again.id)
    assert not [a for a in client.role_assignments.list_for_scope(group) if a.principal_id == who.object_id]


def _create(
    client: Any, scope: str, name: str, role: str, principal: str, principal_type: str = "ServicePrincipal"
) -> Any:
    sub = scope.split("/")[2]
    return client.role_assignments.create(
        scope, name,
        {"role_definition_id": rbac.role_definition_id(sub, role), "principal_id": principal,
         "principal_type": principal_type},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unknown principal", 400, "PrincipalNotFound"),
        ("principal of another tenant", 400, "PrincipalNotFound"),
        ("unknown role", 400, "RoleDefinitionDoesNotExist"),
        ("malformed role id", 400, "InvalidRoleDefinitionId"),
        ("name not a GUID", 400, "InvalidRoleAssignmentId"),
        ("principal type User for a service principal", 400, "UnmatchedPrincipalType"),
        ("missing resource group", 404, "ResourceGroupNotFound"),
        ("missing resource", 404, "ResourceNotFound"),
        ("same role again under another name", 409, "RoleAssignmentExists"),
        ("same name, another role", 409, "RoleAssignmentUpdateNotPermitted"),
    ],
)
def test_assignment_errors(server: Server, case: str, status: int, code: str) -> None:
    client = _admin(server)
    sub = server.subscription("partner")
    group = _group(server)
    who = rbac.create_identity(server, "errors")
    existing = rbac.assign(server, who, rbac.ROLE_IDS["Reader"], group)
    reader = rbac.ROLE_IDS["Reader"]
    name = str(uuid.uuid4())
    calls = {
        "unknown principal": lambda: _create(client, group, name, reader, str(uuid.uuid4())),
        "principal of another tenant": lambda: _create(
            client, group, name, reader, server.env["operator"]["object_id"]),
        "unknown role": lambda: _create(client, group, name, str(uuid.uuid4()), who.object_id),
        "malformed role id": lambda: client.role_assignments.create(
            group, name, {"role_definition_id": "Reader", "principal_id": who.object_id}),
        "name not a GUID": lambda: _create(client, group, "not-a-guid", reader, who.object_id),
        "principal type User for a service principal": lambda: _create(
            client, group, name, rbac.ROLE_IDS["Owner"], who.object_id, "User"),
        "missing resource group": lambda: _create(
            client, f"/subscriptions/{sub}/resourceGroups/nowhere", name, reader, who.object_id),
        "missing resource": lambda: _create(
            client, f"{group}/providers/Microsoft.Network/expressRouteCrossConnections/nothing", name, reader,
            who.object_id),
        "same role again under another name": lambda: _create(client, group, name, reader, who.object_id),
        "same name, another role": lambda: _create(client, group, existing.name, rbac.ROLE_IDS["Owner"], who.object_id),
    }  # fmt: skip
    before = rbac.settled_snapshot(server)
    got_status, got_code, message = _error(calls[case])
    assert (got_status, got_code) == (status, code), message
    if code == "PrincipalNotFound":
        assert "does not exist in the directory" in message and server.env["tenant_id"] in message
    assert rbac.settled_snapshot(server) == before


def test_assigning_the_same_again_under_the_same_name_is_idempotent(server: Server) -> None:
    client = _admin(server)
    group = _group(server)
    who = rbac.create_identity(server, "twice")
    first = rbac.assign(server, who, rbac.ROLE_IDS["Reader"], group)
    again = _create(client, group, first.name, rbac.ROLE_IDS["Reader"], who.object_id)
    assert (again.id, again.principal_id) == (first.id, who.object_id)


@pytest.mark.parametrize(
    ("role", "assigner"),
    [("customer", "Contributor"), ("partner", "Network Contributor")],
)
def test_contributors_cannot_assign_or_remove_roles(server: Server, role: str, assigner: str) -> None:
    who = rbac.seeded(server, role)
    sub = server.subscription(role)
    client = rbac.authorization(server, who, sub)
    target = rbac.create_identity(server, "target")
    scope = f"/subscriptions/{sub}"
    rbac.assert_denied(
        server,
        lambda: _create(client, scope, str(uuid.uuid4()), rbac.ROLE_IDS["Owner"], target.object_id),
        "Microsoft.Authorization/roleAssignments/write",
    )
    existing = rbac.assign(server, target, rbac.ROLE_IDS["Reader"], scope)
    rbac.assert_denied(server, lambda: client.role_assignments.delete_by_id(existing.id),
                       "Microsoft.Authorization/roleAssignments/delete")  # fmt: skip
    # but they can read them (Contributor: *, Network Contributor: Microsoft.Authorization/*/read)
    assert existing.name in {a.name for a in client.role_assignments.list_for_subscription()}


def test_user_access_administrator_assigns_roles_but_changes_no_resources(server: Server) -> None:
    sub = server.subscription("partner")
    uaa = rbac.create_identity(server, "access-admin")
    rbac.assign(server, uaa, rbac.ROLE_IDS["User Access Administrator"], f"/subscriptions/{sub}")
    target = rbac.create_identity(server, "granted")
    made = _create(rbac.authorization(server, uaa, sub), f"/subscriptions/{sub}", str(uuid.uuid4()),
                   rbac.ROLE_IDS["Contributor"], target.object_id)  # fmt: skip
    assert made.principal_id == target.object_id
    rc = rbac.resources(server, uaa, sub)
    assert isinstance([g.name for g in rc.resource_groups.list()], list)  # */read
    rbac.assert_denied(server, lambda: rc.resource_groups.create_or_update("uaa-rg", {"location": "westus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write")  # fmt: skip
    # the one it granted can
    assert rbac.resources(server, target, sub).resource_groups.create_or_update("granted-rg", {"location": "westus"})


# -- changes take effect on the next request ---------------------------------------------------------
def test_grant_and_revoke_take_effect_immediately(server: Server) -> None:
    client = _admin(server)
    sub = server.subscription("partner")
    group = _group(server)
    who = rbac.create_identity(server, "now")
    rc = rbac.resources(server, who, sub)
    rbac.assert_denied(server, lambda: rc.resource_groups.get("app-rg"))
    made = rbac.assign(server, who, rbac.ROLE_IDS["Reader"], group)
    assert rc.resource_groups.get("app-rg").name == "app-rg"
    client.role_assignments.delete_by_id(made.id)
    rbac.assert_denied(server, lambda: rc.resource_groups.get("app-rg"))


def test_changing_a_custom_role_takes_effect_immediately(server: Server) -> None:
    client = _admin(server)
    sub = server.subscription("partner")
    scope = f"/subscriptions/{sub}"
    guid = rbac.create_custom_role(
        server, "Group tagger", ["Microsoft.Resources/subscriptions/resourceGroups/*"], [scope]
    )
    _group(server)
    who = rbac.create_identity(server, "tagger")
    rbac.assign(server, who, guid, scope)
    rc = rbac.resources(server, who, sub)
    assert rc.resource_groups.update("app-rg", {"tags": {"a": "1"}}).tags == {"a": "1"}
    # narrowed to reads only (notActions: every write)
    groups = "Microsoft.Resources/subscriptions/resourceGroups/*"
    client.role_definitions.create_or_update(
        scope, guid,
        {"role_name": "Group tagger", "permissions": [{"actions": [groups], "not_actions": ["*/write"]}],
         "assignable_scopes": [scope]},
    )  # fmt: skip
    assert rc.resource_groups.get("app-rg").tags == {"a": "1"}
    rbac.assert_denied(server, lambda: rc.resource_groups.update("app-rg", {"tags": {"a": "2"}}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write")  # fmt: skip


def test_actions_match_case_insensitively_with_wildcards(server: Server) -> None:
    sub = server.subscription("partner")
    scope = f"/subscriptions/{sub}"
    _group(server)
    guid = rbac.create_custom_role(server, "Odd casing", ["MICROSOFT.resources/*/READ"], [scope])
    who = rbac.create_identity(server, "odd")
    rbac.assign(server, who, guid, scope)
    rc = rbac.resources(server, who, sub)
    assert rc.resource_groups.get("APP-RG").name == "app-rg"
    rbac.assert_denied(server, lambda: rc.resource_groups.update("app-rg", {"tags": {"a": "1"}}))


def test_raw_requests_with_other_api_versions(server: Server) -> None:
    """2015-07-01 (old clients) and 2022-04-01 serve the same resource; a newer well-formed version too."""
    sub = server.subscription("partner")
    who = rbac.create_identity(server, "raw")
    path = f"/subscriptions/{sub}{AUTHZ}/roleAssignments/{uuid.uuid4()}"
    body = {"properties": {"roleDefinitionId": f"{AUTHZ}/roleDefinitions/{rbac.ROLE_IDS['Reader']}",
                           "principalId": who.object_id}}  # fmt: skip
    with server.http("admin") as c:
        r = c.put(path, params={"api-version": "2015-07-01"}, json=body)
        assert r.status_code == 201, r.text
        assert r.json()["properties"]["principalType"] == "ServicePrincipal"  # resolved from the directory
        for version in ("2022-04-01", "2030-01-01"):
            assert c.get(path, params={"api-version": version}).status_code == 200
        assert c.get(path).status_code == 400  # api-version is required here too
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as anonymous:
        assert anonymous.get(path, params={"api-version": "2022-04-01"}).status_code == 401
