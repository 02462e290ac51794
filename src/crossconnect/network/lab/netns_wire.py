"""The netns backend seen from the network layer: the desired wire computed from the store
(programmed peerings, edge declarations, faults, route filters), and the three troubleshooting
answers read from the wire instead of derived by the model."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from crossconnect.arm.operations import NotReady
from crossconnect.fabric import backend, wire
from crossconnect.fabric import edge as edges
from crossconnect.fabric.addressing import link_addresses
from crossconnect.fabric.netns.desired import GATEWAY_ASN, Edge, EdgePeer, Neighbor, Wire
from crossconnect.network.common import internal
from crossconnect.network.lab import troubleshooting
from crossconnect.network.lab.troubleshooting import DEVICE_PATHS, link_inputs
from crossconnect.network.peerings.record import PEERING_TYPE
from crossconnect.network.route_filters.attachment import advertised_prefixes
from crossconnect.store import Store

if TYPE_CHECKING:  # loaded only by a server that runs the netns fabric (app.application)
    from crossconnect.fabric.netns.fabric import NetnsFabric

ROUTERS = ("bird", "external")
SETTLE_POLL_SECONDS = 0.25


def _ipv4(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).version == 4
    except ValueError:
        return False


def _asn(value: int) -> int:
    return value if 1 <= value <= 4_294_967_295 else 0


def _edge_peer(key: str, s_tag: int, e: edges.EdgePeering) -> EdgePeer:
    """The partner's router as declared, made safe to put in a daemon's configuration: what is
    not a valid address, ASN, prefix or AS path is left out (the partner's router then simply has
    no address, no session or no such route, as a router refusing that line would)."""
    try:
        valid = ipaddress.ip_interface(f"{e.address}/{e.prefix_length}").version == 4
    except ValueError:
        valid = False
    advertised = []
    for ad in e.advertised:
        if not _ipv4(str(ad.get("prefix", ""))):
            continue
        prefix = str(ipaddress.ip_network(str(ad["prefix"]), strict=False))
        path = " ".join(t for t in str(ad.get("asPath", "")).split() if t.isdigit() and _asn(int(t)))
        advertised.append((prefix, path))
    return EdgePeer(
        neighbor_key=key,
        s_tag=s_tag,
        c_tag=e.c_tag,
        address=e.address if valid else "",
        prefix_length=e.prefix_length if valid else 0,
        asn=_asn(e.asn),
        remote_asn=_asn(e.remote_asn),
        md5="".join(ch for ch in e.md5 if ch.isprintable() and ord(ch) < 128),
        advertised=tuple(advertised),
    )


# What a mirrored partner router announces on a private peering's IPv6 session (a ULA block).
DEFAULT_PRIVATE_IPV6_PREFIXES = ("fd10:10::/48",)


def _ipv6_session(
    peering: dict[str, Any], link: str, ipv4: Neighbor, e: edges.EdgePeering | None, s_tag: int
) -> tuple[Neighbor, EdgePeer | None] | None:
    """The peering's IPv6 session on one link (``ipv6PeeringConfig``'s /126), on the same wire as
    its IPv4 one: the same tags, peer ASN and key. Microsoft announces nothing on it (the IPv6
    route filter is not applied on the wire); the mirrored partner announces its IPv6 prefixes."""
    props = peering["body"]["properties"]
    config = props.get("ipv6PeeringConfig") or {}
    prefix = config.get("primaryPeerAddressPrefix" if link == "primary" else "secondaryPeerAddressPrefix")
    if not prefix:
        return None
    addresses = link_addresses(prefix)
    ms_config = config.get("microsoftPeeringConfig") or {}
    validated = (
        props["peeringType"] != "MicrosoftPeering" or ms_config.get("advertisedPublicPrefixesState") == "Configured"
    )
    enabled = ipv4.enabled and config.get("state", "Enabled") == "Enabled" and validated
    key = f"{ipv4.key}/ipv6"
    neighbor = replace(
        ipv4,
        key=key,
        msee_address=str(addresses.msee),
        partner_address=str(addresses.partner),
        prefix_length=addresses.network.prefixlen,
        enabled=enabled,
        advertises=(),
    )
    if e is None:
        return neighbor, None
    announced = (
        ms_config.get("advertisedPublicPrefixes", [])
        if props["peeringType"] == "MicrosoftPeering"
        else list(DEFAULT_PRIVATE_IPV6_PREFIXES)
    )
    peer = EdgePeer(
        neighbor_key=key,
        s_tag=s_tag,
        c_tag=e.c_tag,
        address=str(addresses.partner),
        prefix_length=addresses.network.prefixlen,
        asn=_asn(e.asn),
        remote_asn=_asn(e.remote_asn),
        md5="".join(ch for ch in e.md5 if ch.isprintable() and ord(ch) < 128),
        advertised=tuple((str(ipaddress.ip_network(x, strict=False)), "") for x in announced if _is_ipv6(x)),
    )
    return neighbor, peer


def _is_ipv6(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).version == 6
    except ValueError:
        return False


def neighbor_key(service_key: str, link: str, peering_type: str) -> str:
    return f"{service_key.lower()}/{link}/{peering_type}"


def _communities(store: Store, peering: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if peering["body"]["properties"]["peeringType"] != "MicrosoftPeering":
        return ()  # private peering: no virtual networks exist, so Microsoft advertises nothing
    grouped: dict[str, list[str]] = {}
    for prefix, community in advertised_prefixes(store, peering):
        if _ipv4(prefix):
            grouped.setdefault(prefix, []).append(community)
    return tuple((prefix, tuple(sorted(set(c)))) for prefix, c in sorted(grouped.items()))


def _gateways(i: wire.LinkInputs) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The connected gateways' instances and the IPv4 prefixes each sent to this MSEE."""
    by_instance: dict[str, list[str]] = {}
    for route in i.virtual_networks:
        if _ipv4(route["prefix"]):
            by_instance.setdefault(route["nextHop"], []).append(route["prefix"])
    return tuple((instance, tuple(prefixes)) for instance, prefixes in sorted(by_instance.items()))


