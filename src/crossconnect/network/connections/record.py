"""The record level of ExpressRoute connections (Microsoft.Network/connections): a connection is
stored once, in the customer's resource group; an index per circuit (a stored value, not a
resource: every resource row must read back by its id) names the circuit's connections, so that
what a circuit's private peering carries is found from the circuit in O(its connections), never by
a scan.

This module answers, from live state, whether a connection is up and which routes it puts where;
the troubleshooting views (``lab/troubleshooting.py``) and the gateway's route endpoints read it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from crossconnect.store import Store

CONNECTION_TYPE = "microsoft.network/connections"
CONNECTION_TYPE_NAME = "Microsoft.Network/connections"
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


def _index_key(circuit_key: str) -> str:
    # meta keys are at most 100 characters; a circuit's key may be longer
    return "network.vnetConnections." + hashlib.sha256(circuit_key.lower().encode()).hexdigest()[:40]


def index(store: Store, conn: Connection, circuit_key: str, connection_key: str, present: bool) -> None:
    """Add a connection to (or remove it from) its circuit's index, under the store's lock on
    the index (``Store.update_meta``): concurrent connections to one circuit never lose an entry."""

    def change(current: Any) -> list[str]:
        keys = set(current or [])
        (keys.add if present else keys.discard)(connection_key)
        return sorted(keys)

    if not store.update_meta(_index_key(circuit_key), change, conn):
        store.delete_where("meta", conn, key=_index_key(circuit_key))


def connections_of_circuit(store: Store, circuit_key: str, conn: Any = None) -> list[Row]:
    """The connections whose peer is this circuit — this very circuit: one deleted and created
    again under the same id has a new service key, and the old connections stay NotConnected."""
    circuit = store.get_resource(circuit_key, conn)
    if circuit is None:
        return []
    service_key = circuit["body"]["properties"].get("serviceKey")
    out = []
    for key in store.get_meta(_index_key(circuit_key), conn) or []:
        row = store.get_resource(key, conn)
        if row is not None and row["body"].get("internal", {}).get("circuitServiceKey") == service_key:
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
    link = connection["body"].get("internal", {})
    circuit = store.get_resource(link.get("circuitKey", ""), conn) if link.get("circuitKey") else None
    if circuit is None or circuit["body"]["properties"].get("serviceKey") != link.get("circuitServiceKey"):
        return "NotConnected"  # the circuit is gone (or is another one of the same name)
    return "Connected" if circuit_ready(store, circuit["key"], conn) else "NotConnected"


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
