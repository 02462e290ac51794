"""Microsoft.Network/connections (connectionType ExpressRoute): a virtual network's ExpressRoute
gateway linked to a circuit. The circuit must be provisioned by its provider and have Azure private
peering provisioned; a circuit in another subscription is reached by redeeming one of its
authorizations (``authorizationKey``), which then shows ``authorizationUseStatus: InUse`` until the
connection is deleted. The routes it carries follow from state: ``connections/record.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.network.circuits.bodies import redeem_authorization, release_authorization
from crossconnect.network.common import NAMES, NAMESPACE, internal, versions
from crossconnect.network.connections import bodies, record
from crossconnect.resources.locations import LOCATION_NAMES
from crossconnect.resources.resource_groups import normalize_location


def _bad(code: str, field: str, message: str) -> BadRequest:
    return BadRequest(message, code, target=f"properties.{field}")


class Connections(ResourceType):
    type_name = record.CONNECTION_TYPE_NAME
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "connections/{virtualNetworkGatewayConnectionName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/connections",
    )
    api_versions = versions("connections")
    namespace = NAMESPACE
    name_rule = NAMES

    # -- locks: the connection, its gateway and its circuit -------------------------------------
    def _ends(self, row: Row | None, request: ArmRequest | None) -> list[str]:
        if row is not None:
            link = internal(row)
            return [k for k in (link.get("gatewayKey"), link.get("circuitKey"), link.get("authorizationRowKey")) if k]
        keys = []
        try:
            body = (request.json_body(required=False) if request else None) or {}
            p = body.get("properties") or {}
            keys = [str(p["virtualNetworkGateway1"]["id"]).lower(), str(p["peer"]["id"]).lower()]
        except Exception:  # noqa: BLE001 - a bad body is refused later, by the write itself
            pass
        return keys

    def lock_keys(self, request: ArmRequest) -> list[str]:
        existing = self.store.get_resource(self.key(request))
        return sorted({self.key(request), *self._ends(existing, request)})

    def operation_lock_keys(self, op: Row) -> list[str]:
        return sorted({op["resource_key"], *self._ends(self.store.get_resource(op["resource_key"]), None)})

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        return bodies.render(self.store, row, conn)

    # -- the rules ------------------------------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(bodies.ConnectionBody, body, "VirtualNetworkGatewayConnection")
        p = model.properties
        gateway_id, circuit_id, weight = bodies.check_shape(p, existing)
        store = self.store
        gateway = store.get_resource(gateway_id, conn)
        if gateway is None or gateway["subscription_id"] != request.subscription_id.lower():
            raise _bad(
                "InvalidResourceReference",
                "virtualNetworkGateway1.id",
                f"The virtual network gateway '{gateway_id}' was not found in the connection's subscription.",
            )
        location = normalize_location(model.location or (existing["body"]["location"] if existing else ""))
        if not location:
            location = gateway["body"]["location"]
        if location not in LOCATION_NAMES:
            raise BadRequest(
                f"The location '{model.location}' is not a valid Azure region.", "InvalidLocation", target="location"
            )
        if location != gateway["body"]["location"]:
            raise BadRequest(
                f"A connection must be in its gateway's region ('{gateway['body']['location']}'), not '{location}'.",
                "InvalidResourceLocation",
                target="location",
            )
        tags = validate_tags(model.tags if model.tags is not None else {})
        if existing is not None:
            changed = {**existing["body"]["properties"], "routingWeight": weight}
            new_body = {**existing["body"], "location": location, "tags": tags, "properties": changed}
            return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put")

        g = gateway["body"]["properties"]
        if g.get("provisioningState") != "Succeeded":
            raise _bad(
                "VirtualNetworkGatewayNotProvisioned",
                "virtualNetworkGateway1.id",
                f"The virtual network gateway '{gateway['name']}' is not provisioned yet (provisioningState "
                f"'{g.get('provisioningState')}'); wait for its creation to finish.",
            )
        circuit = store.get_resource(circuit_id, conn)
        if circuit is None:
            raise _bad(
                "ExpressRouteCircuitNotFound",
                "peer.id",
                f"The ExpressRoute circuit '{circuit_id}' named by peer.id was not found.",
            )
        c = circuit["body"]["properties"]
        if c.get("serviceProviderProvisioningState") != "Provisioned":
            raise _bad(
                "CircuitNotProvisioned",
                "peer.id",
                f"The circuit '{circuit['name']}' is not provisioned by its connectivity provider "
                f"(serviceProviderProvisioningState '{c.get('serviceProviderProvisioningState')}'); a virtual "
                "network can be linked once it is Provisioned.",
            )
        peering = record.private_peering(store, circuit["key"], conn)
        if peering is None or peering["body"]["properties"].get("provisioningState") != "Succeeded":
            raise _bad(
                "PrivatePeeringNotProvisioned",
                "peer.id",
                f"The circuit '{circuit['name']}' has no provisioned {record.PRIVATE}; configure Azure private "
                "peering before linking a virtual network.",
            )
        for other in record.connections_of_circuit(store, circuit["key"], conn):
            if internal(other).get("gatewayKey") == gateway["key"]:
                raise _bad(
                    "GatewayAlreadyConnectedToCircuit",
                    "peer.id",
                    f"The gateway '{gateway['name']}' is already connected to the circuit '{circuit['name']}' by "
                    f"'{other['id']}'.",
                )
        extra: list[Row] = []
        link: dict[str, Any] = {"gatewayKey": gateway["key"], "circuitKey": circuit["key"]}
        cross_subscription = circuit["subscription_id"] != gateway["subscription_id"]
        if p.authorization_key:
            auth = redeem_authorization(store, conn, circuit, p.authorization_key, "properties.authorizationKey")
            extra.append(auth)
            link["authorizationRowKey"] = auth["key"]
        elif cross_subscription:
            raise _bad(
                "AuthorizationKeyRequired",
                "authorizationKey",
                f"The circuit '{circuit['name']}' is in another subscription: authorizationKey is required (an "
                "authorization of the circuit, created by its owner).",
            )
        row = self.new_row(request, {})
        link["circuitServiceKey"] = circuit["body"]["properties"].get("serviceKey")
        record.index(store, conn, circuit["key"], row["key"], present=True)
        new_props: dict[str, Any] = {
            "provisioningState": "Updating",
            "resourceGuid": entropy.guid(),
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": gateway["id"]},
            "peer": {"id": circuit["id"]},
            "routingWeight": weight,
            "enableBgp": False,
            "expressRouteGatewayBypass": bool(p.express_route_gateway_bypass),
            "useLocalAzureIpAddress": False,
            "usePolicyBasedTrafficSelectors": False,
        }
        if p.authorization_key:
            new_props["authorizationKey"] = p.authorization_key
        row["body"] = {"location": location, "tags": tags, "properties": new_props, "internal": link}
        return Write(row, created=True, operation="put", extra_rows=extra)

    def on_delete(self, row: Row, conn: Connection) -> None:
        link = internal(row)
        if link.get("circuitKey"):
            record.index(self.store, conn, link["circuitKey"], row["key"], present=False)
        release_authorization(self.store, conn, link.get("authorizationRowKey", ""))
