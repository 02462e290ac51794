"""Helpers for the group tests: security groups and members made through Graph (as the seeded
admin), a role assigned to a group through azure-mgmt-authorization, and the probe of access the
group tests share (may this principal list cross connections?)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from azure.core.exceptions import HttpResponseError

from tests.support import Server, rbac

LIST_CROSS_CONNECTIONS = "Microsoft.Network/expressRouteCrossConnections/read"


def create(g: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    """A security group, as ``az ad group create`` makes it; its Graph body."""
    body = {"displayName": name, "mailNickname": name.replace(" ", "-"), "mailEnabled": False,
            "securityEnabled": True, **extra}  # fmt: skip
    r = g.post("/groups", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def ref(server: Server, object_id: str) -> dict[str, str]:
    """A ``$ref`` body naming a directory object, as the Azure CLI sends it."""
    return {"@odata.id": f"{server.base_url}/v1.0/directoryObjects/{object_id}"}


def add_member(server: Server, g: httpx.Client, group: str, member: str) -> None:
    r = g.post(f"/groups/{group}/members/$ref", json=ref(server, member))
    assert r.status_code == 204, r.text


def assign(server: Server, group: str, role: str, scope: str) -> Any:
    """``role`` assigned to ``group`` at ``scope`` (principalType Group), by the seeded admin."""
    subscription = scope.split("/")[2]
    client = rbac.authorization(server, rbac.seeded(server, "admin"), subscription)
    return client.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        {"role_definition_id": rbac.role_definition_id(subscription, rbac.ROLE_IDS[role]), "principal_id": group,
         "principal_type": "Group"},
    )  # fmt: skip


def lists_cross_connections(server: Server, who: rbac.Identity) -> bool:
    """True when ``who`` lists the provider subscription's cross connections; False when refused
    with 403 AuthorizationFailed naming the action (any other failure fails the test)."""
    try:
        list(rbac.network(server, who, server.subscription("partner")).express_route_cross_connections.list())
    except HttpResponseError as e:
        assert (e.status_code, e.error.code if e.error else None) == (403, "AuthorizationFailed"), e.message
        assert f"action '{LIST_CROSS_CONNECTIONS}'" in str(e.error.message if e.error else ""), e.message
        return False
    return True
