"""Microsoft.Network/expressRouteCircuits/authorizations: keys a circuit owner hands out so
other subscriptions can link virtual networks to the circuit."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.bodies import ArmModel, parse
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag
from crossconnect.network.circuits import ExpressRouteCircuits
from crossconnect.network.common import NAMES, NAMESPACE, versions


class AuthorizationProperties(ArmModel):
    authorization_key: str | None = Field(default=None, alias="authorizationKey")
    authorization_use_status: str | None = Field(default=None, alias="authorizationUseStatus")
    connection_resource_uri: str | None = Field(default=None, alias="connectionResourceUri")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class AuthorizationBody(ArmModel):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    etag: str | None = None
    properties: AuthorizationProperties = Field(default_factory=AuthorizationProperties)


def render_authorization(row: Row, circuit_id: str) -> dict[str, Any]:
    p = row["body"]["properties"]
    return {
        "name": row["name"],
        "id": f"{circuit_id}/authorizations/{row['name']}",
        "etag": row["etag"],
        "type": "Microsoft.Network/expressRouteCircuits/authorizations",
        "properties": {
            "authorizationKey": p["authorizationKey"],
            "authorizationUseStatus": p.get("authorizationUseStatus", "Available"),
            "provisioningState": p.get("provisioningState", "Succeeded"),
        },
    }


class CircuitAuthorizations(ResourceType):
    type_name = "Microsoft.Network/expressRouteCircuits/authorizations"
    item_template = ExpressRouteCircuits.item_template + "/authorizations/{authorizationName}"
    list_templates = (ExpressRouteCircuits.item_template + "/authorizations",)
    api_versions = versions("expressRouteCircuits/authorizations")
    namespace = NAMESPACE
    parent = ExpressRouteCircuits
    name_rule = NAMES

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        circuit_id = row["id"].rsplit("/authorizations/", 1)[0]
        return render_authorization(row, circuit_id)

    def operation_location(self, row: Row) -> str:
        circuit = self.store.get_resource(row["parent_key"])
        return str(circuit["body"]["location"]) if circuit else "global"

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        parse(AuthorizationBody, body, "ExpressRouteCircuitAuthorization")
        if existing is not None:
            return Write({**existing, "etag": new_etag()}, operation="put")
        row = self.new_row(
            request, {"properties": {"authorizationKey": str(uuid.uuid4()), "authorizationUseStatus": "Available"}}
        )
        return Write(row, created=True, operation="put")
