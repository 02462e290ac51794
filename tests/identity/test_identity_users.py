"""Users: the seeded admin user, sign-in with authorization code + PKCE, refresh tokens, the
device-code flow over HTTPS, wrong-password throttling, sign-in state shared by replicas on one
database, and RBAC for user principals."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import httpx
import jwt

from tests.support import Server
from tests.support.signin import (
    AZURE_CLI_CLIENT,
    PORTAL_CLIENT,
    authorize_params,
    code_from,
    error_text,
    pkce,
    sign_in,
    user_tokens,
)


def _claims(token: str) -> dict:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_env_names_the_user_and_credentials_stay_private(server: Server) -> None:
    user = server.env["user"]
    assert set(user) == {"username", "password", "object_id"}
    assert user["username"].startswith("admin@")
    mode = (server.data_dir / "credentials.json").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_sign_in_page_is_self_contained(server: Server) -> None:
    _, challenge = pkce()
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        r = c.get(f"/{server.env['tenant_id']}/oauth2/v2.0/authorize", params=authorize_params(server, challenge))
    assert r.status_code == 200
    assert 'name="password"' in r.text
    assert "http://" not in r.text and "src=" not in r.text


def test_authorization_code_gives_user_tokens_that_arm_accepts(server: Server) -> None:
    body = user_tokens(server)
    claims = _claims(body["access_token"])
    user = server.env["user"]
    assert claims["oid"] == user["object_id"] and claims["idtyp"] == "user"
    assert claims["upn"] == user["username"] and claims["name"]
    assert claims["aud"] == "https://management.azure.com/"
    assert _claims(body["id_token"])["preferred_username"] == user["username"]
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        r = c.get("/subscriptions?api-version=2022-12-01", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.status_code == 200
    assert {s["subscriptionId"] for s in r.json()["value"]} == {
        server.subscription("partner"),
        server.subscription("customer"),
    }


def test_refresh_token_for_graph_lists_users_and_service_principals(server: Server) -> None:
    body = user_tokens(server)
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        r = c.post(
            f"/{server.env['tenant_id']}/oauth2/v2.0/token",
            data={"grant_type": "refresh_token", "client_id": PORTAL_CLIENT, "refresh_token": body["refresh_token"],
                  "scope": "https://graph.microsoft.com/.default offline_access"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        graph = {"Authorization": f"Bearer {r.json()['access_token']}"}
        users = c.get("/v1.0/users", headers=graph).json()["value"]
        assert [u["userPrincipalName"] for u in users] == [server.env["user"]["username"]]
        sps = c.get("/v1.0/servicePrincipals", headers=graph).json()["value"]
        assert server.env["partner"]["client_id"] in {sp["appId"] for sp in sps}
        assert c.get("/v1.0/me", headers=graph).json()["id"] == server.env["user"]["object_id"]


def test_code_is_single_use_and_needs_the_verifier(server: Server) -> None:
    user = server.env["user"]
    verifier, challenge = pkce()
    token_url = f"/{server.env['tenant_id']}/oauth2/v2.0/token"
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        code = code_from(sign_in(server, c, user["username"], user["password"], challenge))
        form = {"grant_type": "authorization_code", "client_id": PORTAL_CLIENT, "code": code,
                "redirect_uri": f"{server.base_url}/portal/"}  # fmt: skip
        wrong = c.post(token_url, data={**form, "code_verifier": "not-the-verifier-" + "x" * 30})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        assert c.post(token_url, data={**form, "code_verifier": verifier}).status_code == 200
        again = c.post(token_url, data={**form, "code_verifier": verifier})
        assert again.status_code == 400 and "redeemed already" in again.json()["error_description"]


def test_wrong_password_message_then_throttled(server: Server) -> None:
    _, challenge = pkce()
    username = server.env["user"]["username"]
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        first = sign_in(server, c, username, "wrong", challenge)
        assert first.status_code == 200
        assert "password is incorrect" in error_text(first.text)
        for _ in range(4):
            sign_in(server, c, username, "wrong", challenge)
        blocked = sign_in(server, c, username, server.env["user"]["password"], challenge)
    assert blocked.status_code == 200
    assert "Too many attempts" in error_text(blocked.text) and " s " in error_text(blocked.text)


def test_device_code_flow_over_https(server: Server) -> None:
    user = server.env["user"]
    tenant = server.env["tenant_id"]
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        start = c.post(
            f"/{tenant}/oauth2/v2.0/devicecode",
            data={
                "client_id": AZURE_CLI_CLIENT,
                "scope": "https://management.core.windows.net//.default offline_access",
            },
        )
        assert start.status_code == 200, start.text
        device = start.json()
        poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": AZURE_CLI_CLIENT,
                "device_code": device["device_code"], "client_info": "1"}  # fmt: skip
        pending = c.post(f"/{tenant}/oauth2/v2.0/token", data=poll)
        assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
        assert c.get("/devicelogin").status_code == 200
        page = c.post("/devicelogin", data={"user_code": device["user_code"]})
        assert 'name="password"' in page.text
        done = c.post("/devicelogin", data={"user_code": device["user_code"], "username": user["username"],
                                            "password": user["password"]})  # fmt: skip
        assert "signed in" in done.text
        tokens = c.post(f"/{tenant}/oauth2/v2.0/token", data=poll)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert _claims(body["access_token"])["aud"] == "https://management.core.windows.net/"
    assert body["client_info"] and body["refresh_token"]


DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _start_device_code(server: Server, client: httpx.Client) -> dict:
    start = client.post(
        f"/{server.env['tenant_id']}/oauth2/v2.0/devicecode",
        data={"client_id": AZURE_CLI_CLIENT, "scope": "https://management.core.windows.net//.default offline_access"},
    )
    assert start.status_code == 200, start.text
    return dict(start.json())


def _poll(device: dict) -> dict[str, str]:
    return {"grant_type": DEVICE_CODE_GRANT, "client_id": AZURE_CLI_CLIENT, "device_code": device["device_code"]}


def _lock_out(server: Server, client: httpx.Client, challenge: str) -> None:
    for _ in range(5):
        wrong = sign_in(server, client, server.env["user"]["username"], "wrong", challenge)
        assert "password is incorrect" in error_text(wrong.text)


def test_reset_forgets_sign_in_in_progress_and_snapshots_leave_it_out(server: Server) -> None:
    user = server.env["user"]
    token_url = f"/{server.env['tenant_id']}/oauth2/v2.0/token"
    _, challenge = pkce()
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        device = _start_device_code(server, c)
        _lock_out(server, c, challenge)
        assert "Too many attempts" in error_text(sign_in(server, c, user["username"], user["password"], challenge).text)
        tables = server.operator("GET", "/snapshot").json()["tables"]
        assert not {"device_codes", "redeemed_codes", "sign_in_failures"} & set(tables)
        server.reset()
        gone = c.post(token_url, data=_poll(device))
        assert gone.status_code == 400 and gone.json()["error"] == "expired_token"
        code_from(sign_in(server, c, user["username"], user["password"], challenge))  # no longer locked


def test_replicas_share_device_codes_codes_and_wrong_passwords(replicas: tuple[Server, Server]) -> None:
    """Two servers on one database: what one replica starts, the other continues."""
    first, second = replicas
    user = first.env["user"]
    token_url = f"/{first.env['tenant_id']}/oauth2/v2.0/token"
    with (
        httpx.Client(base_url=first.base_url, verify=first.tls()) as a,
        httpx.Client(base_url=second.base_url, verify=second.tls()) as b,
    ):
        # a device code requested at the first, confirmed on the second's page, redeemed at the first
        device = _start_device_code(first, a)
        pending = b.post(token_url, data=_poll(device))
        assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
        page = b.post("/devicelogin", data={"user_code": device["user_code"].lower()})
        assert 'name="password"' in page.text and not error_text(page.text)
        done = b.post("/devicelogin", data={"user_code": device["user_code"], "username": user["username"],
                                            "password": user["password"]})  # fmt: skip
        assert "signed in" in done.text
        tokens = a.post(token_url, data=_poll(device))
        assert tokens.status_code == 200, tokens.text
        assert _claims(tokens.json()["access_token"])["oid"] == user["object_id"]
        again = b.post(token_url, data=_poll(device))  # redeemed once, whichever replica is asked
        assert again.status_code == 400 and again.json()["error"] == "expired_token"

        # an authorization code redeemed at the first cannot be redeemed again at the second
        verifier, challenge = pkce()
        code = code_from(sign_in(first, a, user["username"], user["password"], challenge))
        form = {"grant_type": "authorization_code", "client_id": PORTAL_CLIENT, "code": code,
                "redirect_uri": f"{first.base_url}/portal/", "code_verifier": verifier}  # fmt: skip
        assert a.post(token_url, data=form).status_code == 200
        replay = b.post(token_url, data=form)
        assert replay.status_code == 400 and "redeemed already" in replay.json()["error_description"]

        # wrong passwords at the first lock the user out at the second, on both sign-in pages
        _lock_out(first, a, challenge)
        blocked = sign_in(second, b, user["username"], user["password"], challenge)
        assert blocked.status_code == 200 and "Too many attempts" in error_text(blocked.text)
        device = _start_device_code(second, b)
        blocked = a.post("/devicelogin", data={"user_code": device["user_code"], "username": user["username"],
                                               "password": user["password"]})  # fmt: skip
        assert "Too many attempts" in error_text(blocked.text)

        # a reset through the second lifts the lock and forgets the pending code on both
        second.reset()
        assert a.post(token_url, data=_poll(device)).json()["error"] == "expired_token"
        code_from(sign_in(first, a, user["username"], user["password"], challenge))


def test_user_role_assignments(server: Server) -> None:
    """An assignment to a user is principalType User; the user's own token is then enforced by RBAC."""
    user = server.env["user"]
    sub = server.subscription("partner")
    scope = f"/subscriptions/{sub}"
    with server.http("admin") as admin:
        listed = admin.get(f"{scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01")
        mine = [a for a in listed.json()["value"] if a["properties"]["principalId"] == user["object_id"]]
        assert [a["properties"]["principalType"] for a in mine] == ["User"]
        reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
        url = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?api-version=2022-04-01"
        body = {
            "properties": {
                "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{reader}",
                "principalId": user["object_id"],
                "principalType": "ServicePrincipal",
            }
        }
        wrong = admin.put(url, json=body)
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "UnmatchedPrincipalType"
        body["properties"]["principalType"] = "User"
        assert admin.put(url, json=body).status_code == 201


def test_older_credentials_file_gets_a_user(tmp_path: Path) -> None:
    from crossconnect.app.seed import load_or_create_credentials, new_credentials

    creds = new_credentials(bare=False)
    del creds["user"]
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(creds))
    path.chmod(0o600)
    loaded = load_or_create_credentials(tmp_path, bare=False)
    assert loaded["user"]["username"] == f"admin@{creds['tenant_domain']}"
    assert json.loads(path.read_text())["user"] == loaded["user"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
