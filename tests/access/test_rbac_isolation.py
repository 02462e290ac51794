"""Who sees what: subscriptions listed by role, principals without a role, other tenants, the
operator's own credential, and a role change seen at once by a second server replica on the
same database."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import Server, rbac


def _subscription_ids(server: Server, who: rbac.Identity) -> set[str]:
    return {s.subscription_id for s in rbac.subscriptions(server, who).subscriptions.list()}


def test_subscriptions_listed_by_role(server: Server) -> None:
    provider, customer = server.subscription("partner"), server.subscription("customer")
    assert _subscription_ids(server, rbac.seeded(server, "partner")) == {provider}
    assert _subscription_ids(server, rbac.seeded(server, "customer")) == {customer}
    assert _subscription_ids(server, rbac.seeded(server, "admin")) == {provider, customer}
    nobody = rbac.create_identity(server, "nobody")
    assert _subscription_ids(server, nobody) == set()
    # a role on one resource group is enough to see (and read) the subscription, as in `az login`
    admin = rbac.seeded(server, "admin")
    rbac.resources(server, admin, customer).resource_groups.create_or_update("one-rg", {"location": "westus"})
    rbac.assign(server, nobody, rbac.ROLE_IDS["Reader"], f"/subscriptions/{customer}/resourceGroups/one-rg")
    assert _subscription_ids(server, nobody) == {customer}
    assert (
        rbac.subscriptions(server, nobody).subscriptions.get(customer).display_name
        == "ExpressRoute_API_Dev_Customer_Sub"
    )


def test_a_principal_without_a_role_can_neither_read_nor_change(server: Server) -> None:
    sub = server.subscription("partner")
    nobody = rbac.create_identity(server, "no-role")
    rc = rbac.resources(server, nobody, sub)
    nc = rbac.network(server, nobody, sub)
    ac = rbac.authorization(server, nobody, sub)
    rbac.assert_denied(server, lambda: rbac.subscriptions(server, nobody).subscriptions.get(sub),
                       "Microsoft.Resources/subscriptions/read", f"/subscriptions/{sub}")  # fmt: skip
    rbac.assert_denied(server, lambda: list(rc.resource_groups.list()))
    rbac.assert_denied(server, lambda: rc.providers.get("Microsoft.Network"))
    rbac.assert_denied(server, lambda: list(rc.providers.list()))
    rbac.assert_denied(server, lambda: list(nc.express_route_cross_connections.list()))
    rbac.assert_denied(server, lambda: list(ac.role_assignments.list_for_subscription()))
    rbac.assert_denied(server, lambda: rc.resource_groups.create_or_update("mine", {"location": "westus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write")  # fmt: skip
    rbac.assert_denied(server, lambda: rc.providers.register("Microsoft.Network"), "Microsoft.Network/register/action")
    rbac.assert_denied(server, lambda: ac.role_assignments.create(
        f"/subscriptions/{sub}", str(uuid.uuid4()),
        {"role_definition_id": rbac.role_definition_id(sub, rbac.ROLE_IDS["Owner"]), "principal_id": nobody.object_id,
         "principal_type": "ServicePrincipal"}), "Microsoft.Authorization/roleAssignments/write")  # fmt: skip
    # the built-in role definitions at the root stay readable (they are the same everywhere)
    assert ac.role_definitions.get_by_id(
        f"/providers/Microsoft.Authorization/roleDefinitions/{rbac.ROLE_IDS['Reader']}"
    )


def test_another_tenant_sees_nothing_and_cannot_be_granted_anything(server: Server) -> None:
    provider = server.subscription("partner")
    operator = rbac.seeded(server, "operator")  # a principal of another tenant
    assert provider not in _subscription_ids(server, operator)
    with server.http("operator") as c:
        r = c.get(f"/subscriptions/{provider}/resourceGroups", params={"api-version": "2021-04-01"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "InvalidAuthenticationTokenTenant")
        r = c.get(f"/subscriptions/{provider}/providers/Microsoft.Authorization/roleAssignments",
                  params={"api-version": "2022-04-01"})  # fmt: skip
        assert r.status_code == 401
    # the admin of the partner tenant cannot grant it a role ...
    admin_client = rbac.authorization(server, rbac.seeded(server, "admin"), provider)
    before = rbac.settled_snapshot(server)
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as info:
        admin_client.role_assignments.create(
            f"/subscriptions/{provider}", str(uuid.uuid4()),
            {"role_definition_id": rbac.role_definition_id(provider, rbac.ROLE_IDS["Owner"]),
             "principal_id": operator.object_id, "principal_type": "ServicePrincipal"},
        )  # fmt: skip
    assert (info.value.status_code, info.value.error.code) == (400, "PrincipalNotFound")
    assert rbac.settled_snapshot(server) == before
    # ... nor reach the other tenant's subscriptions or directory
    r = server.operator("POST", "/subscriptions", {"tenantId": operator.tenant_id, "displayName": "Operator_Sub"})
    elsewhere = r.json()["subscriptionId"]
    with server.http("admin") as c:
        r = c.get(f"/subscriptions/{elsewhere}/providers/Microsoft.Authorization/roleAssignments",
                  params={"api-version": "2022-04-01"})  # fmt: skip
        assert (r.status_code, r.json()["error"]["code"]) == (401, "InvalidAuthenticationTokenTenant")
    with rbac.graph(server) as g:
        apps = g.get("/applications").json()["value"]
        assert server.env["operator"]["client_id"] not in {a["appId"] for a in apps}
        sps = g.get("/servicePrincipals").json()["value"]
        assert operator.object_id not in {s["id"] for s in sps}
        assert g.get(f"/servicePrincipals/{operator.object_id}").status_code == 404


def test_the_operator_api_keeps_its_own_credential(server: Server) -> None:
    """Owner of every subscription is still not the operator."""
    with server.http("admin") as c:
        r = c.post("/_crossconnect/reset")
        assert (r.status_code, r.json()["error"]["code"]) == (403, "OperatorOnly")
    assert server.operator("GET", "/subscriptions").status_code == 200


def test_enlisted_subscription_owned_by_the_tenant_admin_or_the_named_owners(server: Server) -> None:
    tenant = server.env["tenant_id"]
    r = server.operator("POST", "/subscriptions", {"tenantId": tenant, "displayName": "Admin_Owned"})
    assert r.status_code == 201, r.text
    assert r.json()["owners"] == [server.env["admin"]["object_id"]]
    owned = r.json()["subscriptionId"]
    assert owned in _subscription_ids(server, rbac.seeded(server, "admin"))
    assert owned not in _subscription_ids(server, rbac.seeded(server, "partner"))
    partner = server.env["partner"]["object_id"]
    r = server.operator(
        "POST", "/subscriptions", {"tenantId": tenant, "displayName": "Partner_Owned", "owners": [partner]}
    )
    assert r.status_code == 201 and r.json()["owners"] == [partner]
    assert r.json()["subscriptionId"] in _subscription_ids(server, rbac.seeded(server, "partner"))
    r = server.operator(
        "POST", "/subscriptions", {"tenantId": tenant, "displayName": "X", "owners": [str(uuid.uuid4())]}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PrincipalNotFound")


# -- two replicas, one database (the ``replicas`` fixture is in conftest.py) -----------------------
def test_a_role_change_on_one_replica_holds_on_the_other_at_once(replicas: tuple[Server, Server]) -> None:
    first, second = replicas
    sub = first.subscription("partner")
    admin = rbac.seeded(first, "admin")
    rbac.resources(first, admin, sub).resource_groups.create_or_update("shared-rg", {"location": "westus"})
    who = rbac.create_identity(first, "replicated")
    group = f"/subscriptions/{sub}/resourceGroups/shared-rg"
    on_second = rbac.resources(second, who, sub)
    rbac.assert_denied(second, lambda: on_second.resource_groups.get("shared-rg"))  # the second's cache is warm
    made = rbac.assign(first, who, rbac.ROLE_IDS["Reader"], group)  # granted through the first
    assert on_second.resource_groups.get("shared-rg").name == "shared-rg"  # seen by the second at once
    rbac.authorization(second, admin, sub).role_assignments.delete_by_id(made.id)  # revoked through the second
    on_first = rbac.resources(first, who, sub)
    rbac.assert_denied(first, lambda: on_first.resource_groups.get("shared-rg"))  # the first denies at once
    rbac.assert_denied(second, lambda: on_second.resource_groups.get("shared-rg"))
    # and a reset through one replica takes both back to the seeded roles
    rbac.assign(first, who, rbac.ROLE_IDS["Owner"], f"/subscriptions/{sub}")
    assert on_second.resource_groups.get("shared-rg")
    second.reset()
    with httpx.Client(base_url=first.base_url, verify=first.tls()) as c:
        token = first.token("partner")
        r = c.get(f"/subscriptions/{sub}/resourceGroups", params={"api-version": "2021-04-01"},
                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.status_code == 200, r.text
