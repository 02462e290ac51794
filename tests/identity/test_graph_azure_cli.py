"""`az ad sp create-for-rbac` and friends through the real Azure CLI: Graph on this server's
origin (the cloud's microsoftGraphResourceId), role definitions and assignments, and the printed
credentials then working with the SDK."""

from __future__ import annotations

import json

import pytest

from tests.support import Server, rbac
from tests.support.azure_cli import AzureCli

pytestmark = pytest.mark.azure_cli


def test_create_for_rbac_refreshes_the_partner_application(az_admin: AzureCli, server: Server) -> None:
    """The documented partner step, as the subscription admin: the existing "partner-automation"
    application gets a new secret (its old ones are removed) and keeps Network Contributor."""
    provider = server.subscription("partner")
    old_secret = server.env["partner"]["client_secret"]
    result = az_admin(
        "ad", "sp", "create-for-rbac", "--name", "partner-automation",
        "--role", "Network Contributor", "--scopes", f"/subscriptions/{provider}",
    )  # fmt: skip
    assert result["appId"] == server.env["partner"]["client_id"]
    assert result["tenant"] == server.env["tenant_id"] and result["displayName"] == "partner-automation"
    assert result["password"] and result["password"] != old_secret
    fresh = rbac.Identity("partner", result["appId"], result["password"], server.env["partner"]["object_id"],
                          result["tenant"])  # fmt: skip
    nc = rbac.network(server, fresh, provider)
    assert isinstance(list(nc.express_route_cross_connections.list()), list)
    rbac.assert_denied(
        server,
        lambda: rbac.resources(server, fresh, provider).resource_groups.create_or_update("x", {"location": "westus"}),
        "Microsoft.Resources/subscriptions/resourceGroups/write",
    )
    # the role assignment already existed: still exactly one
    admin = rbac.authorization(server, rbac.seeded(server, "admin"), provider)
    mine = [a for a in admin.role_assignments.list_for_subscription() if a.principal_id == fresh.object_id]
    assert [a.role_definition_id.rsplit("/", 1)[1] for a in mine] == [rbac.ROLE_IDS["Network Contributor"]]
    # the old secret signs in no more
    from azure.core.exceptions import ClientAuthenticationError

    stale = rbac.credential(server, rbac.seeded(server, "partner"))
    with pytest.raises(ClientAuthenticationError):
        stale.get_token("https://management.azure.com/.default")


def test_create_for_rbac_makes_a_new_principal(az_admin: AzureCli, server: Server) -> None:
    provider = server.subscription("partner")
    result = az_admin(
        "ad",
        "sp",
        "create-for-rbac",
        "--name",
        "noc-readonly",
        "--role",
        "Reader",
        "--scopes",
        f"/subscriptions/{provider}",
    )
    assert result["displayName"] == "noc-readonly" and result["password"]
    sp = az_admin("ad", "sp", "show", "--id", result["appId"])
    assert sp["appId"] == result["appId"]
    assigned = az_admin(
        "role", "assignment", "list", "--assignee", result["appId"], "--scope", f"/subscriptions/{provider}"
    )
    assert [(a["roleDefinitionName"], a["principalId"]) for a in assigned] == [("Reader", sp["id"])]
    who = rbac.Identity("noc", result["appId"], result["password"], sp["id"], result["tenant"])
    rc = rbac.resources(server, who, provider)
    assert isinstance([g.name for g in rc.resource_groups.list()], list)
    rbac.assert_denied(server, lambda: rc.resource_groups.create_or_update("noc-rg", {"location": "westus"}))
    # and the CLI signs in with them (a second `az login` switches the active account)
    az_admin(
        "login", "--service-principal", "-u", result["appId"], "-p", result["password"], "--tenant", result["tenant"]
    )
    account = az_admin("account", "show")
    assert (account["id"], account["user"]["name"]) == (provider, result["appId"])
    assert isinstance(az_admin("group", "list"), list)
    denied = az_admin.fails("group", "create", "-n", "nope", "-l", "westus")
    assert "AuthorizationFailed" in denied.stderr
    # signing out discovers the "organizations" authority
    az_admin.run("logout")
    assert result["appId"] not in [a["user"]["name"] for a in az_admin("account", "list")]


def test_role_commands(az_admin: AzureCli, server: Server) -> None:
    provider = server.subscription("partner")
    definitions = az_admin("role", "definition", "list", "--name", "Network Contributor")
    assert [d["name"] for d in definitions] == [rbac.ROLE_IDS["Network Contributor"]]
    who = rbac.create_identity(server, "cli-assignee")
    az_admin("group", "create", "-n", "cli-rg", "-l", "westus")
    made = az_admin("role", "assignment", "create", "--assignee-object-id", who.object_id,
                    "--assignee-principal-type", "ServicePrincipal", "--role", "Contributor",
                    "--scope", f"/subscriptions/{provider}/resourceGroups/cli-rg")  # fmt: skip
    assert made["scope"] == f"/subscriptions/{provider}/resourceGroups/cli-rg"
    listed = az_admin("role", "assignment", "list", "-g", "cli-rg")
    # a service principal's name is its first servicePrincipalName: the appId
    assert [(a["roleDefinitionName"], a["principalName"]) for a in listed] == [("Contributor", who.client_id)]
    az_admin("role", "assignment", "delete", "--ids", made["id"])
    assert az_admin("role", "assignment", "list", "-g", "cli-rg") == []
    # custom roles: create, list, assign by name, delete
    definition = {
        "Name": "Cross-connection operator",
        "Description": "Reads and writes cross connections only.",
        "Actions": ["Microsoft.Network/expressRouteCrossConnections/*"],
        "AssignableScopes": [f"/subscriptions/{provider}"],
    }
    created = az_admin("role", "definition", "create", "--role-definition", json.dumps(definition))
    assert (created["roleName"], created["roleType"]) == ("Cross-connection operator", "CustomRole")
    custom = az_admin("role", "definition", "list", "--custom-role-only", "true")
    assert [d["roleName"] for d in custom] == ["Cross-connection operator"]
    az_admin("role", "assignment", "create", "--assignee-object-id", who.object_id,
             "--assignee-principal-type", "ServicePrincipal", "--role", "Cross-connection operator",
             "--scope", f"/subscriptions/{provider}")  # fmt: skip
    in_use = az_admin.fails("role", "definition", "delete", "--name", "Cross-connection operator")
    assert "RoleDefinitionHasAssignments" in in_use.stderr or "existing role assignments" in in_use.stderr
    az_admin("role", "assignment", "delete", "--assignee", who.client_id, "--role", "Cross-connection operator",
             "--scope", f"/subscriptions/{provider}")  # fmt: skip
    az_admin("role", "definition", "delete", "--name", "Cross-connection operator")
    assert az_admin("role", "definition", "list", "--custom-role-only", "true") == []


def test_partner_cannot_create_principals(az_partner: AzureCli, server: Server) -> None:
    before = rbac.settled_snapshot(server)
    failed = az_partner.fails("ad", "sp", "create-for-rbac", "--name", "sneaky")
    assert "Insufficient privileges" in failed.stderr or "permission" in failed.stderr.lower()
    assert rbac.settled_snapshot(server) == before
