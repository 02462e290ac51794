"""The portal in a real Chromium, signed in as the admin user: the seed's path end to end, then the
blades beyond it (access control at resource-group scope, removing a role assignment, deleting a
client secret, editing a peering) and the end of a session. The blade tests check the effect in
the page and through the ARM/Graph API."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from tests.portal.support import NARROW, WATCH_NOTIFICATIONS, WIDTHS, PageErrors, Portal, layout_problems
from tests.support import ARM_SCOPE, Server
from tests.support.network import PRIVATE, PeeringView, ensure_group, peering, provisioned_circuit
from tests.support.platform import SUBSCRIPTIONS_API, client, signing_key
from tests.support.rbac import (
    ROLE_IDS,
    assign,
    authorization,
    create_identity,
    credential,
    graph,
    network,
    resources,
    role_definition_id,
    seeded,
)
from tests.support.route_filters import create_filter
from tests.support.signin import PORTAL_CLIENT

pytestmark = pytest.mark.browser


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
    portal.sign_in_as_user()
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


# -- blades beyond the seed's path ---------------------------------------------------------------


def _assignments(server: Server, scope: str, principal_id: str) -> list[Any]:
    """The role assignments of ``principal_id`` at ``scope`` itself, read through the SDK as the admin."""
    client = authorization(server, seeded(server, "admin"), scope.split("/")[2])
    found = client.role_assignments.list_for_scope(scope, filter="atScope()")
    return [a for a in found if a.principal_id == principal_id and a.scope.lower() == scope.lower()]


def test_resource_group_access_control_adds_a_role_assignment(portal: Portal, server: Server) -> None:  # noqa: F811
    page, sub = portal.page, server.subscription("customer")
    ensure_group(server, "portal-iam-rg")
    ensure_group(server, "portal-other-rg")
    reader = create_identity(server, "portal-rg-reader")
    scope = f"/subscriptions/{sub}/resourceGroups/portal-iam-rg"
    portal.sign_in_as_user()

    portal.go(f"#/subscriptions/{sub}/groups", "groups")
    page.click("#blade tr:has-text('portal-iam-rg') a:has-text('Access control (IAM)')")
    portal.wait_blade("groupIam")
    # the user's Owner role on the subscription shows as inherited, without a Remove button
    inherited = page.locator("#blade tr:has-text('Owner'):has-text('Inherited')")
    assert inherited.count() >= 1 and inherited.locator("button").count() == 0

    page.click("#add-role-assignment")
    page.fill("#role-search", "Reader")
    page.click("#add-assignment tr.selectable:has(td:text-is('Reader'))")
    page.fill("#member-search", "portal-rg-reader")
    page.click("#add-assignment tr.selectable:has-text('portal-rg-reader')")
    assert scope in page.inner_text("#add-assignment")
    page.click("#review-assign")
    row = page.locator("#blade tr:has-text('portal-rg-reader')")
    row.wait_for()
    assert "Reader" in row.inner_text() and "This resource" in row.inner_text()
    portal.shot("20-resource-group-iam")

    (assignment,) = _assignments(server, scope, reader.object_id)
    assert assignment.role_definition_id.lower() == role_definition_id(sub, ROLE_IDS["Reader"]).lower()
    assert assignment.principal_type == "ServicePrincipal"
    # the assignment takes effect at the group, and only there
    as_reader = resources(server, reader, sub)
    assert as_reader.resource_groups.get("portal-iam-rg").name == "portal-iam-rg"
    with pytest.raises(HttpResponseError) as denied:
        as_reader.resource_groups.get("portal-other-rg")
    assert denied.value.status_code == 403


def test_access_control_removes_a_role_assignment(portal: Portal, server: Server) -> None:  # noqa: F811
    page, sub = portal.page, server.subscription("customer")
    scope = f"/subscriptions/{sub}"
    who = create_identity(server, "portal-removed-contributor")
    assign(server, who, ROLE_IDS["Network Contributor"], scope)
    assert list(network(server, who, sub).express_route_circuits.list_all()) == []
    portal.sign_in_as_user()

    portal.go(f"#/subscriptions/{sub}/iam", "iam")
    row = page.locator("#blade tr:has-text('portal-removed-contributor')")
    assert "Network Contributor" in row.inner_text()
    listed = page.locator("#blade tbody tr").count()
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    row.locator("button:has-text('Remove')").click()
    portal.wait_count("#blade tbody tr", listed - 1)  # re-rendered: the others are still listed
    assert row.count() == 0
    assert questions == ["Remove Network Contributor from portal-removed-contributor?"]

    assert _assignments(server, scope, who.object_id) == []
    with pytest.raises(HttpResponseError) as denied:
        list(network(server, who, sub).express_route_circuits.list_all())
    assert denied.value.status_code == 403


def test_app_registration_deletes_a_client_secret(portal: Portal, server: Server) -> None:  # noqa: F811
    page = portal.page
    app = create_identity(server, "portal-secret-app")  # its first secret stays
    with graph(server) as g:
        (found,) = [a for a in g.get("/applications").json()["value"] if a["appId"] == app.client_id]
        added = g.post(
            f"/applications/{found['id']}/addPassword", json={"passwordCredential": {"displayName": "rotate-me"}}
        )
        assert added.status_code == 200, added.text
    rotated = dataclasses.replace(app, client_secret=added.json()["secretText"])
    assert credential(server, rotated).get_token(ARM_SCOPE).token
    portal.sign_in_as_user()

    portal.go("#/apps", "apps")
    page.click("#blade a:has-text('portal-secret-app')")
    portal.wait_blade("app")
    assert page.inner_text("#app-id") == app.client_id
    assert page.locator("#blade tbody tr").count() == 2
    page.click("#blade tr:has-text('rotate-me') button:has-text('Delete')")
    portal.wait_count("#blade tbody tr", 1)
    assert page.locator("#blade tr:has-text('rotate-me')").count() == 0
    portal.shot("21-app-secret-deleted")

    with graph(server) as g:
        credentials = g.get(f"/applications/{found['id']}").json()["passwordCredentials"]
    assert len(credentials) == 1 and credentials[0]["keyId"] != added.json()["keyId"]
    with pytest.raises(ClientAuthenticationError):
        credential(server, rotated).get_token(ARM_SCOPE)
    assert credential(server, app).get_token(ARM_SCOPE).token  # the other secret still signs in


def test_cross_connection_peering_edit_is_stored(portal: Portal, server: Server) -> None:  # noqa: F811
    page = portal.page
    circuit, xc = provisioned_circuit(server)
    partner_view, customer_view = PeeringView(server, "xc", circuit), PeeringView(server, "circuit", circuit)
    partner_view.put("AzurePrivatePeering", peering(PRIVATE))
    portal.sign_in_as_user()

    portal.go(f"#/xc/{quote(xc.id, safe='')}/peerings", "xcPeerings")
    page.click("#blade tr:has-text('AzurePrivatePeering') button:has-text('Edit')")
    assert page.is_disabled("#pe-type")
    assert page.input_value("#pe-vlan") == "100" and page.input_value("#pe-asn") == "65010"
    page.fill("#pe-vlan", "321")
    page.fill("#pe-asn", "65020")
    page.click("#pe-save")
    row = page.locator("#blade tbody tr:has-text('AzurePrivatePeering')")
    page.wait_for_selector("#blade tbody tr:has-text('AzurePrivatePeering') td:text-is('321')")
    assert "65020" in row.inner_text()
    assert page.locator("#peering-form").count() == 0  # the form closed with the re-render
    portal.shot("22-peering-edited")

    for view in (partner_view, customer_view):
        stored = view.get("AzurePrivatePeering")
        assert (stored.vlan_id, stored.peer_asn) == (321, 65020), view.view
        assert stored.primary_peer_address_prefix == PRIVATE["primaryPeerAddressPrefix"]
        assert stored.secondary_peer_address_prefix == PRIVATE["secondaryPeerAddressPrefix"]
        assert stored.shared_key == PRIVATE["sharedKey"]  # not in the form's body, kept
        assert stored.provisioning_state == "Succeeded"


# -- the end of a session ---------------------------------------------------------------------------

EXPIRED_HEADING = "h1:has-text('Your session has expired')"


def _expired_copy(server: Server, token: str) -> str:
    """``token`` (issued by the server) with the same claims and lifetime, but ended a minute ago;
    signed with the server's own key, as if that much time had passed."""
    claims = jwt.decode(token, options={"verify_signature": False})
    now, lifetime = int(time.time()), claims["exp"] - claims["iat"]
    claims.update(iat=now - 60 - lifetime, nbf=now - 60 - lifetime, exp=now - 60)
    kid, key = signing_key(server)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _arm_status(server: Server, token: str) -> tuple[int, str]:
    """What ARM answers to ``token``: the status and the error code ("" when accepted)."""
    with client(server, token) as c:
        r = c.get(f"/subscriptions?api-version={SUBSCRIPTIONS_API}")
    return r.status_code, r.json()["error"]["code"] if r.status_code != 200 else ""


