"""A small HTTPS client for the operator API, signed in with the operator credential."""

from __future__ import annotations

import ssl
from typing import Any

import httpx


def call(env: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    op = env["operator"]
    base = env["arm_endpoint"]
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=env["ca_bundle"]), timeout=60) as client:
            token = client.post(
                f"{base}/{op['tenant_id']}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": op["client_id"],
                    "client_secret": op["client_secret"],
                    "scope": "https://management.azure.com/.default",
                },
            )
            if token.status_code != 200:
                raise RuntimeError(f"operator sign-in failed: {token.text}")
            response = client.request(
                method,
                f"{base}/_crossconnect{path}",
                json=body,
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
    except httpx.ConnectError as exc:
        raise RuntimeError(f"cannot reach crossconnect at {base} ({exc}); is `crossconnect serve` running?") from None
    if response.status_code >= 400:
        raise RuntimeError(f"{response.status_code}: {response.text}")
    return response.json()
