"""Signing in as a user over plain HTTPS: the authorization-code flow with PKCE, as a browser does."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from tests.support import Server

PORTAL_CLIENT = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
AZURE_CLI_CLIENT = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(server: Server, challenge: str, scope: str = "https://management.azure.com/.default") -> dict:
    return {
        "client_id": PORTAL_CLIENT,
        "response_type": "code",
        "redirect_uri": f"{server.base_url}/portal/",
        "scope": f"{scope} openid profile offline_access",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def sign_in(server: Server, client: httpx.Client, username: str, password: str, challenge: str) -> httpx.Response:
    tenant = server.env["tenant_id"]
    params = authorize_params(server, challenge)
    return client.post(f"/{tenant}/oauth2/v2.0/authorize", data={**params, "username": username, "password": password})


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def user_tokens(server: Server, **form: str) -> dict[str, Any]:
    """Sign in as the seeded admin user; the token endpoint's answer."""
    user = server.env["user"]
    verifier, challenge = pkce()
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as client:
        code = code_from(sign_in(server, client, user["username"], user["password"], challenge))
        r = client.post(
            f"/{server.env['tenant_id']}/oauth2/v2.0/token",
            data={"grant_type": "authorization_code", "client_id": PORTAL_CLIENT, "code": code,
                  "redirect_uri": f"{server.base_url}/portal/", "code_verifier": verifier, **form},
        )  # fmt: skip
    assert r.status_code == 200, r.text
    return dict(r.json())


def error_text(html: str) -> str:
    m = re.search(r'id="error"[^>]*>([^<]*)<', html)
    return m.group(1) if m else ""