def desired_state(store: Store) -> Wire:
    neighbors: list[Neighbor] = []
    edge_peers: dict[tuple[str, str], list[EdgePeer]] = {}
    edge_links: dict[tuple[str, str], edges.EdgeLink] = {}
    circuits: dict[str, dict[str, Any]] = {}
    for peering in store.find_all("resources", type_key=PEERING_TYPE):
        if not internal(peering).get("programmed"):
            continue
        circuit = circuits.get(peering["parent_key"]) or store.get_resource(peering["parent_key"])
        if circuit is None:
            continue
        circuits[peering["parent_key"]] = circuit
        advertises = _communities(store, peering)
        for link in DEVICE_PATHS:
            i = link_inputs(store, circuit, peering, link)
            p = i.programmed
            if p is None:
                continue
            key = neighbor_key(i.service_key, link, i.peering_type)
            neighbors.append(
                Neighbor(
                    key=key,
                    device=p.device,
                    port=p.port,
                    s_tag=p.s_tag,
                    c_tag=p.vlan_id,
                    msee_address=p.msee_address,
                    partner_address=p.neighbor,
                    prefix_length=p.prefix_length,
                    peer_asn=p.peer_asn,
                    md5=p.md5,
                    enabled=p.enabled and i.admin_down_reason is None and not i.flapping,
                    link_up=i.microsoft_link_up,
                    import_limit=i.prefix_limit,
                    advertises=advertises,
                    gateways=_gateways(i),
                )
            )
            edge_id = (i.service_key.lower(), link)
            edge_links[edge_id] = i.edge
            e = i.edge_peering
            if e is not None:
                edge_peers.setdefault(edge_id, []).append(_edge_peer(key, i.edge.s_tag, e))
            ipv6 = _ipv6_session(peering, link, neighbors[-1], e, i.edge.s_tag)
            if ipv6 is not None:
                neighbors.append(ipv6[0])
                if ipv6[1] is not None:
                    edge_peers.setdefault(edge_id, []).append(ipv6[1])
    edge_list = []
    for (service_key, link), edge_link in edge_links.items():
        router = str(edges.declaration(store, service_key).get(link, {}).get("router", "bird"))
        peers = tuple(sorted(edge_peers.get((service_key, link), []), key=lambda x: x.neighbor_key))
        edge_list.append(Edge(service_key, link, router, edge_link.interface_up, peers))
    return Wire(tuple(neighbors), tuple(edge_list))


# -- the three troubleshooting answers, from the wire --------------------------------------------------


def compute(
    fabric: NetnsFabric, peering: dict[str, Any], circuit: dict[str, Any], kind: str, link: str, view: str
) -> dict[str, Any]:
    props = peering["body"]["properties"]
    key = neighbor_key(circuit["body"]["properties"]["serviceKey"], link, props["peeringType"])
    programmed = internal(peering).get("programmed", {}).get(link)
    if kind == "arpTables":
        return {"value": fabric.arp_table(key) or []}
    if kind == "routeTables":
        return {"value": _route_rows(fabric, key)}
    if programmed is None:
        return {"value": []}
    session = fabric.session(key)
    established = session is not None and session.state == "Established"
    if session is None:
        state, since = "Idle", 0.0
    elif session.state == "Down":  # BIRD keeps a disabled neighbour (admin, or import limit hit) down
        state = "Idle (PfxCt)" if "limit" in session.info.lower() else "Idle (Admin)"
        since = session.since
    else:
        state, since = session.state, session.since
    shown = str(session.imported) if established and session is not None else state
    up_down = wire.up_down(since, established)
    if view == "crossConnection":
        row: dict[str, Any] = {
            "neighbor": programmed["neighbor"],
            "asn": programmed["peer_asn"],
            "upDown": up_down,
            "stateOrPrefixesReceived": shown,
        }
    else:
        row = {
            "neighbor": programmed["neighbor"],
            "v": 4,
            "as": programmed["peer_asn"],
            "upDown": up_down,
            "statePfxRcd": shown,
        }
    return {"value": [row]}


