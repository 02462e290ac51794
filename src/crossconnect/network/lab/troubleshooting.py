"""Troubleshooting a peering: ARP table, BGP route-table summary and route table, per device
path (primary/secondary), for circuit peerings and cross-connection peerings alike, plus the
byte counters behind ``/stats``.

The POSTs are long-running exactly as Azure runs them (arm/result_posts.py). This module gathers
one peering's inputs and asks the wire model (fabric/wire.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import clock
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.resource_type import ResourceType
from crossconnect.arm.result_posts import start_post_with_result
from crossconnect.fabric import edge as edges
from crossconnect.fabric import faults, wire
from crossconnect.network.common import internal
from crossconnect.network.connections import record as vnet_connections
from crossconnect.network.direct import circuits as direct_circuits
from crossconnect.network.peerings import connections as global_reach
from crossconnect.store import Store

DEVICE_PATHS = ("primary", "secondary")
KINDS = ("arpTables", "routeTablesSummary", "routeTables")
SUFFIX = "/troubleshooting"


def prefix_limit(circuit: dict[str, Any], peering_type: str) -> int:
    if peering_type == "MicrosoftPeering":
        return 200
    return 10_000 if circuit["body"]["sku"]["tier"] == "Premium" else 4_000


def microsoft_advertises(store: Store, peering: dict[str, Any]) -> list[str]:
    """On Microsoft peering, only the prefixes of the communities an attached route filter
    allows; nothing without one (and nothing on private peering: no virtual networks here)."""
    if peering["body"]["properties"]["peeringType"] != "MicrosoftPeering":
        return []
    try:
        from crossconnect.network.route_filters.attachment import advertised_prefixes
    except ImportError:  # route filters not available: nothing is advertised
        return []
    return [prefix for prefix, _community in advertised_prefixes(store, peering)]


def global_reach_routes(store: Store, peering: dict[str, Any], link: str) -> list[dict[str, Any]]:
    """The on-premises routes a private peering learns through Global Reach: for every connected
    expressRouteCircuitConnection it takes part in, what the peer circuit's edge advertises on
    the same link while that peer's own BGP session is established (path: the peer's ASN and its
    path; the route table puts Microsoft's 12076 in front)."""
    if peering["body"]["properties"]["peeringType"] != "AzurePrivatePeering":
        return []
    routes: list[dict[str, Any]] = []
    for connection in global_reach.all_connections(store, peering["key"]):
        if global_reach.status(store, connection) != "Connected":
            continue
        ends = {connection["parent_key"], internal(connection).get("peerPeeringKey", "")}
        other_key = next((k for k in ends if k != peering["key"]), "")
        other = store.get_resource(other_key) if other_key else None
        other_circuit = store.get_resource(other["parent_key"]) if other else None
        if other is None or other_circuit is None:
            continue
        peer_inputs = link_inputs(store, other_circuit, other, link, with_global_reach=False)
        if not wire.session(peer_inputs).established or peer_inputs.edge_peering is None:
            continue
        asn = str(peer_inputs.edge_peering.asn)
        for ad in peer_inputs.edge_peering.advertised:
            path = " ".join(x for x in [asn, str(ad.get("asPath", "")).strip()] if x)
            routes.append({"prefix": ad["prefix"], "asPath": path})
    return routes


def virtual_network_routes(store: Store, circuit: dict[str, Any], peering: dict[str, Any]) -> list[dict[str, Any]]:
    """What a private peering's MSEEs learn from the ExpressRoute gateways of the virtual networks
    connected to the circuit (Connected connections only): each address-space prefix once per
    gateway instance, next hop that instance, AS path 65515."""
    if peering["body"]["properties"]["peeringType"] != "AzurePrivatePeering":
        return []
    return [
        {"prefix": prefix, "nextHop": instance, "asPath": str(vnet_connections.GATEWAY_ASN)}
        for found in vnet_connections.vnet_links(store, circuit["key"])
        for prefix in found.prefixes
        for instance in found.instances
    ]