def _refresh(server: Server, refresh_token: str) -> httpx.Response:
    """The portal's refresh for a Graph token, as core.js sends it."""
    form = {"grant_type": "refresh_token", "client_id": PORTAL_CLIENT, "refresh_token": refresh_token,
            "scope": "https://graph.microsoft.com/.default offline_access"}  # fmt: skip
    with client(server) as c:
        return c.post(f"/{server.env['tenant_id']}/oauth2/v2.0/token", data=form)


def _sign_in_again(prompted: Portal, blade: str) -> None:
    """From the portal's "Your session has expired" prompt, back to ``blade``."""
    user = prompted.server.env["user"]
    prompted.sign_in(user["username"], user["password"])
    prompted.wait_blade(blade)


@pytest.mark.parametrize("clock", ["in step", "behind"])
def test_expired_session_asks_to_sign_in_again(portal: Portal, server: Server, clock: str) -> None:  # noqa: F811
    """The access token's time is up. With the browser's clock in step the portal sees it from the
    stored expiry; with a browser clock behind the server's only ARM's 401 tells. Either way the
    action is not done, the user signs in again and lands on the same blade."""
    page, sub = portal.page, server.subscription("customer")
    portal.sign_in_as_user()
    portal.go(f"#/subscriptions/{sub}/groups", "groups")

    session = portal.session()
    expired = _expired_copy(server, session["arm"])
    assert _arm_status(server, expired) == (401, "ExpiredAuthenticationToken")
    exp = jwt.decode(expired, options={"verify_signature": False})["exp"]
    portal.store_session({**session, "arm": expired, "exp": exp if clock == "in step" else session["exp"]})

    page.fill("#blade input[placeholder='new-resource-group']", "portal-after-expiry")
    page.click("#blade button:has-text('Create')")
    page.wait_for_selector(EXPIRED_HEADING)
    portal.shot(f"23-session-expired-clock-{clock.replace(' ', '-')}")
    assert not server.resources("admin", sub).resource_groups.check_existence("portal-after-expiry")

    _sign_in_again(portal, "groups")
    assert page.evaluate("() => location.hash") == f"#/subscriptions/{sub}/groups"
    assert _arm_status(server, portal.session()["arm"]) == (200, "")
    page.fill("#blade input[placeholder='new-resource-group']", "portal-after-expiry")
    page.click("#blade button:has-text('Create')")
    page.wait_for_selector("#blade td:has-text('portal-after-expiry')")
    assert server.resources("admin", sub).resource_groups.check_existence("portal-after-expiry")


