"""Azure AD: the token endpoints (v2 and v1), discovery and JWKS, and Azure AD's error answers,
through azure-identity and raw HTTPS."""

from __future__ import annotations

import httpx
import jwt
import pytest

from tests.support import ARM_SCOPE, Server
from tests.support.platform import client


def _token_v2(server: Server, tenant: str, **form: str) -> httpx.Response:
    with client(server) as c:
        return c.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def _partner_form(server: Server, **overrides: str) -> dict[str, str]:
    p = server.env["partner"]
    form = {
        "grant_type": "client_credentials",
        "client_id": p["client_id"],
        "client_secret": p["client_secret"],
        "scope": ARM_SCOPE,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _aad_error(response: httpx.Response, status: int, error: str, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["error_codes"] == [code], body
    assert body["error_description"].startswith(f"AADSTS{code}: "), body
    assert "access_token" not in body
    return str(body["error_description"])


def test_client_secret_credential_gets_a_verifiable_token(server: Server) -> None:
    token = server.credential("partner").get_token(ARM_SCOPE)
    assert token.expires_on > 0
    claims = jwt.decode(token.token, options={"verify_signature": False})
    p = server.env["partner"]
    assert claims["aud"] == "https://management.azure.com/"
    assert claims["tid"] == server.env["tenant_id"]
    assert claims["oid"] == p["object_id"]
    assert claims["appid"] == p["client_id"]
    assert claims["iss"] == f"{server.base_url}/{server.env['tenant_id']}/v2.0"
    assert claims["exp"] - claims["iat"] == 3600


def test_tenant_by_domain_name(server: Server) -> None:
    from azure.identity import ClientSecretCredential

    p = server.env["partner"]
    credential = ClientSecretCredential(
        "partnerdev.onmicrosoft.com",
        p["client_id"],
        p["client_secret"],
        authority=server.base_url,
        disable_instance_discovery=True,
        connection_verify=server.ca,
    )
    claims = jwt.decode(credential.get_token(ARM_SCOPE).token, options={"verify_signature": False})
    assert claims["tid"] == server.env["tenant_id"]  # the domain resolves to the tenant id
    # ... and the SDK then works with that credential
    from azure.mgmt.resource.resources import ResourceManagementClient

    rc = ResourceManagementClient(
        credential, server.subscription("partner"), base_url=server.base_url, connection_verify=server.ca
    )
    assert [g.name for g in rc.resource_groups.list()] == []


def test_v1_token_endpoint_with_resource(server: Server) -> None:
    p = server.env["partner"]
    with client(server) as c:
        r = c.post(
            f"/{server.env['tenant_id']}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": p["client_id"],
                "client_secret": p["client_secret"],
                "resource": "https://management.core.windows.net/",
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "Bearer"
        assert body["resource"] == "https://management.core.windows.net/"
        assert int(body["expires_on"]) - int(body["not_before"]) == int(body["expires_in"]) == 3600
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["aud"] == "https://management.core.windows.net/"
        # a v1 token is good for ARM
        arm = c.get(
            "/subscriptions?api-version=2022-12-01", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert arm.status_code == 200, arm.text
        listed = {s["subscriptionId"] for s in arm.json()["value"]}
        assert server.subscription("partner") in listed
        assert listed <= {server.subscription("partner"), server.subscription("customer")}


def test_openid_discovery_and_jwks_verify_a_token(server: Server) -> None:
    tenant = server.env["tenant_id"]
    with client(server) as c:
        for path in (
            f"/{tenant}/v2.0/.well-known/openid-configuration",
            "/partnerdev.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        ):
            r = c.get(path)
            assert r.status_code == 200, r.text
            config = r.json()
            assert config["issuer"] == f"{server.base_url}/{tenant}/v2.0"
            assert config["token_endpoint"] == f"{server.base_url}/{tenant}/oauth2/v2.0/token"
            assert config["authorization_endpoint"].startswith(f"{server.base_url}/{tenant}/oauth2/")
            assert config["jwks_uri"].startswith("https://")
        keys = c.get(config["jwks_uri"])
        assert keys.status_code == 200
        jwks = jwt.PyJWKSet.from_dict(keys.json())
        assert all(k.key_type == "RSA" for k in jwks.keys)
        assert all("d" not in k for k in keys.json()["keys"])  # public keys only
    token = server.token("partner")
    kid = jwt.get_unverified_header(token)["kid"]
    public = next(k for k in jwks.keys if k.key_id == kid)
    claims = jwt.decode(
        token, public.key, algorithms=["RS256"], audience="https://management.azure.com/", issuer=config["issuer"]
    )
    assert claims["oid"] == server.env["partner"]["object_id"]
    # a token signed by anyone else does not verify against these keys
    with pytest.raises(jwt.InvalidSignatureError):
        tampered = token[: token.rindex(".") + 1] + ("A" * 20) + token[token.rindex(".") + 21 :]
        jwt.decode(tampered, public.key, algorithms=["RS256"], audience="https://management.azure.com/")


def test_unknown_tenant(server: Server) -> None:
    r = _token_v2(server, "00000000-0000-0000-0000-00000000beef", **_partner_form(server))
    assert "Tenant '00000000-0000-0000-0000-00000000beef' not found" in _aad_error(r, 400, "invalid_request", 90002)
    with client(server) as c:
        discovery = c.get("/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    _aad_error(discovery, 400, "invalid_request", 90002)


def test_unknown_client(server: Server) -> None:
    r = _token_v2(
        server, server.env["tenant_id"], **_partner_form(server, client_id="11111111-2222-3333-4444-555555555555")
    )
    _aad_error(r, 400, "unauthorized_client", 700016)
    # the operator's app exists, but not in the partner tenant
    r = _token_v2(
        server,
        server.env["tenant_id"],
        **_partner_form(
            server, client_id=server.env["operator"]["client_id"], client_secret=server.env["operator"]["client_secret"]
        ),
    )
    _aad_error(r, 400, "unauthorized_client", 700016)


def test_wrong_secret(server: Server) -> None:
    r = _token_v2(server, server.env["tenant_id"], **_partner_form(server, client_secret="not-the-secret"))
    assert "Invalid client secret" in _aad_error(r, 401, "invalid_client", 7000215)
    # another app's secret is wrong too
    r = _token_v2(
        server, server.env["tenant_id"], **_partner_form(server, client_secret=server.env["customer"]["client_secret"])
    )
    _aad_error(r, 401, "invalid_client", 7000215)


def test_missing_secret(server: Server) -> None:
    r = _token_v2(server, server.env["tenant_id"], **_partner_form(server, client_secret=None))
    _aad_error(r, 401, "invalid_client", 7000216)


def test_unsupported_grant(server: Server) -> None:
    r = _token_v2(server, server.env["tenant_id"], **_partner_form(server, grant_type="password"))
    assert "'password'" in _aad_error(r, 400, "unsupported_grant_type", 70003)


def test_missing_scope_and_missing_resource(server: Server) -> None:
    r = _token_v2(server, server.env["tenant_id"], **_partner_form(server, scope=None))
    assert "'scope'" in _aad_error(r, 400, "invalid_request", 900144)
    p = server.env["partner"]
    with client(server) as c:
        v1 = c.post(
            f"/{server.env['tenant_id']}/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": p["client_id"], "client_secret": p["client_secret"]},
        )
    assert "'resource'" in _aad_error(v1, 400, "invalid_request", 900144)


def test_unknown_resource(server: Server) -> None:
    r = _token_v2(server, server.env["tenant_id"], **_partner_form(server, scope="https://vault.example.net/.default"))
    assert "https://vault.example.net/" in _aad_error(r, 400, "invalid_resource", 500011)
    p = server.env["partner"]
    with client(server) as c:
        v1 = c.post(
            f"/{server.env['tenant_id']}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": p["client_id"],
                "client_secret": p["client_secret"],
                "resource": "https://storage.example.net",
            },
        )
    _aad_error(v1, 400, "invalid_resource", 500011)
    r = _token_v2(server, server.env["tenant_id"], **_partner_form(server, scope="openid"))
    _aad_error(r, 400, "invalid_scope", 70011)


def test_azure_identity_raises_with_aadsts_text(server: Server) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential

    p = server.env["partner"]
    cases = [
        (server.env["tenant_id"], p["client_id"], "wrong-secret", "AADSTS7000215"),
        (server.env["tenant_id"], "11111111-2222-3333-4444-555555555555", p["client_secret"], "AADSTS700016"),
        # MSAL reads discovery first; for an unknown tenant it reports that, as against Azure AD
        ("nosuch.onmicrosoft.com", p["client_id"], p["client_secret"], "Unable to get authority configuration"),
    ]
    for tenant, client_id, secret, code in cases:
        credential = ClientSecretCredential(
            tenant,
            client_id,
            secret,
            authority=server.base_url,
            disable_instance_discovery=True,
            connection_verify=server.ca,
        )
        with pytest.raises(ClientAuthenticationError) as info:
            credential.get_token(ARM_SCOPE)
        assert code in str(info.value), (code, str(info.value))


def test_form_body_required(server: Server) -> None:
    with client(server) as c:
        r = c.post(f"/{server.env['tenant_id']}/oauth2/v2.0/token", json=_partner_form(server))
    _aad_error(r, 400, "invalid_request", 900144)
