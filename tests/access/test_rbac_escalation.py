"""Access control cannot be escalated through custom roles: changing a role definition needs
``roleDefinitions/write`` at every scope the role reaches (assignable or assigned, before and after
the change), an assignable scope that still holds assignments cannot be taken away, and a role never
grants beyond its assignable scopes, whatever the store holds. Through azure-mgmt-authorization, the
Azure CLI and raw HTTPS; every refusal changes nothing."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from tests.support import Server, rbac
from tests.support.azure_cli import AzureCli

WRITE = "Microsoft.Authorization/roleDefinitions/write"
DELETE = "Microsoft.Authorization/roleDefinitions/delete"
GROUP_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
AUTHZ_API = "2022-04-01"


def _groups(server: Server, *names: str) -> dict[str, str]:
    """Resource groups in the provider subscription (made by the admin); name → scope."""
    sub = server.subscription("partner")
    rc = rbac.resources(server, rbac.seeded(server, "admin"), sub)
    for name in names:
        rc.resource_groups.create_or_update(name, {"location": "westus"})
    return {name: f"/subscriptions/{sub}/resourceGroups/{name}" for name in names}


def _climber(server: Server, group: str) -> rbac.Identity:
    """A service principal that administers access to one resource group only."""
    who = rbac.create_identity(server, f"climber-{uuid.uuid4().hex[:6]}")
    rbac.assign(server, who, rbac.ROLE_IDS["User Access Administrator"], group)
    return who


def _definition(
    name: str, actions: list[str], assignable: list[str], not_actions: list[str] | None = None
) -> dict[str, Any]:
    return {
        "role_name": name,
        "role_type": "CustomRole",
        "permissions": [{"actions": actions, "not_actions": not_actions or []}],
        "assignable_scopes": assignable,
    }


def _error(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        call()
    return info.value


# -- the reported escalation ---------------------------------------------------------------------------
def test_the_reported_escalation_path_is_closed(server: Server) -> None:
    """UAA on one group edits a custom role assigned to it at the subscription (`*`, assignable
    narrowed to its group): refused at the subscription, and it gains nothing there."""
    sub = server.subscription("partner")
    subscription = f"/subscriptions/{sub}"
    group = _groups(server, "climb-rg")["climb-rg"]
    climber = _climber(server, group)
    guid = rbac.create_custom_role(server, "Group reader", [GROUP_READ], [subscription])
    rbac.assign(server, climber, guid, subscription)
    client = rbac.authorization(server, climber, sub)

    rbac.assert_denied(
        server,
        lambda: client.role_definitions.create_or_update(group, guid, _definition("Group reader", ["*"], [group])),
        WRITE,
        subscription,
    )
    admin_view = rbac.authorization(server, rbac.seeded(server, "admin"), sub).role_definitions.get(subscription, guid)
    assert (admin_view.permissions[0].actions, admin_view.assignable_scopes) == ([GROUP_READ], [subscription])
    # ... so the rest of the path stays shut: no group at the subscription, no Owner for itself
    rc = rbac.resources(server, climber, sub)
    rbac.assert_denied(server, lambda: rc.resource_groups.create_or_update("mine", {"location": "westus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write", f"{subscription}/resourceGroups/mine")  # fmt: skip
    rbac.assert_denied(
        server,
        lambda: rbac.assign(server, climber, rbac.ROLE_IDS["Owner"], subscription, by=climber),
        "Microsoft.Authorization/roleAssignments/write",
    )
    # what it does hold still works: reading groups (the custom role), granting within its group
    assert rc.resource_groups.get("climb-rg").name == "climb-rg"
    helper = rbac.create_identity(server, "helper")
    assert rbac.assign(server, helper, rbac.ROLE_IDS["Reader"], group, by=climber).scope == group


# Each case: the role before (actions, notActions, where it is assignable, where it is assigned to
# the climber, which administers access to the group "mine" only), the change (actions, notActions,
# assignable scopes), and the scope the refusal names.
NOT_WRITES = ["Microsoft.Authorization/*/Write", "Microsoft.Resources/subscriptions/resourceGroups/write"]
VARIANTS = {
    "narrow assignable scopes below the assignment, widen actions": (
        ([GROUP_READ], [], ["sub"], "sub"), (["*"], [], ["mine"]), "sub"),
    "widen actions only": (([GROUP_READ], [], ["sub"], "sub"), (["*"], [], ["sub"]), "sub"),
    "remove notActions": ((["*"], NOT_WRITES, ["sub"], "sub"), (["*"], [], ["sub"]), "sub"),
    "remove notActions while narrowing": ((["*"], NOT_WRITES, ["sub"], "sub"), (["*"], [], ["mine"]), "sub"),
    "narrow assignable scopes, same actions": (([GROUP_READ], [], ["sub"], "sub"), ([GROUP_READ], [], ["mine"]), "sub"),
    "widen assignable scopes to the subscription": (
        ([GROUP_READ], [], ["mine"], "mine"), ([GROUP_READ], [], ["mine", "sub"]), "sub"),
    "move assignable scopes to another group": (
        ([GROUP_READ], [], ["mine"], "mine"), ([GROUP_READ], [], ["theirs"]), "theirs"),
    "assignable at its group too, assigned at the subscription": (
        ([GROUP_READ], [], ["sub", "mine"], "sub"), (["*"], [], ["mine"]), "sub"),
    "assignable at its group too, assigned at another group": (
        ([GROUP_READ], [], ["sub", "mine"], "theirs"), (["*"], [], ["sub", "mine"]), "sub"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(VARIANTS))
def test_every_way_of_changing_a_role_beyond_ones_reach_is_refused(server: Server, case: str) -> None:
    (actions, not_actions, assignable, assigned_at), (new_actions, new_not_actions, new_assignable), denied_at = (
        VARIANTS[case]
    )
    sub = server.subscription("partner")
    where = {"sub": f"/subscriptions/{sub}", **_groups(server, "mine", "theirs")}
    climber = _climber(server, where["mine"])
    guid = rbac.create_custom_role(
        server, "Almost contributor", actions, [where[s] for s in assignable], not_actions=not_actions
    )
    rbac.assign(server, climber, guid, where[assigned_at])
    body = _definition("Almost contributor", new_actions, [where[s] for s in new_assignable], new_not_actions)
    client = rbac.authorization(server, climber, sub)
    rbac.assert_denied(
        server, lambda: client.role_definitions.create_or_update(where["mine"], guid, body), WRITE, where[denied_at]
    )


def test_deleting_a_role_needs_the_right_at_every_assignable_scope(server: Server) -> None:
    sub = server.subscription("partner")
    group = _groups(server, "mine")["mine"]
    climber = _climber(server, group)
    guid = rbac.create_custom_role(server, "Wide", [GROUP_READ], [group, f"/subscriptions/{sub}"])
    client = rbac.authorization(server, climber, sub)
    rbac.assert_denied(server, lambda: client.role_definitions.delete(group, guid), DELETE, f"/subscriptions/{sub}")


def test_a_group_administrator_still_changes_roles_within_its_group(server: Server) -> None:
    """The legitimate use: a role assignable and assigned only inside the climber's group."""
    sub = server.subscription("partner")
    group = _groups(server, "mine")["mine"]
    climber = _climber(server, group)
    guid = rbac.create_custom_role(server, "Group tagger", [GROUP_READ], [group])
    tagger = rbac.create_identity(server, "tagger")
    rbac.assign(server, tagger, guid, group)
    rc = rbac.resources(server, tagger, sub)
    rbac.assert_denied(server, lambda: rc.resource_groups.update("mine", {"tags": {"a": "1"}}))
    client = rbac.authorization(server, climber, sub)
    changed = client.role_definitions.create_or_update(
        group, guid, _definition("Group tagger", ["Microsoft.Resources/subscriptions/resourceGroups/*"], [group])
    )
    assert changed.permissions[0].actions == ["Microsoft.Resources/subscriptions/resourceGroups/*"]
    assert rc.resource_groups.update("mine", {"tags": {"a": "1"}}).tags == {"a": "1"}
    # and deletes it once unassigned
    admin = rbac.authorization(server, rbac.seeded(server, "admin"), sub)
    for assignment in admin.role_assignments.list_for_scope(group, filter=f"principalId eq '{tagger.object_id}'"):
        admin.role_assignments.delete_by_id(assignment.id)
    assert client.role_definitions.delete(group, guid).name == guid