def test_failed_refresh_asks_to_sign_in_again(portal: Portal, server: Server) -> None:  # noqa: F811
    """Graph calls use a token from the refresh token; when the server refuses to refresh, the
    portal asks to sign in again (and the new session's refresh token works)."""
    page = portal.page
    portal.sign_in_as_user()
    session = portal.session()
    assert session["graph"] is None  # no Graph call yet
    stale = _expired_copy(server, session["refresh"])
    refused = _refresh(server, stale)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    portal.store_session({**session, "refresh": stale})

    portal.go("#/apps", "sessionExpired")
    assert page.locator(EXPIRED_HEADING).count() == 1
    portal.shot("24-refresh-failed")

    _sign_in_again(portal, "apps")
    assert page.locator("#blade tbody a").count() >= 1  # the directory's applications, from Graph
    fresh = portal.session()
    assert fresh["graph"] is not None and _refresh(server, fresh["refresh"]).status_code == 200


# -- layout at 420 and 1280 px, notifications, links, the console ------------------------------------
# Layout checks measure the page (a label's scrollWidth against its clientWidth, a notification's box
# against the heading's text, ...); every blade is also watched for console errors, which Chromium
# logs for every failed request (a favicon answered 401, a list answered 404).

API_NAMES = re.compile(r"arpTables|routeTablesSummary|routeTables")


def _cross_connection_with_private_peering(server: Server) -> tuple[Any, Any]:
    circuit, xc = provisioned_circuit(server)
    PeeringView(server, "xc", circuit).put("AzurePrivatePeering", peering(PRIVATE))
    return circuit, xc


