"""Helpers for the access-control tests: principals made through the Graph API (as the seeded
admin), roles assigned through azure-mgmt-authorization, clients for any principal, and the
denial check (403 AuthorizationFailed, nothing changed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from tests.support import Server, settled_snapshot

ROLE_IDS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}


@dataclass(frozen=True)
class Identity:
    """A service principal with a client secret, in the seeded tenant."""

    name: str
    client_id: str
    client_secret: str
    object_id: str
    tenant_id: str


def graph(server: Server, role: str = "admin") -> httpx.Client:
    """Microsoft Graph on this server, with a token for the resource the server's metadata names."""
    token = server.token(role, scope=f"{server.base_url}//.default")
    return httpx.Client(
        base_url=f"{server.base_url}/v1.0",
        verify=server.tls(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def create_identity(server: Server, name: str) -> Identity:
    """An application, its service principal and a password, as `az ad sp create-for-rbac` makes them."""
    with graph(server) as g:
        app = g.post("/applications", json={"displayName": name})
        assert app.status_code == 201, app.text
        sp = g.post("/servicePrincipals", json={"appId": app.json()["appId"], "accountEnabled": True})
        assert sp.status_code == 201, sp.text
        password = g.post(f"/applications/{app.json()['id']}/addPassword", json={"passwordCredential": {}})
        assert password.status_code == 200, password.text
    return Identity(name, app.json()["appId"], password.json()["secretText"], sp.json()["id"], server.env["tenant_id"])


def seeded(server: Server, role: str) -> Identity:
    p = server.env[role]
    return Identity(role, p["client_id"], p["client_secret"], p["object_id"], server.tenant_for(role))


def credential(server: Server, who: Identity) -> Any:
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        who.tenant_id, who.client_id, who.client_secret, authority=server.base_url,
        disable_instance_discovery=True, connection_verify=server.ca,
    )  # fmt: skip


def _client(cls: Any, server: Server, who: Identity, subscription: str | None, **extra: Any) -> Any:
    args = (credential(server, who),) if subscription is None else (credential(server, who), subscription)
    return cls(*args, base_url=server.base_url, connection_verify=server.ca, **extra)


def resources(server: Server, who: Identity, subscription: str) -> Any:
    from azure.mgmt.resource.resources import ResourceManagementClient

    return _client(ResourceManagementClient, server, who, subscription, polling_interval=1)


def network(server: Server, who: Identity, subscription: str) -> Any:
    from azure.mgmt.network import NetworkManagementClient

    return _client(NetworkManagementClient, server, who, subscription, polling_interval=1)


def authorization(server: Server, who: Identity, subscription: str) -> Any:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return _client(AuthorizationManagementClient, server, who, subscription)


def subscriptions(server: Server, who: Identity) -> Any:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    return _client(SubscriptionClient, server, who, None)


def features(server: Server, who: Identity, subscription: str) -> Any:
    from azure.mgmt.resource.features import FeatureClient

    return _client(FeatureClient, server, who, subscription)


def role_definition_id(subscription: str, guid: str) -> str:
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assign(server: Server, principal: Identity, role_guid: str, scope: str, *, by: Identity | None = None) -> Any:
    """A role assignment made through azure-mgmt-authorization (by the seeded admin by default)."""
    subscription = scope.split("/")[2]
    client = authorization(server, by or seeded(server, "admin"), subscription)
    return client.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        {
            "role_definition_id": role_definition_id(subscription, role_guid),
            "principal_id": principal.object_id,
            "principal_type": "ServicePrincipal",
        },
    )


def create_custom_role(server: Server, name: str, actions: list[str], scopes: list[str], not_actions=()) -> str:
    """A custom role (through the SDK, as the admin); its GUID."""
    subscription = scopes[0].split("/")[2]
    guid = str(uuid.uuid4())
    client = authorization(server, seeded(server, "admin"), subscription)
    client.role_definitions.create_or_update(
        scopes[0],
        guid,
        {
            "role_name": name,
            "description": f"{name} (test)",
            "role_type": "CustomRole",
            "permissions": [{"actions": actions, "not_actions": list(not_actions)}],
            "assignable_scopes": scopes,
        },
    )
    return guid


# -- "nothing changed" ------------------------------------------------------------------------------


def assert_denied(server: Server, call: Callable[[], Any], action: str | None = None, scope: str | None = None) -> str:
    """``call`` is refused with 403 AuthorizationFailed naming ``action`` (and ``scope``), and no
    state changed. Returns the message."""
    before = settled_snapshot(server)
    with pytest.raises(HttpResponseError) as info:
        call()
    error = info.value
    assert error.status_code == 403, f"{error.status_code} {error.message}"
    assert error.error is not None and error.error.code == "AuthorizationFailed", error.message
    message = str(error.error.message)
    assert "does not have authorization to perform action" in message, message
    if action is not None:
        assert f"action '{action}'" in message, message
    if scope is not None:
        assert f"over scope '{scope}'".lower() in message.lower(), message
    assert settled_snapshot(server) == before, "state changed although the request was denied"
    return message
