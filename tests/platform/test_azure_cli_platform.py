"""The platform through the real Azure CLI: custom cloud by metadata discovery, service-principal
login, tokens, and the resource group lifecycle (clients.md §4)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.azure_cli import CLOUD_NAME, AzureCli

pytestmark = pytest.mark.azure_cli

SUBSCRIPTIONS = {"ExpressRoute_API_Dev_Customer_Sub", "ExpressRoute_API_Dev_Provider_Sub"}


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_cloud_register_login_and_resource_group_lifecycle(az: AzureCli) -> None:
    server = az.server
    # Metadata discovery: GET {arm}/metadata/endpoints (no --skip-endpoint-discovery).
    az("cloud", "register", "-n", CLOUD_NAME, "--endpoint-resource-manager", f"{server.base_url}/")
    az("cloud", "set", "-n", CLOUD_NAME)
    cloud = az("cloud", "show")
    assert cloud["isActive"] is True
    assert cloud["endpoints"]["resourceManager"] == f"{server.base_url}/"
    assert cloud["endpoints"]["activeDirectory"].rstrip("/") == server.base_url

    # the subscription admin: Owner on both subscriptions (the partner may not create groups)
    partner = server.principal("admin")
    tenant = server.tenant_for("admin")
    accounts = az("login", "--service-principal", "-u", partner["client_id"], "-p", partner["client_secret"],
                  "--tenant", tenant)  # fmt: skip
    assert {a["name"] for a in accounts} == SUBSCRIPTIONS
    assert {a["tenantId"] for a in accounts} == {tenant}
    assert all(a["cloudName"] == CLOUD_NAME and a["state"] == "Enabled" for a in accounts)
    assert {a["user"]["name"] for a in accounts} == {partner["client_id"]}
    default = az("account", "show")
    assert default["id"] in {server.subscription("partner"), server.subscription("customer")}
    az("account", "set", "--subscription", server.subscription("partner"))
    assert az("account", "show")["id"] == server.subscription("partner")

    token = az("account", "get-access-token")
    assert token["subscription"] == server.subscription("partner")
    assert token["tenant"] == tenant
    issued = claims(token["accessToken"])
    assert issued["appid" if "appid" in issued else "azp"] == partner["client_id"]
    assert issued["tid"] == tenant
    # The token works against ARM directly, too.
    with server.http(None) as http:
        r = http.get(
            "/subscriptions?api-version=2022-12-01", headers={"Authorization": f"Bearer {token['accessToken']}"}
        )
    assert r.status_code == 200, r.text

    group = az("group", "create", "-n", "Cli-RG", "-l", "eastus", "--tags", "team=noc")
    sub = server.subscription("partner")
    assert group["id"] == f"/subscriptions/{sub}/resourceGroups/Cli-RG"
    assert (group["name"], group["location"], group["tags"]) == ("Cli-RG", "eastus", {"team": "noc"})
    assert group["properties"]["provisioningState"] == "Succeeded"

    assert "Cli-RG" in [g["name"] for g in az("group", "list")]
    shown = az("group", "show", "-n", "cli-rg")  # names are case-insensitive, the creation casing stays
    assert (shown["id"], shown["name"]) == (group["id"], "Cli-RG")
    assert az("group", "exists", "-n", "Cli-RG") is True

    az("group", "delete", "-n", "Cli-RG", "--yes")
    assert "Cli-RG" not in [g["name"] for g in az("group", "list")]
    assert az("group", "exists", "-n", "Cli-RG") is False


def test_group_show_missing_reports_the_arm_error_code(az_partner: AzureCli) -> None:
    error = az_partner.fails("group", "show", "-n", "missing")
    assert "ResourceGroupNotFound" in error.stderr
    assert "missing" in error.stderr


def test_login_with_a_wrong_secret_fails(az: AzureCli) -> None:
    az.register_cloud()
    partner = az.server.principal("partner")
    error = az.fails("login", "--service-principal", "-u", partner["client_id"], "-p", "not-the-secret",
                     "--tenant", az.server.tenant_for("partner"))  # fmt: skip
    assert "AADSTS7000215" in error.stderr, error.stderr


def test_group_commands_target_the_selected_subscription(az_admin: AzureCli) -> None:
    server = az_admin.server
    customer_sub = server.subscription("customer")
    group = az_admin("group", "create", "-n", "Other-RG", "-l", "westus", "--subscription", customer_sub)
    assert group["id"] == f"/subscriptions/{customer_sub}/resourceGroups/Other-RG"
    az_admin("account", "set", "--subscription", server.subscription("partner"))
    assert "Other-RG" not in [g["name"] for g in az_admin("group", "list")]
    assert "Other-RG" in [g["name"] for g in az_admin("group", "list", "--subscription", customer_sub)]