def test_every_blade_fits_and_logs_no_error(portal: Portal, server: Server) -> None:  # noqa: F811
    page, sub = portal.page, server.subscription("customer")
    circuit, xc = _cross_connection_with_private_peering(server)
    create_filter(server, "portal-filter", ("exchange", ["12076:5010"]))
    create_identity(server, "portal-layout-app")
    with graph(server) as g:
        (app,) = [a["id"] for a in g.get("/applications").json()["value"] if a["displayName"] == "portal-layout-app"]
    xc_path, circuit_path = f"#/xc/{quote(xc.id, safe='')}", f"#/circuit/{quote(circuit.id, safe='')}"
    errors = PageErrors(page)
    portal.open()
    page.wait_for_selector("#sign-in")
    problems = layout_problems(page, "welcome")
    portal.sign_in_as_user()

    blades = [
        ("#/subscriptions", "subscriptions", None),
        (f"#/subscriptions/{sub}", "subscription", None),
        (f"#/subscriptions/{sub}/iam", "iam", "#add-role-assignment"),
        (f"#/subscriptions/{sub}/groups", "groups", None),
        (f"#/subscriptions/{sub}/groups/customer-rg/iam", "groupIam", None),
        (f"#/subscriptions/{sub}/providers", "providers", None),
        (f"#/subscriptions/{sub}/features", "features", None),
        ("#/apps", "apps", None),
        (f"#/apps/{app}", "app", "#new-secret"),
        ("#/circuits", "circuits", None),
        ("#/circuits/new", "newCircuit", None),
        (circuit_path, "circuit", None),
        ("#/crossconnections", "crossconnections", None),
        (xc_path, "xc", None),
        (f"{xc_path}/peerings", "xcPeerings", "#add-peering"),
        (f"{xc_path}/troubleshoot", "xcTroubleshoot", None),
        ("#/routefilters", "routefilters", None),
    ]
    for hash_path, blade, opens in blades:
        portal.go(hash_path, blade)
        if blade == "xcTroubleshoot":
            page.wait_for_selector("#ts-secondary")
        problems += layout_problems(page, blade)
        if opens:  # what a button opens on the blade: the role assignment wizard, a new secret, a peering form
            page.click(opens)
            page.wait_for_selector("#add-assignment, #secret-value, #peering-form")
            problems += layout_problems(page, f"{blade} after {opens}")
    assert (problems, errors.seen) == ([], [])


@pytest.mark.parametrize("viewport", WIDTHS.values(), ids=WIDTHS.keys())
def test_troubleshooting_notifications_name_the_work_and_keep_off_the_heading(
    portal: Portal,  # noqa: F811
    server: Server,
    viewport: dict[str, int],
) -> None:
    page = portal.page
    _, xc = _cross_connection_with_private_peering(server)
    page.set_viewport_size(viewport)
    portal.sign_in_as_user()
    portal.go(f"#/xc/{quote(xc.id, safe='')}", "xc")
    page.evaluate(WATCH_NOTIFICATIONS)

    page.click(".tabs a:has-text('Troubleshooting')")
    portal.wait_blade("xcTroubleshoot")
    page.wait_for_selector("#ts-secondary")  # shown once both links are read
    seen = page.evaluate("() => window.notifications")
    assert [t for t in seen["texts"] if API_NAMES.search(t)] == []
    assert "Primary link: ARP table, BGP summary and route table read" in seen["texts"]
    assert "Secondary link: ARP table, BGP summary and route table read" in seen["texts"]
    assert seen["problems"] == []
    portal.shot(f"30-troubleshooting-{viewport['width']}px")


def test_cross_connection_overview_links_its_circuit(portal: Portal, server: Server) -> None:  # noqa: F811
    page = portal.page
    circuit, xc = provisioned_circuit(server)
    portal.sign_in_as_user()
    portal.go(f"#/xc/{quote(xc.id, safe='')}", "xc")

    link = page.locator(".props dt:text-is('Circuit') + dd a")
    assert link.inner_text() == circuit.name
    assert link.get_attribute("href") == f"#/circuit/{quote(circuit.id, safe='')}"
    link.click()
    portal.wait_blade("circuit")
    assert page.inner_text("#service-key") == circuit.service_key


def test_cross_connections_without_any_show_an_empty_state(portal: Portal, server: Server) -> None:  # noqa: F811
    """The admin user sees the customer subscription, where the cross connection type does not
    exist (404 InvalidResourceType): the portal does not ask there, and says there are none."""
    page = portal.page
    errors = PageErrors(page)
    portal.sign_in_as_user()
    portal.go("#/crossconnections", "crossconnections")
    assert errors.seen == []
    assert "No cross connections yet." in page.inner_text("#xc-empty")
    assert page.locator("#blade table").count() == 0


def test_favicon_is_an_icon(server: Server) -> None:
    """Browsers ask every origin for /favicon.ico; it used to fall through to ARM and answer 401."""
    r = httpx.get(f"{server.base_url}/favicon.ico", verify=server.tls())
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header: reserved 0, type 1 (icon)