def msee_on_premises_routes(inputs: wire.LinkInputs) -> list[dict[str, Any]]:
    """The routes an MSEE holds from outside Microsoft's network on this link, as it passes them to
    the virtual networks' gateways: the partner edge's prefixes (path: the partner's ASN and what
    it sent) and the Global Reach routes; nothing while the session with the partner is down."""
    if not wire.session(inputs).established or inputs.edge_peering is None:
        return []
    asn = str(inputs.edge_peering.asn)
    out = [
        {"prefix": ad["prefix"], "asPath": " ".join(x for x in [asn, str(ad.get("asPath", "")).strip()] if x)}
        for ad in inputs.edge_peering.advertised
    ]
    out += [{"prefix": ad["prefix"], "asPath": str(ad.get("asPath", "")).strip()} for ad in inputs.global_reach]
    return out


def link_inputs(
    store: Store, circuit: dict[str, Any], peering: dict[str, Any], link: str, with_global_reach: bool = True
) -> wire.LinkInputs:
    props = peering["body"]["properties"]
    placement = internal(circuit).get("placement", {})
    service_key = circuit["body"]["properties"]["serviceKey"]
    programmed_all = internal(peering).get("programmed", {})
    programmed = wire.Programmed(**programmed_all[link]) if link in programmed_all else None
    siblings = [
        p
        for p in store.find_all("resources", parent_key=circuit["key"], type_key=peering["type_key"])
        if internal(p).get("programmed")
    ]
    edge_link = edges.edge_link(store, service_key, link, int(placement.get("sTag", 0)), siblings)
    fault = faults.current(store)
    port = (programmed.port if programmed else placement.get(f"{link}AzurePort", "")).lower()
    device = wire.device_of(port.upper()).lower() if port else ""
    link_up = (
        direct_circuits.link_enabled(store, circuit, link)
        and port not in fault["ports"]
        and device not in fault["devices"]
        and faults.link_id(service_key, link) not in fault["links"]
    )
    flap_until = fault["flaps"].get(f"{faults.link_id(service_key, link)}/{props['peeringType'].lower()}", 0.0)
    now = clock.now()
    since = max(
        internal(peering).get("programmedAt", 0.0),
        edges.updated_at(store, service_key),
        flap_until if flap_until <= now else 0.0,
    )
    admin_down = None
    ms_config = props.get("microsoftPeeringConfig")
    if ms_config and ms_config.get("advertisedPublicPrefixesState") != "Configured":
        admin_down = "advertised public prefixes are not validated"
    return wire.LinkInputs(
        link=link,
        service_key=service_key,
        peering_type=props["peeringType"],
        programmed=programmed,
        edge=edge_link,
        edge_peering=edge_link.peerings.get(props["peeringType"]),
        microsoft_link_up=link_up,
        flapping=flap_until > now,
        prefix_limit=prefix_limit(circuit, props["peeringType"]),
        admin_down_reason=admin_down,
        microsoft_advertises=microsoft_advertises(store, peering),
        global_reach=global_reach_routes(store, peering, link) if with_global_reach else [],
        virtual_networks=virtual_network_routes(store, circuit, peering),
        since=since,
    )


