"""The body of Microsoft.Network/connections (connectionType ExpressRoute): what a PUT may send,
the rules on its shape, and how a connection is rendered."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from crossconnect.arm.bodies import LenientModel, LenientTrackedResourceBody
from crossconnect.arm.errors import BadRequest
from crossconnect.network.common import render_tracked
from crossconnect.network.connections import record
from crossconnect.store import Store

CIRCUIT_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Network/"
    r"expressRouteCircuits/(?P<circuit>[^/]+)$",
    re.IGNORECASE,
)
GATEWAY_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Network/"
    r"virtualNetworkGateways/(?P<gateway>[^/]+)$",
    re.IGNORECASE,
)
MAX_ROUTING_WEIGHT = 32000


class SubResource(LenientModel):
    id: str | None = None


class ConnectionProperties(LenientModel):
    connection_type: str | None = Field(default=None, alias="connectionType")
    virtual_network_gateway1: SubResource | None = Field(default=None, alias="virtualNetworkGateway1")
    virtual_network_gateway2: SubResource | None = Field(default=None, alias="virtualNetworkGateway2")
    local_network_gateway2: SubResource | None = Field(default=None, alias="localNetworkGateway2")
    peer: SubResource | None = None
    routing_weight: int | None = Field(default=None, alias="routingWeight")
    authorization_key: str | None = Field(default=None, alias="authorizationKey")
    express_route_gateway_bypass: bool | None = Field(default=None, alias="expressRouteGatewayBypass")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class ConnectionBody(LenientTrackedResourceBody):
    properties: ConnectionProperties = Field(default_factory=ConnectionProperties)


def _bad(code: str, field: str, message: str) -> BadRequest:
    return BadRequest(message, code, target=f"properties.{field}")


def check_shape(p: ConnectionProperties, existing: dict[str, Any] | None) -> tuple[str, str, int]:
    """The gateway id, the circuit id and the routing weight a PUT sets."""
    old = existing["body"]["properties"] if existing else None
    kind = p.connection_type or (old["connectionType"] if old else None)
    if kind is None:
        raise _bad("ConnectionTypeRequired", "connectionType", "properties.connectionType is required: ExpressRoute.")
    if kind != "ExpressRoute":
        raise _bad(
            "ConnectionTypeNotSupported",
            "connectionType",
            f"connectionType '{kind}' is not supported: crossconnect's connections link an ExpressRoute gateway to "
            "a circuit (connectionType ExpressRoute).",
        )
    if p.virtual_network_gateway2 is not None or p.local_network_gateway2 is not None:
        raise _bad(
            "InvalidExpressRouteConnection",
            "virtualNetworkGateway2" if p.virtual_network_gateway2 is not None else "localNetworkGateway2",
            "An ExpressRoute connection joins virtualNetworkGateway1 and a circuit (peer); it has no second gateway.",
        )
    gateway = (p.virtual_network_gateway1.id if p.virtual_network_gateway1 else None) or (
        old["virtualNetworkGateway1"]["id"] if old else None
    )
    if not gateway or GATEWAY_ID.match(gateway) is None:
        raise _bad(
            "InvalidVirtualNetworkGatewayReference",
            "virtualNetworkGateway1.id",
            f"virtualNetworkGateway1.id must be the id of an ExpressRoute virtual network gateway "
            f"(…/providers/Microsoft.Network/virtualNetworkGateways/{{name}}), not '{gateway}'.",
        )
    circuit = (p.peer.id if p.peer else None) or (old["peer"]["id"] if old else None)
    if not circuit or CIRCUIT_ID.match(circuit) is None:
        raise _bad(
            "InvalidExpressRouteCircuitReference",
            "peer.id",
            f"peer.id must be the id of an ExpressRoute circuit (…/providers/Microsoft.Network/expressRouteCircuits/"
            f"{{name}}), not '{circuit}'.",
        )
    if old is not None:
        for sent, was, field in (
            (gateway, old["virtualNetworkGateway1"]["id"], "virtualNetworkGateway1.id"),
            (circuit, old["peer"]["id"], "peer.id"),
        ):
            if sent.lower() != was.lower():
                raise _bad(
                    "CannotChangeConnectionEndpoints",
                    field,
                    f"The {field} of a connection cannot be changed (it is '{was}'); delete the connection and "
                    "create a new one.",
                )
    weight = p.routing_weight if p.routing_weight is not None else (int(old.get("routingWeight", 0)) if old else 0)
    if not 0 <= weight <= MAX_ROUTING_WEIGHT:
        raise _bad(
            "InvalidRoutingWeight",
            "routingWeight",
            f"routingWeight must be between 0 and {MAX_ROUTING_WEIGHT}, not {weight}.",
        )
    return gateway, circuit, weight


def render(store: Store, row: dict[str, Any], conn: Any = None) -> dict[str, Any]:
    body = row["body"]
    p = dict(body["properties"])
    p["connectionStatus"] = record.status(store, row, conn)
    p.setdefault("ingressBytesTransferred", 0)
    p.setdefault("egressBytesTransferred", 0)
    return render_tracked(row, record.CONNECTION_TYPE_NAME, p)
