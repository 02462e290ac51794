"""The Microsoft Graph subset (applications, passwords, certificates, service principals) and
certificate sign-in (azure-identity's CertificateCredential, and hand-made client assertions)."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support import ARM_SCOPE, Server, rbac

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _token_response(server: Server, client_id: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/{server.env['tenant_id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "scope": ARM_SCOPE, **form},
        verify=server.tls(),
    )


def _new_certificate(days: int = 30) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner-automation")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def _der_base64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _pem_bundle(path: Path, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> str:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return str(path)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assertion(server: Server, client_id: str, key: Any, cert: x509.Certificate, **overrides: Any) -> str:
    """A client assertion as MSAL makes one (RS256 + x5t unless overridden)."""
    now = int(time.time())
    claims = {"aud": f"{server.base_url}/{server.env['tenant_id']}/oauth2/v2.0/token", "iss": client_id,
              "sub": client_id, "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + 600}  # fmt: skip
    headers = {"x5t": _b64url(cert.fingerprint(hashes.SHA1()))}  # noqa: S303 - the header names the cert by SHA-1
    algorithm = overrides.pop("algorithm", "RS256")
    headers.update(overrides.pop("headers", {}))
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm, headers=headers)


@pytest.fixture
def app(server: Server) -> dict[str, Any]:
    """An application and its service principal, made by the admin; Reader on the provider subscription."""
    with rbac.graph(server) as g:
        created = g.post("/applications", json={"displayName": "graph-test", "notes": "made by a test"}).json()
        sp = g.post("/servicePrincipals", json={"appId": created["appId"], "accountEnabled": True}).json()
    who = rbac.Identity("graph-test", created["appId"], "", sp["id"], server.env["tenant_id"])
    rbac.assign(server, who, rbac.ROLE_IDS["Reader"], f"/subscriptions/{server.subscription('partner')}")
    return {"id": created["id"], "appId": created["appId"], "sp": sp["id"]}


# -- tokens ------------------------------------------------------------------------------------------
def test_graph_tokens_and_audiences(server: Server) -> None:
    """The CLI asks for the resource the metadata names (this server's origin); Graph's own id works too.
    Graph refuses ARM tokens and ARM refuses Graph tokens."""
    metadata = httpx.get(f"{server.base_url}/metadata/endpoints?api-version=2022-09-01", verify=server.tls()).json()
    assert metadata["microsoftGraphResourceId"] == f"{server.base_url}/"
    for scope in (f"{server.base_url}//.default", "https://graph.microsoft.com/.default"):
        token = server.token("admin", scope=scope)
        assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://graph.microsoft.com"
        r = httpx.get(f"{server.base_url}/v1.0/applications", headers={"Authorization": f"Bearer {token}"},
                      verify=server.tls())  # fmt: skip
        assert r.status_code == 200, r.text
        arm = httpx.get(f"{server.base_url}/subscriptions?api-version=2022-12-01",
                        headers={"Authorization": f"Bearer {token}"}, verify=server.tls())  # fmt: skip
        assert (arm.status_code, arm.json()["error"]["code"]) == (401, "InvalidAuthenticationTokenAudience")
    arm_token = server.token("admin")
    for headers in ({"Authorization": f"Bearer {arm_token}"}, {}):
        r = httpx.get(f"{server.base_url}/v1.0/applications", headers=headers, verify=server.tls())
        assert (r.status_code, r.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")


# -- applications and passwords ------------------------------------------------------------------------
def test_application_lifecycle_with_passwords(server: Server, app: dict[str, Any]) -> None:
    with rbac.graph(server) as g:
        got = g.get(f"/applications/{app['id']}").json()
        assert (got["appId"], got["displayName"], got["notes"]) == (app["appId"], "graph-test", "made by a test")
        assert got["passwordCredentials"] == [] and got["keyCredentials"] == []
        for query in (f"appId eq '{app['appId']}'", "displayName eq 'graph-test'", "startswith(displayName,'graph')"):
            assert [a["id"] for a in g.get("/applications", params={"$filter": query}).json()["value"]] == [app["id"]]
        assert g.get("/applications", params={"$filter": "displayName eq 'nothing'"}).json()["value"] == []
        assert g.patch(f"/applications/{app['id']}", json={"displayName": "graph-renamed"}).status_code == 204
        assert g.get(f"/applications/{app['id']}").json()["displayName"] == "graph-renamed"

        added = g.post(f"/applications/{app['id']}/addPassword", json={"passwordCredential": {"displayName": "ci"}})
        assert added.status_code == 200, added.text
        secret = added.json()
        assert secret["secretText"].startswith(secret["hint"]) and secret["displayName"] == "ci"
        listed = g.get(f"/applications/{app['id']}").json()["passwordCredentials"]
        assert [(p["keyId"], p["secretText"], p["hint"]) for p in listed] == [(secret["keyId"], None, secret["hint"])]
        # the new secret signs in and works with the SDK
        who = rbac.Identity("graph-test", app["appId"], secret["secretText"], app["sp"], server.env["tenant_id"])
        rc = rbac.resources(server, who, server.subscription("partner"))
        assert isinstance(list(rc.resource_groups.list()), list)
        # removed: it signs in no more
        assert g.post(f"/applications/{app['id']}/removePassword", json={"keyId": secret["keyId"]}).status_code == 204
        r = _token_response(server, app["appId"], client_secret=secret["secretText"])
        assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
        assert "AADSTS7000215" in r.json()["error_description"]
        assert g.post(f"/applications/{app['id']}/removePassword", json={"keyId": secret["keyId"]}).status_code == 400
        # deleting the application removes its service principal too
        assert g.delete(f"/applications/{app['id']}").status_code == 204
        assert g.get(f"/applications/{app['id']}").json()["error"]["code"] == "Request_ResourceNotFound"
        assert g.get(f"/servicePrincipals/{app['sp']}").status_code == 404


def test_service_principals(server: Server, app: dict[str, Any]) -> None:
    with rbac.graph(server) as g:
        by_app = g.get("/servicePrincipals", params={"$filter": f"appId eq '{app['appId']}'"}).json()["value"]
        assert [(s["id"], s["appId"], s["servicePrincipalNames"]) for s in by_app] == [
            (app["sp"], app["appId"], [app["appId"]])
        ]
        by_name = f"servicePrincipalNames/any(c:c eq '{app['appId']}')"
        names = g.get("/servicePrincipals", params={"$filter": by_name}).json()["value"]
        assert [s["id"] for s in names] == [app["sp"]]
        seeded = g.get("/servicePrincipals", params={"$filter": "displayName eq 'partner-automation'"}).json()["value"]
        assert [s["id"] for s in seeded] == [server.env["partner"]["object_id"]]
        assert g.get(f"/servicePrincipals/{app['sp']}").json()["appDisplayName"] == "graph-test"
        again = g.post("/servicePrincipals", json={"appId": app["appId"]})
        assert (again.status_code, again.json()["error"]["code"]) == (409, "Request_MultipleObjectsWithSameKeyValue")
        unknown = g.post("/servicePrincipals", json={"appId": str(uuid.uuid4())})
        assert unknown.status_code == 400 and "does not reference a valid application object" in unknown.text
        found = g.post("/directoryObjects/getByIds", json={"ids": [app["sp"]], "types": ["servicePrincipal"]})
        assert [o["id"] for o in found.json()["value"]] == [app["sp"]]


def test_graph_needs_application_permissions(server: Server, app: dict[str, Any]) -> None:
    """The partner's and the customer's applications hold no Graph permission: 403, nothing changed."""
    before = rbac.settled_snapshot(server)
    for role in ("partner", "customer"):
        with rbac.graph(server, role) as g:
            for method, path, body in (
                ("GET", "/applications", None),
                ("POST", "/applications", {"displayName": "sneaky"}),
                ("GET", f"/applications/{app['id']}", None),
                ("PATCH", f"/applications/{app['id']}", {"displayName": "taken"}),
                ("POST", f"/applications/{app['id']}/addPassword", {"passwordCredential": {}}),
                ("DELETE", f"/applications/{app['id']}", None),
                ("GET", "/servicePrincipals", None),
                ("POST", "/servicePrincipals", {"appId": app["appId"]}),
            ):
                r = g.request(method, path, json=body)
                assert (r.status_code, r.json()["error"]["code"]) == (403, "Authorization_RequestDenied"), (
                    method,
                    path,
                )
                assert r.json()["error"]["message"] == "Insufficient privileges to complete the operation."
    assert rbac.settled_snapshot(server) == before


def test_graph_bad_requests(server: Server) -> None:
    with rbac.graph(server) as g:
        assert g.post("/applications", json={}).json()["error"]["code"] == "Request_BadRequest"
        r = g.get("/applications", params={"$filter": "owners/any(o:o/id eq 'x') or true"})
        assert r.status_code == 400
        assert g.get(f"/applications/{uuid.uuid4()}").status_code == 404
        not_a_certificate = {"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm9wZQ=="}
        r = g.post("/applications", json={"displayName": "x", "keyCredentials": [not_a_certificate]})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "Request_BadRequest")


# -- certificates ------------------------------------------------------------------------------------
def test_certificate_credential_signs_in(server: Server, app: dict[str, Any], tmp_path: Path) -> None:
    from azure.identity import CertificateCredential
    from azure.mgmt.resource.resources import ResourceManagementClient

    key, cert = _new_certificate()
    with rbac.graph(server) as g:
        patch = {"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": _der_base64(cert),
                                     "displayName": "CN=partner-automation"}]}  # fmt: skip
        assert g.patch(f"/applications/{app['id']}", json=patch).status_code == 204
        listed = g.get(f"/applications/{app['id']}").json()["keyCredentials"]
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    assert [(k["customKeyIdentifier"], k["type"], k["usage"], k["key"]) for k in listed] == [
        (thumbprint, "AsymmetricX509Cert", "Verify", None)
    ]
    credential = CertificateCredential(
        server.env["tenant_id"], app["appId"], _pem_bundle(tmp_path / "cert.pem", key, cert),
        authority=server.base_url, disable_instance_discovery=True, connection_verify=server.ca,
    )  # fmt: skip
    token = credential.get_token(ARM_SCOPE)
    assert jwt.decode(token.token, options={"verify_signature": False})["appid"] == app["appId"]
    rc = ResourceManagementClient(credential, server.subscription("partner"), base_url=server.base_url,
                                  connection_verify=server.ca)  # fmt: skip
    assert isinstance([g.name for g in rc.resource_groups.list()], list)

    # a certificate the application does not know
    other_key, other_cert = _new_certificate()
    from azure.core.exceptions import ClientAuthenticationError

    stranger = CertificateCredential(
        server.env["tenant_id"], app["appId"], _pem_bundle(tmp_path / "other.pem", other_key, other_cert),
        authority=server.base_url, disable_instance_discovery=True, connection_verify=server.ca,
    )  # fmt: skip
    with pytest.raises(ClientAuthenticationError) as info:
        stranger.get_token(ARM_SCOPE)
    assert "AADSTS700027" in str(info.value)

    # PATCH keyCredentials is the whole set: an empty list removes the certificate
    with rbac.graph(server) as g:
        assert g.patch(f"/applications/{app['id']}", json={"keyCredentials": []}).status_code == 204
    r = _token_response(server, app["appId"], client_assertion_type=JWT_BEARER,
                        client_assertion=_assertion(server, app["appId"], key, cert))  # fmt: skip
    assert r.status_code == 401 and "AADSTS700027" in r.json()["error_description"]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("valid RS256 with x5t", None),
        ("valid PS256 with x5t#S256", None),
        ("audience of another endpoint", 700023),
        ("issuer is another client", 700021),
        ("expired", 700024),
        ("signed by another key", 700027),
        ("unsupported algorithm", 5002738),
        ("wrong assertion type", 700022),
        ("not a JWT", 50027),
    ],
)
def test_client_assertions(server: Server, app: dict[str, Any], case: str, code: int | None) -> None:
    key, cert = _new_certificate()
    with rbac.graph(server) as g:  # registered when the application is created, as `--create-cert` does
        created = g.post("/applications", json={"displayName": "with-cert", "keyCredentials": [
            {"type": "AsymmetricX509Cert", "usage": "Verify", "key": _der_base64(cert)}]}).json()  # fmt: skip
        assert g.post("/servicePrincipals", json={"appId": created["appId"]}).status_code == 201
    client_id = created["appId"]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sha256 = _b64url(cert.fingerprint(hashes.SHA256()))
    assertion = {
        "valid RS256 with x5t": lambda: _assertion(server, client_id, key, cert),
        "valid PS256 with x5t#S256": lambda: _assertion(server, client_id, key, cert, algorithm="PS256",
                                                         headers={"x5t#S256": sha256}),
        "audience of another endpoint": lambda: _assertion(server, client_id, key, cert, aud="https://elsewhere/token"),
        "issuer is another client": lambda: _assertion(server, client_id, key, cert, iss=str(uuid.uuid4())),
        "expired": lambda: _assertion(server, client_id, key, cert, iat=int(time.time()) - 4000,
                                      nbf=int(time.time()) - 4000, exp=int(time.time()) - 3000),
        "signed by another key": lambda: _assertion(server, client_id, other_key, cert),
        "unsupported algorithm": lambda: jwt.encode({"iss": client_id}, "k" * 32, algorithm="HS256"),
        "wrong assertion type": lambda: _assertion(server, client_id, key, cert),
        "not a JWT": lambda: "definitely-not-a-jwt",
    }[case]()  # fmt: skip
    assertion_type = (
        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer" if case == "wrong assertion type" else JWT_BEARER
    )
    r = _token_response(server, client_id, client_assertion_type=assertion_type, client_assertion=assertion)
    if code is None:
        assert r.status_code == 200, r.text
        assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["appid"] == client_id
    else:
        assert r.status_code in (400, 401), r.text
        assert f"AADSTS{code}" in r.json()["error_description"], r.text