def program(circuit: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """The sub-interfaces and BGP neighbours the MSEEs get for a peering."""
    placement = internal(circuit)["placement"]
    return {link: wire.program(link, placement, props).as_dict() for link in DEVICE_PATHS}


def compute(store: Store, peering_key: str, kind: str, device_path: str, view: str) -> dict[str, Any]:
    peering = store.get_resource(peering_key)
    if peering is None:
        return {"value": []}
    circuit = store.get_resource(peering["parent_key"])
    if circuit is None:  # the peering's circuit is gone: nothing on the wire
        return {"value": []}
    inputs = link_inputs(store, circuit, peering, device_path)
    if kind == "arpTables":
        return {"value": wire.arp_table(inputs)}
    if kind == "routeTables":
        return {"value": wire.route_table(inputs)}
    session = wire.session(inputs)
    state = str(session.received) if session.established else session.state
    neighbor = inputs.programmed.neighbor if inputs.programmed else ""
    up_down = wire.up_down(session.since, session.established)
    neighbors = [(neighbor, inputs.programmed.peer_asn if inputs.programmed else 0, up_down, state)]
    # the gateways of connected virtual networks are the MSEE's neighbours too (AS 65515)
    gateway_up = wire.up_down(inputs.since, True)
    neighbors += [(n, vnet_connections.GATEWAY_ASN, gateway_up, str(c)) for n, c in wire.gateway_neighbors(inputs)]
    if view == "crossConnection":
        rows = [
            {"neighbor": n, "asn": asn, "upDown": ud, "stateOrPrefixesReceived": st} for n, asn, ud, st in neighbors
        ]
    else:
        rows = [{"neighbor": n, "v": 4, "as": asn, "upDown": ud, "statePfxRcd": st} for n, asn, ud, st in neighbors]
    return {"value": rows if inputs.programmed else []}


def peering_counters(store: Store, circuit: dict[str, Any], peering: dict[str, Any]) -> dict[str, int]:
    out = {"primarybytesIn": 0, "primarybytesOut": 0, "secondarybytesIn": 0, "secondarybytesOut": 0}
    for link in DEVICE_PATHS:
        received, sent = wire.byte_counters(link_inputs(store, circuit, peering, link))
        out[f"{link}bytesIn"] += received
        out[f"{link}bytesOut"] += sent
    return out


def circuit_counters(store: Store, circuit: dict[str, Any]) -> dict[str, int]:
    total = {"primarybytesIn": 0, "primarybytesOut": 0, "secondarybytesIn": 0, "secondarybytesOut": 0}
    for peering in store.find_all(
        "resources", parent_key=circuit["key"], type_key="microsoft.network/expressroutecircuits/peerings"
    ):
        for name, value in peering_counters(store, circuit, peering).items():
            total[name] += value
    return total


def endpoints(rtype: ResourceType, view: str) -> list[Endpoint]:
    """The three POSTs for one peering view (``circuit`` or ``crossConnection``)."""
    base = (
        rtype.type_name
    )  # Microsoft.Network/expressRouteCircuits/peerings or .../expressRouteCrossConnections/peerings
    # RBAC action names are Azure's: /read (not /action), and "routeTableSummary" (singular)
    # for cross connections vs "routeTablesSummary" for circuits.
    summary_action = "routeTableSummary" if view == "crossConnection" else "routeTablesSummary"
    actions = {
        "arpTables": f"{base}/arpTables/read",
        "routeTablesSummary": f"{base}/{summary_action}/read",
        "routeTables": f"{base}/routeTables/read",
    }

    def make(kind: str) -> Any:
        async def handler(request: ArmRequest) -> ArmResponse:
            device_path = request.params["devicePath"].lower()
            rtype.check_scope(request)
            if device_path not in DEVICE_PATHS:
                raise BadRequest(
                    f"The device path '{request.params['devicePath']}' is invalid; use 'primary' or 'secondary'.",
                    "InvalidDevicePath",
                    target="devicePath",
                )
            return start_post_with_result(
                request,
                rtype,
                kind,
                SUFFIX,
                lambda peering: {"devicePath": device_path, "view": view, "peeringKey": peering["key"]},
            )

        return handler

    return [
        Endpoint(
            "POST",
            rtype.item_template + f"/{kind}/{{devicePath}}",
            make(kind),
            rtype.api_versions,
            actions[kind],
            rtype.namespace,
        )
        for kind in KINDS
    ]


def complete(store: Store, op: dict[str, Any], conn: Connection) -> dict[str, Any]:
    payload = op["payload"]
    return compute(store, payload["peeringKey"], op["kind"], payload["devicePath"], payload["view"])
