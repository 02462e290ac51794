"""Tokens and the keys that sign them: the data dir is its owner's alone, signing keys are stored
encrypted (SQLite and PostgreSQL alike) with a key-encryption key that replicas share, a
rotated-out key is accepted only while its tokens may be valid, and every token carries one fixed
issuer per tenant, from the configured public URL, which ARM, the operator API and Graph check."""

from __future__ import annotations

import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support import Server, crossconnect, free_port, settled_snapshot
from tests.support.azure_cli import AzureCli
from tests.support.platform import (
    WRITER,
    ServerFactory,
    arm_error,
    client,
    dedicated_servers,
    group_url,
    key_encryption_key,
    mint,
    query,
    signing_keys,
    store_url,
)

ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def _assert_401(response: httpx.Response, code: str) -> str:
    status, actual, message = arm_error(response)
    assert (status, actual) == (401, code), response.text
    assert response.headers.get("www-authenticate", "").startswith("Bearer "), response.headers
    return message


def _refused_and_nothing_changed(server: Server, token: str, code: str) -> str:
    """A read and a write with ``token`` are both refused with 401 ``code``; the store is unchanged."""
    before = settled_snapshot(server)
    with client(server, token) as c:
        message = _assert_401(c.get(group_url(server.subscription(WRITER))), code)
        _assert_401(c.put(group_url(server.subscription(WRITER), "Intruder"), json={"location": "eastus"}), code)
    assert settled_snapshot(server) == before
    return message


def _groups_status(server: Server, token: str) -> int:
    with client(server, token) as c:
        return c.get(group_url(server.subscription(WRITER))).status_code


def _jwks_kids(server: Server) -> set[str]:
    with client(server) as c:
        return {k["kid"] for k in c.get(f"/{server.env['tenant_id']}/discovery/v2.0/keys").json()["keys"]}


