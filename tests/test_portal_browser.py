"""The portal in a real Chromium: the seed's path end to end, signed in as the admin user."""

from __future__ import annotations

import pytest

from tests.browser_support import NARROW, Portal, chromium, portal, screenshots  # noqa: F401 - fixtures
from tests.support import Server

pytestmark = pytest.mark.browser


def _signed_in(portal: Portal) -> None:  # noqa: F811
    user = portal.server.env["user"]
    portal.open()
    portal.sign_in(user["username"], user["password"])
    portal.wait_blade("subscriptions")


def test_wrong_password_shows_the_message(portal: Portal) -> None:  # noqa: F811
    portal.open()
    portal.page.wait_for_selector("#sign-in")
    portal.shot("01-welcome")
    portal.sign_in(portal.server.env["user"]["username"], "not-the-password")
    message = portal.page.text_content("#error") or ""
    assert "password is incorrect" in message
    portal.shot("02-sign-in-wrong-password")


def test_seed_path_end_to_end(portal: Portal, server: Server) -> None:  # noqa: F811
    page = portal.page
    provider_sub, customer_sub = server.subscription("partner"), server.subscription("customer")
    _signed_in(portal)
    assert "ExpressRoute_API_Dev_Provider_Sub" in page.inner_text("#blade")
    portal.shot("03-subscriptions")

    # Register an application and create a client secret (shown once).
    portal.go("#/apps", "apps")
    page.fill("#app-name", "portal-automation")
    page.click("#register-app")
    portal.wait_blade("app")
    app_id = page.inner_text("#app-id")
    page.click("#new-secret")
    secret = page.inner_text("#secret-value", timeout=15_000)
    assert len(secret) > 30
    portal.shot("04-app-registration-secret")

    # IAM on the provider subscription: Network Contributor for that application.
    portal.go(f"#/subscriptions/{provider_sub}/iam", "iam")
    page.click("#add-role-assignment")
    page.fill("#role-search", "Network Contributor")
    page.click("#add-assignment tr.selectable:has-text('Network Contributor')")
    page.fill("#member-search", "portal-automation")
    page.click("#add-assignment tr.selectable:has-text('portal-automation')")
    portal.shot("05-iam-review")
    page.click("#review-assign")
    page.wait_for_selector("#blade td:has-text('portal-automation')")
    assert "Inherited" not in page.inner_text("tr:has-text('portal-automation')")
    portal.shot("06-iam")

    # The new application's credentials work with the SDK.
    from azure.identity import ClientSecretCredential
    from azure.mgmt.network import NetworkManagementClient

    credential = ClientSecretCredential(
        server.env["tenant_id"],
        app_id,
        secret,
        authority=server.base_url,
        disable_instance_discovery=True,
        connection_verify=server.ca,
    )
    client = NetworkManagementClient(credential, provider_sub, base_url=server.base_url, connection_verify=server.ca)
    assert list(client.express_route_cross_connections.list()) == []

    # Providers and preview features of the customer subscription.
    portal.go(f"#/subscriptions/{customer_sub}/providers", "providers")
    assert "Microsoft.Network" in page.inner_text("#blade")
    portal.shot("07-resource-providers")
    portal.go(f"#/subscriptions/{provider_sub}/features", "features")
    page.click("[data-action='register-AllowExpressRouteTestPeeringLocations']")
    page.wait_for_selector("#blade tr:has-text('AllowExpressRouteTestPeeringLocations') .badge:has-text('Pending')")
    portal.shot("08-preview-features")

    # As the customer (the admin user is Owner there): create a circuit.
    portal.go("#/circuits/new", "newCircuit")
    page.select_option("#c-subscription", customer_sub)
    page.wait_for_selector("#c-provider option[value='Ibiza Test Provider']", state="attached")
    page.select_option("#c-provider", "Ibiza Test Provider")
    page.select_option("#c-location", "Area51")
    page.select_option("#c-bandwidth", "200")
    portal.shot("09-create-circuit")
    page.click("#c-create")
    portal.wait_blade("circuit")
    service_key = page.inner_text("#service-key")
    portal.shot("10-circuit")

    # As the partner: find it by service key, provision it, add private peering, troubleshoot.
    portal.go("#/crossconnections", "crossconnections")
    page.fill("#xc-search", service_key[:8])
    page.click(f"a:has-text('{service_key}')")
    portal.wait_blade("xc")
    page.select_option("#xc-state", "Provisioned")
    page.fill("#xc-notes", "provisioned from the portal")
    page.click("#xc-save")
    page.wait_for_selector("#xc-state option[value='Deprovisioning']", state="attached")
    portal.shot("11-cross-connection")

    portal.page.click(".tabs a:has-text('Peerings')")
    portal.wait_blade("xcPeerings")
    page.click("#add-peering")
    page.click("#pe-save")
    page.wait_for_selector("#blade td:has-text('AzurePrivatePeering')")
    portal.shot("12-peerings")

    page.click(".tabs a:has-text('Troubleshooting')")
    portal.wait_blade("xcTroubleshoot")
    page.wait_for_selector("#ts-primary td:has-text('On-Prem')", timeout=30_000)
    assert "Microsoft" in page.inner_text("#ts-secondary")
    assert page.get_attribute("[data-link='primary']", "data-state") == "up"
    portal.shot("13-troubleshooting")

    portal.go("#/routefilters", "routefilters")
    portal.shot("14-route-filters")

    page.set_viewport_size(NARROW)
    page.go_back()
    portal.wait_blade("xcTroubleshoot")
    page.wait_for_selector("#ts-primary td:has-text('On-Prem')", timeout=30_000)
    portal.shot("15-narrow-troubleshooting")

    page.click("#sign-out")
    page.wait_for_selector("#title:has-text('Signed out'), #sign-in")
