"""A small HTTPS client for the operator API, signed in with the operator credential."""

from __future__ import annotations

import ssl
from typing import Any

import httpx


class OperatorError(RuntimeError):
    """An operator call failed; the message is one line for the user (the server's message as
    text, the HTTP status and error code in brackets)."""


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
                raise OperatorError(
                    f"operator sign-in failed: {describe(token)} (do the credentials in the data dir belong "
                    "to the server running there?)"
                )
            response = client.request(
                method,
                f"{base}/_crossconnect{path}",
                json=body,
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
    except httpx.TransportError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise OperatorError(
            f"cannot reach crossconnect at {base} ({reason}); is `crossconnect serve` running?"
        ) from None
    except OSError as exc:  # e.g. the CA file named in server.json is gone
        raise OperatorError(f"cannot call crossconnect at {base}: {exc}") from None
    if response.status_code >= 400:
        raise OperatorError(describe(response))
    return response.json()


def describe(response: httpx.Response) -> str:
    """The error as text with its code in brackets: ARM's ``{"error": {"code", "message"}}``, Azure
    AD's ``{"error", "error_description"}``, or the first line of whatever else came back."""
    try:
        data = response.json()
    except ValueError:
        data = None
    code, message = None, None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
        elif isinstance(error, str):
            code, message = error, data.get("error_description")
    if not message:
        lines = response.text.strip().splitlines()
        message = lines[0] if lines else response.reason_phrase or "no details"
    message = " ".join(str(message).split())
    bracket = f"{response.status_code} {code}" if code else str(response.status_code)
    return f"{message} [{bracket}]"