# -- assignable scopes and assignments -----------------------------------------------------------------
def test_an_assignable_scope_holding_assignments_cannot_be_removed(server: Server) -> None:
    """Even the Owner of everything: narrowing would orphan the assignment (Azure's
    RoleScopeBeingRemovedContainsAssignments); once it is gone, the narrowing is fine."""
    sub = server.subscription("partner")
    subscription = f"/subscriptions/{sub}"
    group = _groups(server, "kept")["kept"]
    guid = rbac.create_custom_role(server, "Narrowed", [GROUP_READ], [subscription])
    who = rbac.create_identity(server, "narrowed")
    made = rbac.assign(server, who, guid, subscription)
    admin = rbac.authorization(server, rbac.seeded(server, "admin"), sub)
    before = rbac.settled_snapshot(server)
    error = _error(
        lambda: admin.role_definitions.create_or_update(group, guid, _definition("Narrowed", ["*"], [group]))
    )
    assert (error.status_code, error.error.code) == (400, "RoleScopeBeingRemovedContainsAssignments")
    assert f"'{subscription}'" in error.error.message
    assert rbac.settled_snapshot(server) == before
    admin.role_assignments.delete_by_id(made.id)
    narrowed = admin.role_definitions.create_or_update(group, guid, _definition("Narrowed", [GROUP_READ], [group]))
    assert narrowed.assignable_scopes == [group]
    # ... and it is no longer assignable at the subscription
    error = _error(lambda: rbac.assign(server, who, guid, subscription))
    assert (error.status_code, error.error.code) == (400, "RoleDefinitionNotAssignableAtScope")