def _serve(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return crossconnect("serve", "--data-dir", str(data_dir), *args)


def _modes(data_dir: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()}


# -- the data dir ------------------------------------------------------------------------------------
def test_the_data_dir_and_every_file_in_it_are_owner_only(backend: str, servers: ServerFactory) -> None:
    first = servers.start()
    assert stat.S_IMODE(first.data_dir.stat().st_mode) == 0o700
    modes = _modes(first.data_dir)
    expected = {"credentials.json", "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "server.json",
                "key-encryption.key"}  # fmt: skip
    if backend == "sqlite":
        expected |= {"crossconnect.db", "crossconnect.db-wal", "crossconnect.db-shm", "server.lock"}
    assert expected <= set(modes), modes
    assert {name: mode for name, mode in modes.items() if mode != 0o600} == {}
    # a data dir opened up by hand (or made by an older version) is closed again at the next start
    first.stop()
    first.data_dir.chmod(0o755)
    for path in first.data_dir.iterdir():
        path.chmod(0o644)
    second = servers.restart(first)
    assert stat.S_IMODE(second.data_dir.stat().st_mode) == 0o700
    assert {name: mode for name, mode in _modes(second.data_dir).items() if mode != 0o600} == {}
    assert _groups_status(second, second.token(WRITER)) == 200


# -- signing keys at rest ----------------------------------------------------------------------------
def test_signing_keys_are_stored_encrypted(backend: str, server: Server) -> None:
    rows = query(server, "SELECT kid, private_pem FROM signing_keys")
    assert rows
    for row in rows:
        assert row["private_pem"].startswith(ENCRYPTED), row["private_pem"][:40]
        with pytest.raises(TypeError):  # useless without the key-encryption key
            serialization.load_pem_private_key(row["private_pem"].encode(), password=None)
        with pytest.raises(ValueError):
            serialization.load_pem_private_key(row["private_pem"].encode(), password=b"x" * 43)
    # the key-encryption key (data dir only) opens them, and they are the keys the JWKS publishes
    token = server.token(WRITER)
    kid = jwt.get_unverified_header(token)["kid"]
    jwt.decode(
        token, signing_keys(server)[kid].public_key(), algorithms=["RS256"], audience="https://management.azure.com/"
    )
    assert kid in _jwks_kids(server)
    assert key_encryption_key(server).decode() not in server.operator("GET", "/snapshot").text
    if backend == "sqlite":
        blob = b"".join(p.read_bytes() for p in server.data_dir.iterdir() if p.name.startswith("crossconnect.db"))
        assert b"signing_keys" in blob and b"BEGIN PRIVATE KEY" not in blob


def test_keys_stored_in_clear_by_an_older_version_are_encrypted_at_start(servers: ServerFactory) -> None:
    first = servers.start()
    token = first.token(WRITER)
    first.stop()
    from sqlalchemy import create_engine, text

    engine = create_engine(store_url(first))
    with engine.begin() as conn:
        for kid, key in signing_keys(first).items():
            clear = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            conn.execute(
                text("UPDATE signing_keys SET private_pem = :pem WHERE kid = :kid"), {"pem": clear, "kid": kid}
            )
    engine.dispose()
    second = servers.restart(first)
    assert all(r["private_pem"].startswith(ENCRYPTED) for r in query(second, "SELECT private_pem FROM signing_keys"))
    assert _groups_status(second, token) == 200  # the same key, sealed


def test_a_server_with_another_key_encryption_key_refuses_to_start(servers: ServerFactory, tmp_path: Path) -> None:
    first = servers.start()
    first.stop()
    before = query(first, "SELECT kid, private_pem FROM signing_keys ORDER BY kid")
    other = tmp_path / "other.key"
    result = _serve(first.data_dir, "--port", str(free_port()), "--key-encryption-key-file", str(other),
                    *(["--database", first.database] if first.database else []))  # fmt: skip
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "another key-encryption key" in message and str(other) in message, message
    assert "Traceback" not in result.stderr
    assert query(first, "SELECT kid, private_pem FROM signing_keys ORDER BY kid") == before
    # with the right key (the file in the data dir) it starts, and the old keys still verify
    assert _groups_status(servers.restart(first), first.token(WRITER)) == 200


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--public-url", "http://127.0.0.1:8443"], "--public-url"),
        (["--public-url", "not a url"], "--public-url"),
        (["--public-url", "https://host.example/?a=b"], "--public-url"),
        (["--token-lifetime", "0"], "--token-lifetime"),
        (["--token-lifetime", "ten"], "--token-lifetime"),
        (["--clock-skew", "-1"], "--clock-skew"),
    ],
)
def test_bad_token_settings_are_refused_at_start(tmp_path: Path, args: list[str], named: str) -> None:
    result = _serve(tmp_path / "data", "--port", str(free_port()), *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert named in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()  # nothing was made


# -- replicas -------------------------------------------------------------------------------------------
def test_replicas_verify_each_others_tokens_across_a_rotation(replicas: tuple[Server, Server]) -> None:
    first, second = replicas
    from_first, from_second = first.token(WRITER), second.token(WRITER)
    assert _groups_status(first, from_second) == 200 and _groups_status(second, from_first) == 200
    r = first.operator("POST", "/signing-keys/rotate")
    assert r.status_code == 200, r.text
    new_kid = r.json()["activeKid"]
    fresh = second.token(WRITER)  # the other replica signs with the new key at once
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
    for token in (from_first, from_second, fresh):
        assert _groups_status(first, token) == 200 and _groups_status(second, token) == 200
    assert _jwks_kids(first) == _jwks_kids(second) == {jwt.get_unverified_header(from_first)["kid"], new_kid}


# -- rotation --------------------------------------------------------------------------------------------
def test_a_rotated_out_key_is_refused_once_its_tokens_have_expired(servers: ServerFactory) -> None:
    """Token lifetime 4 s, clock skew 1 s: the old key is accepted for 5 s after the rotation, then
    it leaves the JWKS and even a token with a distant expiry signed with it is refused."""
    server = servers.start("--token-lifetime", "4", "--clock-skew", "1")
    old = server.token(WRITER)
    claims = jwt.decode(old, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 4
    old_kid, old_key = list(signing_keys(server).items())[-1]
    leaked = mint(server, WRITER, key=old_key, kid=old_kid, exp=int(time.time()) + 3600)  # a stolen old key
    r = server.operator("POST", "/signing-keys/rotate")
    rotated_at = time.time()
    new_kid = r.json()["activeKid"]
    assert _groups_status(server, old) == 200 and _groups_status(server, leaked) == 200
    assert _jwks_kids(server) == {old_kid, new_kid}
    time.sleep(max(0.0, rotated_at + 4 + 1 + 0.5 - time.time()))
    assert _jwks_kids(server) == {new_kid}
    message = _refused_and_nothing_changed(server, leaked, "InvalidAuthenticationToken")
    assert "kid" in message
    fresh_leak = mint(server, WRITER, key=old_key, kid=old_kid)
    _refused_and_nothing_changed(server, fresh_leak, "InvalidAuthenticationToken")
    operator_leak = mint(server, "operator", key=old_key, kid=old_kid)
    with client(server, operator_leak) as c:
        assert c.get("/_crossconnect/subscriptions").status_code == 401
    # the new key works, through the SDK too (it asks for a new token: they last 4 s here)
    assert _groups_status(server, server.token(WRITER)) == 200
    assert server.resources(WRITER).resource_groups.create_or_update("Later", {"location": "eastus"}).name == "Later"
    # the next rotation deletes the expired key from the store
    server.operator("POST", "/signing-keys/rotate")
    assert old_kid not in signing_keys(server)


# -- the issuer ----------------------------------------------------------------------------------------
def test_the_issuer_is_fixed_whatever_the_host_header_says(server: Server) -> None:
    tenant = server.env["tenant_id"]
    expected = f"{server.base_url}/{tenant}/v2.0"
    p = server.env[WRITER]
    form = {"grant_type": "client_credentials", "client_id": p["client_id"], "client_secret": p["client_secret"],
            "scope": "https://management.azure.com/.default"}  # fmt: skip
    with client(server) as c:
        r = c.post(f"/{tenant}/oauth2/v2.0/token", data=form, headers={"Host": "evil.example"})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        discovery = c.get(f"/{tenant}/v2.0/.well-known/openid-configuration", headers={"Host": "evil.example"}).json()
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == expected == discovery["issuer"]
    assert _groups_status(server, token) == 200
    # the real client's token agrees with the discovery document
    sdk_token = server.credential(WRITER).get_token("https://management.azure.com/.default").token
    assert jwt.decode(sdk_token, options={"verify_signature": False})["iss"] == expected


def _other_issuers(server: Server) -> dict[str, Any]:
    tenant, other = server.env["tenant_id"], server.env["operator"]["tenant_id"]
    return {
        "another host": f"https://evil.example/{tenant}/v2.0",
        "another port": f"https://127.0.0.1:{server.port + 1}/{tenant}/v2.0",
        "Azure AD v1": f"https://sts.windows.net/{tenant}/",
        "a trailing slash": f"{server.base_url}/{tenant}/v2.0/",
        "another tenant": f"{server.base_url}/{other}/v2.0",
    }


@pytest.mark.parametrize(
    "case", ["another host", "another port", "Azure AD v1", "a trailing slash", "another tenant", "missing"]
)
def test_a_token_from_another_issuer_is_refused(server: Server, case: str) -> None:
    iss = None if case == "missing" else _other_issuers(server)[case]
    token = mint(server, WRITER, iss=iss)  # signed with the server's own key: only the issuer is wrong
    code = "InvalidAuthenticationToken" if iss is None else "InvalidAuthenticationTokenIssuer"
    message = _refused_and_nothing_changed(server, token, code)
    assert ("iss" in message) if iss is None else (f"'{iss}'" in message), message
    # the operator API and Graph check it the same way
    operator_iss = f"{server.base_url}/{server.env['tenant_id']}/v2.0" if case == "another tenant" else iss
    with client(server, mint(server, "operator", iss=operator_iss)) as c:
        assert c.get("/_crossconnect/subscriptions").status_code == 401
    graph = mint(server, "admin", iss=iss, aud="https://graph.microsoft.com")
    with client(server, graph) as c:
        assert c.get("/v1.0/applications").status_code == 401


def test_a_configured_public_url_is_the_issuer(servers: ServerFactory) -> None:
    """Behind a proxy: clients reach the server at 127.0.0.1, tokens name https://localhost:{port}."""
    port = free_port()
    public = f"https://localhost:{port}"
    server = servers.start("--public-url", f"{public}/", port=port)
    tenant = server.env["tenant_id"]
    with client(server) as c:
        assert c.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()["issuer"] == f"{public}/{tenant}/v2.0"
    token = server.credential(WRITER).get_token("https://management.azure.com/.default").token
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == f"{public}/{tenant}/v2.0"
    rc = server.resources(WRITER)
    assert rc.resource_groups.create_or_update("Proxied", {"location": "eastus"}).name == "Proxied"
    assert "Proxied" in [g.name for g in rc.resource_groups.list()]
    # the host-and-port issuer is now a wrong one
    message = _refused_and_nothing_changed(server, mint(server, WRITER), "InvalidAuthenticationTokenIssuer")
    assert f"'{public}/{tenant}/v2.0'" in message
    # another tenant's token on this tenant's subscription names the configured issuers
    with client(server, server.token("operator")) as c:
        message = _assert_401(c.get(group_url(server.subscription(WRITER))), "InvalidAuthenticationTokenTenant")
    assert f"{public}/{server.env['operator']['tenant_id']}/v2.0" in message and f"{public}/{tenant}/v2.0" in message


def test_the_azure_cli_with_a_configured_public_url(
    azure_cli_executable: Path, servers: ServerFactory, tmp_path: Path
) -> None:
    port = free_port()
    server = servers.start("--public-url", f"https://localhost:{port}", port=port)
    az = AzureCli(azure_cli_executable, server, tmp_path / "azure-config")
    az.register_cloud()
    az.login(WRITER)
    az("group", "create", "-n", "cli-issuer", "-l", "westus")
    assert "cli-issuer" in [g["name"] for g in az("group", "list")]
    token = az("account", "get-access-token")["accessToken"]
    assert jwt.decode(token, options={"verify_signature": False})["iss"].startswith(f"https://localhost:{port}/")
