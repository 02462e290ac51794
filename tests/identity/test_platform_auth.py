"""ARM authentication: every way a bearer token can be wrong gives 401 with Azure's code and a
``WWW-Authenticate: Bearer`` challenge; tenants never see each other's subscriptions."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from tests.support import Server
from tests.support.platform import (
    SUBSCRIPTIONS_API,
    arm_error,
    client,
    group_url,
    mint,
    new_rsa_key,
    signing_key,
)


def _assert_401(response: httpx.Response, code: str) -> str:
    status, actual, message = arm_error(response)
    assert (status, actual) == (401, code), response.text
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer "), response.headers
    assert 'error="invalid_token"' in challenge
    assert "authorization_uri=" in challenge
    assert response.headers["x-ms-request-id"]
    return message


def _get_groups(server: Server, headers: dict[str, str]) -> httpx.Response:
    with client(server) as c:
        return c.get(group_url(server.subscription("partner")), headers=headers)


def test_missing_header(server: Server) -> None:
    before = server.snapshot()
    assert "missing" in _assert_401(_get_groups(server, {}), "AuthenticationFailed")
    with client(server) as c:
        r = c.put(group_url(server.subscription("partner"), "NoAuth"), json={"location": "eastus"})
    _assert_401(r, "AuthenticationFailed")
    assert server.snapshot() == before


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "token abc", "Bearertoken"])
def test_malformed_authorization_header(server: Server, header: str) -> None:
    _assert_401(_get_groups(server, {"Authorization": header}), "AuthenticationFailed")


@pytest.mark.parametrize("token", ["abc", "abc.def.ghi", "eyJhbGciOiJSUzI1NiJ9.e30.", "a.b"])
def test_malformed_token(server: Server, token: str) -> None:
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationToken")


def test_expired_token(server: Server) -> None:
    now = int(time.time())
    token = mint(server, iat=now - 7200, nbf=now - 7200, exp=now - 60)
    message = _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "ExpiredAuthenticationToken")
    assert "expiry" in message
    # the same claims with a future expiry are accepted: only the times made the difference
    fine = mint(server, iat=now - 7200, nbf=now - 7200, exp=now + 600)
    assert _get_groups(server, {"Authorization": f"Bearer {fine}"}).status_code == 200


def test_token_expiring_while_cached_is_refused(server: Server) -> None:
    token = mint(server, exp=int(time.time()) + 2)
    assert _get_groups(server, {"Authorization": f"Bearer {token}"}).status_code == 200  # verified and cached
    time.sleep(3)
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "ExpiredAuthenticationToken")


def test_not_yet_valid_token(server: Server) -> None:
    now = int(time.time())
    token = mint(server, iat=now, nbf=now + 3600, exp=now + 7200)
    message = _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationToken")
    assert "validity start time" in message


@pytest.mark.parametrize(
    "audience",
    ["https://graph.microsoft.com", "https://management.azure.com/extra", "https://vault.azure.net", "api://other"],
)
def test_wrong_audience(server: Server, audience: str) -> None:
    token = mint(server, aud=audience)
    message = _assert_401(
        _get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationTokenAudience"
    )
    assert f"'{audience}'" in message


def test_graph_token_from_the_token_endpoint_is_refused_by_arm(server: Server) -> None:
    token = server.token("partner", scope="https://graph.microsoft.com/.default")
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationTokenAudience")


@pytest.mark.parametrize(
    "audience",
    [
        "https://management.azure.com/",
        "https://management.azure.com",
        "https://management.core.windows.net/",
        "https://management.core.windows.net",
    ],
)
def test_both_arm_audiences_accepted(server: Server, audience: str) -> None:
    token = mint(server, aud=audience)
    r = _get_groups(server, {"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


def test_both_arm_scopes_from_the_token_endpoint(server: Server) -> None:
    for scope in (
        "https://management.azure.com/.default",
        "https://management.core.windows.net//.default",
        "https://management.core.windows.net/.default",
    ):
        token = server.token("partner", scope=scope)
        assert _get_groups(server, {"Authorization": f"Bearer {token}"}).status_code == 200, scope


def test_signature_by_unknown_key_same_kid(server: Server) -> None:
    kid, _ = signing_key(server)
    token = mint(server, key=new_rsa_key(), kid=kid)
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationToken")


def test_signature_by_unknown_key_random_kid(server: Server) -> None:
    token = mint(server, key=new_rsa_key(), kid="f" * 32)
    message = _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationToken")
    assert "kid" in message


def test_tampered_claims_are_refused(server: Server) -> None:
    """A real token whose payload was edited (another tenant's object id) no longer verifies."""
    token = server.token("partner")
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["oid"] = server.env["customer"]["object_id"]
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    forged = f"{header}.{forged_payload}.{signature}"
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {forged}"}), "InvalidAuthenticationToken")


def test_alg_none_and_hs256_refused(server: Server) -> None:
    from tests.support.platform import claims_for

    kid, _ = signing_key(server)
    unsigned = jwt.encode(claims_for(server), None, algorithm="none", headers={"kid": kid})
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {unsigned}"}), "InvalidAuthenticationToken")
    hmac = jwt.encode(
        claims_for(server), "secret-key-long-enough-for-hs256-0123456789", algorithm="HS256", headers={"kid": kid}
    )
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {hmac}"}), "InvalidAuthenticationToken")


def test_missing_required_claim_refused(server: Server) -> None:
    token = mint(server, tid=None)
    _assert_401(_get_groups(server, {"Authorization": f"Bearer {token}"}), "InvalidAuthenticationToken")


def test_wrong_tenant_token(server: Server) -> None:
    """The operator's token (operator tenant) on the partner's subscription."""
    before = server.snapshot()
    operator = server.token("operator")
    message = _assert_401(
        _get_groups(server, {"Authorization": f"Bearer {operator}"}), "InvalidAuthenticationTokenTenant"
    )
    assert server.env["tenant_id"] in message and server.env["operator"]["tenant_id"] in message
    with client(server, operator) as c:
        r = c.put(group_url(server.subscription("partner"), "Intruder"), json={"location": "eastus"})
        _assert_401(r, "InvalidAuthenticationTokenTenant")
        r = c.get(f"/subscriptions/{server.subscription('partner')}?api-version={SUBSCRIPTIONS_API}")
        _assert_401(r, "InvalidAuthenticationTokenTenant")
    assert server.snapshot() == before


def test_principal_never_sees_another_tenants_subscriptions(server: Server) -> None:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    # a subscription in the operator's tenant
    r = server.operator(
        "POST", "/subscriptions", {"tenantId": server.env["operator"]["tenant_id"], "displayName": "Operator_Sub"}
    )
    assert r.status_code == 201, r.text
    operator_sub = r.json()["subscriptionId"]

    partner = SubscriptionClient(server.credential("partner"), base_url=server.base_url, connection_verify=server.ca)
    seen = {s.subscription_id for s in partner.subscriptions.list()}
    assert server.subscription("partner") in seen
    assert seen <= {server.subscription("partner"), server.subscription("customer")}
    assert [t.tenant_id for t in partner.tenants.list()] == [server.env["tenant_id"]]

    operator = SubscriptionClient(server.credential("operator"), base_url=server.base_url, connection_verify=server.ca)
    operator_view = {s.subscription_id for s in operator.subscriptions.list()}
    assert operator_view.isdisjoint({server.subscription("partner"), server.subscription("customer")})
    assert operator_view <= {operator_sub}
    assert [t.tenant_id for t in operator.tenants.list()] == [server.env["operator"]["tenant_id"]]

    from azure.core.exceptions import ClientAuthenticationError

    with pytest.raises(ClientAuthenticationError) as info:
        partner.subscriptions.get(operator_sub)
    assert info.value.status_code == 401
    assert info.value.error.code == "InvalidAuthenticationTokenTenant"


def test_unknown_subscription(server: Server) -> None:
    with server.http("partner") as c:
        r = c.get(group_url("00000000-0000-0000-0000-000000000123"))
    status, code, message = arm_error(r)
    assert (status, code) == (404, "SubscriptionNotFound")
    assert "00000000-0000-0000-0000-000000000123" in message
