"""Global Reach records: an expressRouteCircuitConnection joins the private peerings of two
circuits. The connection is stored once, under the initiating circuit's private peering; the peer
circuit's private peering holds a pointer row (its ``peerConnections``) naming the connection.
Both are rendered from the connection, so the two sides never disagree. This module is the record
level the peering views render from; the strategies live in ``circuits/connections.py``."""

from __future__ import annotations

from typing import Any

from crossconnect.store import Store

CONNECTION_TYPE = "microsoft.network/expressroutecircuits/peerings/connections"
PEER_CONNECTION_TYPE = "microsoft.network/expressroutecircuits/peerings/peerconnections"
CONNECTION_TYPE_NAME = "Microsoft.Network/expressRouteCircuits/peerings/connections"
PEER_CONNECTION_TYPE_NAME = "Microsoft.Network/expressRouteCircuits/peerings/peerConnections"

Row = dict[str, Any]


def circuit_key_of(peering_key: str) -> str:
    return peering_key.lower().rsplit("/peerings/", 1)[0]


def own_connections(store: Store, peering_key: str, conn: Any = None) -> list[Row]:
    """The connections this peering initiated (its ``connections``)."""
    return store.find_all("resources", conn, parent_key=peering_key.lower(), type_key=CONNECTION_TYPE)


def peer_pointers(store: Store, peering_key: str, conn: Any = None) -> list[Row]:
    """The pointer rows of connections other circuits initiated to this peering."""
    return store.find_all("resources", conn, parent_key=peering_key.lower(), type_key=PEER_CONNECTION_TYPE)


def connection_of_pointer(store: Store, pointer: Row, conn: Any = None) -> Row | None:
    key = pointer["body"].get("internal", {}).get("connectionKey", "")
    return store.get_resource(key, conn) if key else None


def all_connections(store: Store, peering_key: str, conn: Any = None) -> list[Row]:
    """Every connection this peering takes part in, whichever side initiated it."""
    rows = list(own_connections(store, peering_key, conn))
    for pointer in peer_pointers(store, peering_key, conn):
        row = connection_of_pointer(store, pointer, conn)
        if row is not None:
            rows.append(row)
    return rows


def _peering_ready(store: Store, peering_key: str, conn: Any) -> bool:
    peering = store.get_resource(peering_key, conn)
    circuit = store.get_resource(circuit_key_of(peering_key), conn)
    if peering is None or circuit is None:
        return False
    p = peering["body"].get("properties", {})
    c = circuit["body"].get("properties", {})
    return bool(
        p.get("state", "Enabled") == "Enabled"
        and p.get("provisioningState") == "Succeeded"
        and c.get("serviceProviderProvisioningState") == "Provisioned"
    )


def status(store: Store, row: Row, conn: Any = None) -> str:
    """circuitConnectionStatus, from the live state of both sides: Connecting while the connection
    is being written, Connected when both private peerings are provisioned and enabled on
    provisioned circuits, Disconnected otherwise."""
    p = row["body"].get("properties", {})
    if p.get("provisioningState") in ("Updating", "Deleting"):
        return "Connecting"
    peer_key = row["body"].get("internal", {}).get("peerPeeringKey", "")
    if _peering_ready(store, row["parent_key"], conn) and _peering_ready(store, peer_key, conn):
        return "Connected"
    return "Disconnected"


def render_connection(store: Store, row: Row, conn: Any = None) -> dict[str, Any]:
    p = row["body"]["properties"]
    current = status(store, row, conn)
    out_props: dict[str, Any] = {
        "provisioningState": p.get("provisioningState", "Succeeded"),
        "expressRouteCircuitPeering": dict(p["expressRouteCircuitPeering"]),
        "peerExpressRouteCircuitPeering": dict(p["peerExpressRouteCircuitPeering"]),
        "addressPrefix": p["addressPrefix"],
    }
    if p.get("authorizationKey"):
        out_props["authorizationKey"] = p["authorizationKey"]
    if p.get("ipv6CircuitConnectionConfig"):
        out_props["ipv6CircuitConnectionConfig"] = {
            "addressPrefix": p["ipv6CircuitConnectionConfig"]["addressPrefix"],
            "circuitConnectionStatus": current,
        }
    out_props["circuitConnectionStatus"] = current
    return {
        "name": row["name"],
        "id": row["id"],
        "etag": row["etag"],
        "type": CONNECTION_TYPE_NAME,
        "properties": out_props,
    }


def render_peer(store: Store, pointer: Row, conn: Any = None) -> dict[str, Any] | None:
    """The peer circuit's view of a connection; None when the connection is gone."""
    row = connection_of_pointer(store, pointer, conn)
    if row is None:
        return None
    p = row["body"]["properties"]
    link = row["body"].get("internal", {})
    out_props: dict[str, Any] = {
        "provisioningState": p.get("provisioningState", "Succeeded"),
        "expressRouteCircuitPeering": dict(p["peerExpressRouteCircuitPeering"]),
        "peerExpressRouteCircuitPeering": dict(p["expressRouteCircuitPeering"]),
        "addressPrefix": p["addressPrefix"],
        "circuitConnectionStatus": status(store, row, conn),
        "connectionName": row["name"],
    }
    if link.get("authResourceGuid"):
        out_props["authResourceGuid"] = link["authResourceGuid"]
    return {
        "name": pointer["name"],
        "id": pointer["id"],
        "etag": row["etag"],
        "type": PEER_CONNECTION_TYPE_NAME,
        "properties": out_props,
    }


def embedded(store: Store, peering_key: str, conn: Any = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What a circuit peering shows under ``connections`` and ``peeredConnections``."""
    own = [render_connection(store, r, conn) for r in own_connections(store, peering_key, conn)]
    peered = [render_peer(store, r, conn) for r in peer_pointers(store, peering_key, conn)]
    return own, [p for p in peered if p is not None]
