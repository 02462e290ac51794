"""The seed's step 4 done with a group through the real Azure CLI: `az ad group create`, members
added, listed, checked and removed, Network Contributor assigned to the group, `az role
assignment list --include-groups`; then the member service principal manages a cross connection
through the SDK and the lab API while a non-member is refused."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from tests.support import ARM_SCOPE, Server, network, rbac, settled_snapshot
from tests.support.azure_cli import AzureCli

pytestmark = pytest.mark.azure_cli


def _arm(server: Server, who: rbac.Identity) -> httpx.Client:
    token = rbac.credential(server, who).get_token(ARM_SCOPE).token
    return httpx.Client(base_url=server.base_url, verify=server.tls(), headers={"Authorization": f"Bearer {token}"})


def _set_state(server: Server, who: rbac.Identity, xc: object, state: str) -> object:
    client = rbac.network(server, who, server.subscription("partner"))
    xc.service_provider_provisioning_state = state  # type: ignore[attr-defined]
    group = xc.id.split("/")[4]  # type: ignore[attr-defined]
    return client.express_route_cross_connections.begin_create_or_update(group, xc.name, xc).result()  # type: ignore[attr-defined]


def test_network_contributor_through_a_group_with_the_cli(az_admin: AzureCli, server: Server) -> None:
    provider = server.subscription("partner")
    engineer, outsider = rbac.create_identity(server, "noc-engineer"), rbac.create_identity(server, "outsider")

    group = az_admin("ad", "group", "create", "--display-name", "NOC Automation", "--mail-nickname", "noc-automation")
    assert (group["displayName"], group["mailNickname"], group["securityEnabled"]) == (
        "NOC Automation",
        "noc-automation",
        True,
    )
    assert az_admin("ad", "group", "show", "--group", "NOC Automation")["id"] == group["id"]
    assert [g["id"] for g in az_admin("ad", "group", "list", "--display-name", "NOC")] == [group["id"]]
    # idempotent, as the CLI makes it: the same names return the existing group
    assert (
        az_admin("ad", "group", "create", "--display-name", "NOC Automation", "--mail-nickname", "noc-automation")["id"]
        == group["id"]
    )

    az_admin("ad", "group", "owner", "add", "--group", group["id"], "--owner-object-id", engineer.object_id)
    assert [o["id"] for o in az_admin("ad", "group", "owner", "list", "--group", group["id"])] == [engineer.object_id]
    az_admin("ad", "group", "owner", "remove", "--group", group["id"], "--owner-object-id", engineer.object_id)
    assert az_admin("ad", "group", "owner", "list", "--group", group["id"]) == []

    az_admin("ad", "group", "member", "add", "--group", group["id"], "--member-id", engineer.object_id)
    assert az_admin("ad", "group", "member", "check", "--group", group["id"], "--member-id", engineer.object_id) == {
        "value": True
    }
    assert az_admin("ad", "group", "member", "check", "--group", group["id"], "--member-id", outsider.object_id) == {
        "value": False
    }
    assert [m["id"] for m in az_admin("ad", "group", "member", "list", "--group", group["id"])] == [engineer.object_id]

    # bad command-line values: refused by the server with Graph's error, nothing changed
    before = settled_snapshot(server)
    twice = az_admin.fails("ad", "group", "member", "add", "--group", group["id"], "--member-id", engineer.object_id)
    assert "already exist" in twice.stderr, twice.stderr
    missing = az_admin.fails("ad", "group", "member", "add", "--group", group["id"],
                             "--member-id", "00000000-0000-0000-0000-000000000001")  # fmt: skip
    assert "does not exist" in missing.stderr, missing.stderr
    itself = az_admin.fails("ad", "group", "member", "add", "--group", group["id"], "--member-id", group["id"])
    assert "circular" in itself.stderr, itself.stderr
    assert settled_snapshot(server) == before

    assigned = az_admin(
        "role", "assignment", "create", "--assignee-object-id", group["id"], "--assignee-principal-type", "Group",
        "--role", "Network Contributor", "--scope", f"/subscriptions/{provider}",
    )  # fmt: skip
    assert (assigned["principalId"], assigned["principalType"]) == (group["id"], "Group")
    listed = az_admin("role", "assignment", "list", "--assignee", engineer.client_id, "--include-groups")
    assert [(a["principalId"], a["principalName"], a["roleDefinitionName"]) for a in listed] == [
        (group["id"], "NOC Automation", "Network Contributor")
    ]
    assert az_admin("role", "assignment", "list", "--assignee", engineer.client_id) == []  # its own: none

    # the member manages cross connections through the SDK and the lab API; the outsider is refused
    circuit = network.create_circuit(server, "er-group")
    xc = network.find_cross_connection(server, circuit.service_key)
    assert _set_state(server, engineer, xc, "Provisioning").service_provider_provisioning_state == "Provisioning"
    rbac.assert_denied(server, lambda: _set_state(server, outsider, xc, "Provisioned"),
                       "Microsoft.Network/expressRouteCrossConnections/write")  # fmt: skip
    with _arm(server, engineer) as member, _arm(server, outsider) as stranger:
        assert member.get(f"/_crossconnect/lab/circuits/{circuit.service_key}/edge").status_code == 200
        refused = stranger.get(f"/_crossconnect/lab/circuits/{circuit.service_key}/edge")
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "AuthorizationFailed")

    # out of the group: refused on the very next request
    az_admin("ad", "group", "member", "remove", "--group", group["id"], "--member-id", engineer.object_id)
    assert az_admin("ad", "group", "member", "check", "--group", group["id"], "--member-id", engineer.object_id) == {
        "value": False
    }
    with pytest.raises(HttpResponseError) as info:
        _set_state(server, engineer, xc, "Provisioned")
    assert (info.value.status_code, info.value.error.code) == (403, "AuthorizationFailed")

    # deleting the group keeps the assignment, whose principal is now unknown
    az_admin("ad", "group", "delete", "--group", group["id"])
    assert az_admin("ad", "group", "list", "--display-name", "NOC") == []
    kept = az_admin(
        "role", "assignment", "list", "--scope", f"/subscriptions/{provider}", "--role", "Network Contributor"
    )
    orphan = [a for a in kept if a["principalId"] == group["id"]]
    assert [(a["principalType"], a["principalName"]) for a in orphan] == [("Group", "")]
