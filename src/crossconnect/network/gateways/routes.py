"""An ExpressRoute gateway's learned and advertised routes (GatewayRouteListResult), from the same
inputs as the MSEE route tables, so the two sides always agree.

Each gateway instance (.4 and .5 of the GatewaySubnet) peers with both MSEEs of every circuit its
connections reach. It learns, from each MSEE whose link is up and whose BGP session with the
partner's edge is established, the on-premises prefixes the partner advertises (AS path
``12076 <partner ASN> …``, origin EBgp, weight = the connection's routingWeight) and the Global
Reach routes of that private peering; and it holds its own address space (origin Network). It
advertises the address space to each MSEE (AS path 65515)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossconnect.fabric import wire
from crossconnect.network.connections import record as connections
from crossconnect.network.lab import netns_wire, troubleshooting
from crossconnect.store import Store

Row = dict[str, Any]
LOCAL_WEIGHT = 32768  # what a BGP speaker gives the routes it originates


def _vnet_prefixes(store: Store, gateway: Row) -> list[str]:
    vnet = store.get_resource(gateway["body"].get("internal", {}).get("vnetKey", ""))
    return list(vnet["body"]["properties"]["addressSpace"]["addressPrefixes"]) if vnet else []


@dataclass(frozen=True)
class MseeLink:
    """One MSEE link of the private peering of a circuit a Connected connection reaches."""

    vnet: connections.VnetLink
    circuit: Row
    peering: Row
    inputs: wire.LinkInputs


def _msee_links(store: Store, gateway: Row) -> list[MseeLink]:
    """For every Connected connection, both MSEE links of the circuit's private peering."""
    out = []
    for connection in connections.connections_of_gateway(store, gateway):
        found = connections.vnet_link(store, connection)
        if found is None:
            continue
        circuit_key = connection["body"]["internal"]["circuitKey"]
        circuit = store.get_resource(circuit_key)
        peering = connections.private_peering(store, circuit_key)
        if circuit is None or peering is None:
            continue
        for link in troubleshooting.DEVICE_PATHS:
            out.append(MseeLink(found, circuit, peering, troubleshooting.link_inputs(store, circuit, peering, link)))
    return out


def _msee_up(inputs: wire.LinkInputs) -> bool:
    return inputs.programmed is not None and inputs.microsoft_link_up


def learned(store: Store, gateway: Row) -> list[dict[str, Any]]:
    instances = list(gateway["body"].get("internal", {}).get("instances", []))
    if gateway["body"]["properties"].get("provisioningState") != "Succeeded":
        return []
    rows: list[dict[str, Any]] = []
    for instance in instances:
        for prefix in _vnet_prefixes(store, gateway):
            rows.append(
                {
                    "localAddress": instance,
                    "network": prefix,
                    "nextHop": "",
                    "sourcePeer": instance,
                    "origin": "Network",
                    "asPath": "",
                    "weight": LOCAL_WEIGHT,
                }
            )
    for m in _msee_links(store, gateway):
        if not _msee_up(m.inputs):
            continue
        assert m.inputs.programmed is not None
        msee = m.inputs.programmed.msee_address
        for route in netns_wire.msee_on_premises_routes(store, m.circuit, m.peering, m.inputs.link):
            for instance in instances:
                rows.append(
                    {
                        "localAddress": instance,
                        "network": route["prefix"],
                        "nextHop": msee,
                        "sourcePeer": msee,
                        "origin": "EBgp",
                        "asPath": f"{wire.AZURE_ASN} {route['asPath']}".strip(),
                        "weight": m.vnet.routing_weight,
                    }
                )
    return rows


def bgp_peers(store: Store, gateway: Row) -> list[str]:
    """The MSEE addresses the gateway has a BGP session with (links up)."""
    return sorted(
        {
            m.inputs.programmed.msee_address
            for m in _msee_links(store, gateway)
            if m.inputs.programmed and _msee_up(m.inputs)
        }
    )


def advertised(store: Store, gateway: Row, peer: str) -> list[dict[str, Any]]:
    """What the gateway advertises to ``peer``; nothing to an address it has no session with."""
    if gateway["body"]["properties"].get("provisioningState") != "Succeeded" or peer not in bgp_peers(store, gateway):
        return []
    instances = list(gateway["body"].get("internal", {}).get("instances", []))
    return [
        {
            "localAddress": instance,
            "network": prefix,
            "nextHop": instance,
            "sourcePeer": "",
            "origin": "Igp",
            "asPath": str(connections.GATEWAY_ASN),
            "weight": 0,
        }
        for instance in instances
        for prefix in _vnet_prefixes(store, gateway)
    ]
