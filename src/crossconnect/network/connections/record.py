"""The record level of ExpressRoute connections (Microsoft.Network/connections): a connection is
stored once, in the customer's resource group; the circuit holds a pointer row to it (type
``…/expressRouteCircuits/vnetConnections``, never shown as a resource) so that what a circuit's
private peering carries is found from the circuit in O(its connections), never by a scan.

This module answers, from live state, whether a connection is up and which routes it puts where;
the troubleshooting views (``lab/troubleshooting.py``) and the gateway's route endpoints read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossconnect.store import Store

CONNECTION_TYPE = "microsoft.network/connections"
CONNECTION_TYPE_NAME = "Microsoft.Network/connections"
POINTER_TYPE = "microsoft.network/expressroutecircuits/vnetconnections"
GATEWAY_TYPE = "microsoft.network/virtualnetworkgateways"
PRIVATE = "AzurePrivatePeering"
GATEWAY_ASN = 65515

Row = dict[str, Any]


@dataclass(frozen=True)
class VnetLink:
    """One connected gateway, as a circuit's private peering sees it."""

    connection: Row
    gateway: Row
    instances: tuple[str, ...]  # the gateway instances' BGP addresses (next hops)
    prefixes: tuple[str, ...]  # the virtual network's address space
    routing_weight: int


def circuit_key_of_id(circuit_id: str) -> str:
    return circuit_id.lower()


def pointers(store: Store, circuit_key: str, conn: Any = None) -> list[Row]:
    return store.find_all("resources", conn, parent_key=circuit_key.lower(), type_key=POINTER_TYPE)


def connections_of_circuit(store: Store, circuit_key: str, conn: Any = None) -> list[Row]:
    out = []
    for pointer in pointers(store, circuit_key, conn):
        key = pointer["body"].get("internal", {}).get("connectionKey", "")
        row = store.get_resource(key, conn) if key else None
        if row is not None:
            out.append(row)
    return out


def private_peering(store: Store, circuit_key: str, conn: Any = None) -> Row | None:
    return store.get_resource(f"{circuit_key.lower()}/peerings/{PRIVATE.lower()}", conn)


def circuit_ready(store: Store, circuit_key: str, conn: Any = None) -> bool:
    """The circuit is provisioned by its provider and its private peering provisioned and enabled."""
    circuit = store.get_resource(circuit_key, conn)
    peering = private_peering(store, circuit_key, conn)
    if circuit is None or peering is None:
        return False
    c = circuit["body"].get("properties", {})
    p = peering["body"].get("properties", {})
    return bool(
        c.get("serviceProviderProvisioningState") == "Provisioned"
        and p.get("provisioningState") == "Succeeded"
        and p.get("state", "Enabled") == "Enabled"
    )


def gateway_of(store: Store, connection: Row, conn: Any = None) -> Row | None:
    key = connection["body"].get("internal", {}).get("gatewayKey", "")
    return store.get_resource(key, conn) if key else None


def status(store: Store, connection: Row, conn: Any = None) -> str:
    """connectionStatus, from the live state of both ends: Connecting while written, Connected when
    the gateway is provisioned and the circuit's private peering is up, NotConnected otherwise."""
    p = connection["body"].get("properties", {})
    if p.get("provisioningState") in ("Updating", "Deleting"):
        return "Connecting"
    gateway = gateway_of(store, connection, conn)
    if gateway is None or gateway["body"]["properties"].get("provisioningState") != "Succeeded":
        return "NotConnected"
    circuit_key = connection["body"].get("internal", {}).get("circuitKey", "")
    return "Connected" if circuit_key and circuit_ready(store, circuit_key, conn) else "NotConnected"


def vnet_link(store: Store, connection: Row, conn: Any = None) -> VnetLink | None:
    """The routes a connected gateway brings, or None while the connection is not Connected."""
    if status(store, connection, conn) != "Connected":
        return None
    gateway = gateway_of(store, connection, conn)
    assert gateway is not None
    link = gateway["body"].get("internal", {})
    vnet = store.get_resource(link.get("vnetKey", ""), conn) if link.get("vnetKey") else None
    if vnet is None:
        return None
    prefixes = tuple(vnet["body"]["properties"]["addressSpace"]["addressPrefixes"])
    weight = int(connection["body"]["properties"].get("routingWeight", 0))
    return VnetLink(connection, gateway, tuple(link.get("instances", [])), prefixes, weight)


def vnet_links(store: Store, circuit_key: str, conn: Any = None) -> list[VnetLink]:
    out = []
    for connection in connections_of_circuit(store, circuit_key, conn):
        found = vnet_link(store, connection, conn)
        if found is not None:
            out.append(found)
    return out


def connections_of_gateway(store: Store, gateway: Row, conn: Any = None) -> list[Row]:
    """The connections of a gateway (they live in its subscription)."""
    return [
        c
        for c in store.find_all("resources", conn, subscription_id=gateway["subscription_id"], type_key=CONNECTION_TYPE)
        if c["body"].get("internal", {}).get("gatewayKey") == gateway["key"]
    ]