def test_a_role_never_grants_beyond_its_assignable_scopes(server: Server) -> None:
    """An assignment outside its role's assignable scopes (here from an imported snapshot) grants
    only where the two meet: inside the group, not at the subscription or in another group."""
    sub = server.subscription("partner")
    subscription = f"/subscriptions/{sub}"
    groups = _groups(server, "inside", "outside")
    guid = rbac.create_custom_role(server, "Group admin", ["Microsoft.Resources/subscriptions/resourceGroups/*"],
                                   [subscription])  # fmt: skip
    who = rbac.create_identity(server, "clamped")
    rbac.assign(server, who, guid, subscription)
    rc = rbac.resources(server, who, sub)
    assert rc.resource_groups.get("outside").name == "outside"  # as assigned: the whole subscription
    snapshot = server.operator("GET", "/snapshot").json()
    for row in snapshot["tables"]["role_definitions"]:
        if row["id"] == guid:
            row["assignable_scopes"] = [groups["inside"].upper()]  # scopes compare case-insensitively
    assert server.operator("PUT", "/snapshot", snapshot).status_code == 200
    assert rc.resource_groups.update("inside", {"tags": {"in": "1"}}).tags == {"in": "1"}
    rbac.assert_denied(server, lambda: rc.resource_groups.get("outside"), GROUP_READ, groups["outside"])
    rbac.assert_denied(server, lambda: rc.resource_groups.create_or_update("new-rg", {"location": "westus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write")  # fmt: skip
    # the subscription itself still shows (a role within it), as for any group-level role
    assert [s.subscription_id for s in rbac.subscriptions(server, who).subscriptions.list()] == [sub]


# -- the Azure CLI ---------------------------------------------------------------------------------------
def test_the_escalation_through_the_azure_cli(az: AzureCli, server: Server) -> None:
    sub = server.subscription("partner")
    subscription = f"/subscriptions/{sub}"
    group = _groups(server, "cli-climb")["cli-climb"]
    climber = _climber(server, group)
    guid = rbac.create_custom_role(server, "Cli reader", ["*/read"], [subscription])
    rbac.assign(server, climber, guid, subscription)
    az.register_cloud()
    az("login", "--service-principal", "-u", climber.client_id, "-p", climber.client_secret,
       "--tenant", climber.tenant_id)  # fmt: skip
    before = rbac.settled_snapshot(server)
    definition = {"Name": "Cli reader", "Actions": ["*"], "AssignableScopes": [group]}  # found by name
    failed = az.fails("role", "definition", "update", "--role-definition", json.dumps(definition))
    assert "AuthorizationFailed" in failed.stderr and WRITE in failed.stderr, failed.stderr
    failed = az.fails("role", "assignment", "create", "--assignee-object-id", climber.object_id,
                      "--assignee-principal-type", "ServicePrincipal", "--role", "Owner", "--scope", subscription)  # fmt: skip
    assert "AuthorizationFailed" in failed.stderr, failed.stderr
    assert rbac.settled_snapshot(server) == before


# -- two replicas ----------------------------------------------------------------------------------------
def _at_once(**calls: Callable[[], httpx.Response]) -> dict[str, httpx.Response]:
    """Run each call in its own thread, released together; name → response."""
    start = threading.Barrier(len(calls))
    results: dict[str, httpx.Response] = {}

    def run(name: str, call: Callable[[], httpx.Response]) -> None:
        start.wait()
        results[name] = call()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(results) == set(calls), results
    return results


def test_narrowing_and_assigning_at_once_on_two_replicas(replicas: tuple[Server, Server]) -> None:
    """One replica narrows a role's assignable scopes to a group while the other assigns the role at
    the subscription: one of the two wins, never both (no assignment is left outside the role)."""
    first, second = replicas
    sub = first.subscription("partner")
    subscription = f"/subscriptions/{sub}"
    group = _groups(first, "race-rg")["race-rg"]
    who = rbac.create_identity(first, "racer")
    path = f"{subscription}/providers/Microsoft.Authorization"
    version = {"api-version": AUTHZ_API}
    with first.http("admin") as narrow_client, second.http("admin") as assign_client:
        for attempt in range(8):
            guid = str(uuid.uuid4())
            body = {"properties": {"roleName": f"Race {attempt}", "assignableScopes": [subscription],
                                   "permissions": [{"actions": [GROUP_READ]}]}}  # fmt: skip
            assert narrow_client.put(f"{path}/roleDefinitions/{guid}", params={"api-version": AUTHZ_API},
                                     json=body).status_code == 201  # fmt: skip
            narrowed = {**body, "properties": {**body["properties"], "assignableScopes": [group]}}
            assignment = {"properties": {"roleDefinitionId": f"{path}/roleDefinitions/{guid}",
                                         "principalId": who.object_id}}  # fmt: skip
            results = _at_once(
                narrow=partial(narrow_client.put, f"{path}/roleDefinitions/{guid}", params=version, json=narrowed),
                assign=partial(
                    assign_client.put, f"{path}/roleAssignments/{uuid.uuid4()}", params=version, json=assignment
                ),
            )
            statuses = (results["narrow"].status_code, results["assign"].status_code)
            assert statuses in ((201, 400), (400, 201)), (statuses, results["narrow"].text, results["assign"].text)
            loser = results["narrow"] if statuses[0] == 400 else results["assign"]
            assert loser.json()["error"]["code"] in (
                "RoleScopeBeingRemovedContainsAssignments",
                "RoleDefinitionNotAssignableAtScope",
            ), loser.text
            # whichever won, the store agrees with itself
            role = assign_client.get(f"{path}/roleDefinitions/{guid}", params={"api-version": AUTHZ_API}).json()
            held = assign_client.get(f"{path}/roleAssignments", params={"api-version": AUTHZ_API,
                                     "$filter": f"principalId eq '{who.object_id}'"}).json()["value"]  # fmt: skip
            at_subscription = [a for a in held if a["properties"]["roleDefinitionId"].endswith(guid)]
            assert (role["properties"]["assignableScopes"] == [group]) == (not at_subscription)
            for a in at_subscription:  # leave the next round a clean start
                assert assign_client.delete(a["id"], params={"api-version": AUTHZ_API}).status_code == 200