def _route_rows(fabric: NetnsFabric, key: str) -> list[dict[str, Any]]:
    session = fabric.session(key)
    if session is None or session.state != "Established":
        return []
    rows = []
    gateways = fabric.gateways(key)
    for route in fabric.routes(key) or []:
        received = route.protocol.startswith("n_")
        next_hop, path = (
            (route.next_hop, route.as_path) if received else (fabric.msee_address(key), str(wire.AZURE_ASN))
        )
        if route.protocol.startswith("g") and "_" in route.protocol:
            # a gateway's static protocol ("g<index>_…"): next hop that instance, path 65515
            index = int(route.protocol[1:].split("_", 1)[0])
            next_hop = gateways[index][0] if index < len(gateways) else ""
            path = str(GATEWAY_ASN)
        rows.append({"network": route.network, "nextHop": next_hop, "locPrf": "", "weight": 0, "path": path})
    return rows


def msee_on_premises_routes(
    store: Store, circuit: dict[str, Any], peering: dict[str, Any], link: str
) -> list[dict[str, Any]]:
    """What one MSEE holds from the partner's edge on a peering ([{"prefix", "asPath"}]), as it
    passes it to the virtual networks' gateways: read from the speaker on the netns fabric (what
    the real partner-edge daemon sent), else the model's (with the Global Reach routes)."""
    fabric = backend.netns()
    inputs = link_inputs(store, circuit, peering, link)
    if fabric is None:
        return troubleshooting.msee_on_premises_routes(inputs)
    fabric.refresh()
    key = neighbor_key(circuit["body"]["properties"]["serviceKey"], link, peering["body"]["properties"]["peeringType"])
    session = fabric.session(key)
    if session is None or session.state != "Established":
        return []
    return [{"prefix": r.network, "asPath": r.as_path} for r in fabric.routes(key) or [] if r.protocol.startswith("n_")]


def complete(store: Store, op: dict[str, Any], conn: Any) -> dict[str, Any]:
    """A troubleshooting operation: read from the wire when the server runs the netns fabric,
    else ask the model."""
    fabric = backend.netns()
    if fabric is None:
        return troubleshooting.complete(store, op, conn)
    payload = op["payload"]
    peering = store.get_resource(payload["peeringKey"])
    circuit = store.get_resource(peering["parent_key"]) if peering else None
    if peering is None or circuit is None:
        return {"value": []}
    link = payload["devicePath"]
    fabric.refresh()
    if internal(peering).get("programmed", {}).get(link):
        key = neighbor_key(
            circuit["body"]["properties"]["serviceKey"], link, peering["body"]["properties"]["peeringType"]
        )
        model = wire.session(link_inputs(store, circuit, peering, link))
        if fabric.settling(key) and not _settled(fabric, peering, circuit, link, model):
            raise NotReady(SETTLE_POLL_SECONDS)  # the session is still settling after a change
    result = compute(fabric, peering, circuit, op["kind"], link, payload["view"])
    if op["kind"] == "routeTablesSummary" and result["value"]:
        # the MSEE's sessions with the gateways run inside Microsoft's network: from the model
        up_down = wire.up_down(internal(peering).get("programmedAt", 0.0), True)
        inputs = link_inputs(store, circuit, peering, link)
        for neighbor, count in wire.gateway_neighbors(inputs):
            if payload["view"] == "crossConnection":
                row = {
                    "neighbor": neighbor,
                    "asn": GATEWAY_ASN,
                    "upDown": up_down,
                    "stateOrPrefixesReceived": str(count),
                }
            else:
                row = {"neighbor": neighbor, "v": 4, "as": GATEWAY_ASN, "upDown": up_down, "statePfxRcd": str(count)}
            result["value"].append(row)
    return result


def session_state(store: Store, circuit: dict[str, Any], peering: dict[str, Any], link: str) -> str:
    """The session state the edge view shows: the speaker's on the netns fabric, else the model's."""
    fabric = backend.netns()
    if fabric is None:
        return wire.session(link_inputs(store, circuit, peering, link)).state
    fabric.refresh()
    rows = compute(fabric, peering, circuit, "routeTablesSummary", link, "crossConnection")["value"]
    if not rows:
        return "Idle"
    state = str(rows[0]["stateOrPrefixesReceived"])
    return "Established" if state.isdigit() else state


def _settled(
    fabric: NetnsFabric, peering: dict[str, Any], circuit: dict[str, Any], link: str, model: wire.Session
) -> bool:
    """Does the speaker already report where the configuration leads (the model's answer)? Until
    then, for at most the fabric's settle time after a change, a troubleshooting read waits."""
    rows = compute(fabric, peering, circuit, "routeTablesSummary", link, "crossConnection")["value"]
    shown = str(rows[0]["stateOrPrefixesReceived"]) if rows else ""
    if model.established:
        return shown == str(model.received)
    if model.state in ("Idle (PfxCt)", "Idle (Admin)"):
        return shown == model.state
    return not shown.isdigit()
