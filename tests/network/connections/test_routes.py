"""Routes follow from state: once a virtual network's gateway is connected to a circuit, the MSEE
route tables of private peering (both links, both ARM views), the BGP summary, the partner edge's
view (lab API) and the gateway's learned and advertised routes all agree with one another, and
change together when the address space, the partner's announcements, a link, the connection or
the peering change."""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.support import Server
from tests.support.network import GROUP, PRIVATE, XC_GROUP, circuit_peering
from tests.support.virtual_networks import (
    PP,
    advertised,
    circuit_with_private_peering,
    connect,
    customer_side,
    learned,
    net,
    vnet_body,
)

LINKS = ("primary", "secondary")
VNET = "10.17.0.0/16"
INSTANCES = {"10.17.255.4", "10.17.255.5"}


class Views:
    """Every place a route of the circuit's private peering shows up."""

    def __init__(self, server: Server, circuit: Any) -> None:
        self.server, self.circuit = server, circuit

    def msee(self, link: str) -> set[tuple[str, str, str]]:
        ops = net(self.server).express_route_circuits
        table = ops.begin_list_routes_table(GROUP, "er1", PP, link).result().value
        return {(r.network, r.next_hop, r.path) for r in table}

    def msee_partner_view(self, link: str) -> set[tuple[str, str, str]]:
        ops = self.server.network("partner").express_route_cross_connections
        table = ops.begin_list_routes_table(XC_GROUP, self.circuit.service_key, PP, link).result().value
        return {(r.network, r.next_hop, r.path) for r in table}

    def summary(self, link: str) -> dict[str, tuple[int, str]]:
        ops = net(self.server).express_route_circuits
        rows = ops.begin_list_routes_table_summary(GROUP, "er1", PP, link).result().value
        return {r.neighbor: (r.as_property, r.state_pfx_rcd) for r in rows}

    def edge(self, link: str) -> set[tuple[str, str]]:
        r = self.server.operator("GET", f"/lab/circuits/{self.circuit.service_key}/edge")
        assert r.status_code == 200, r.text
        return {(x["prefix"], x["asPath"]) for x in r.json()["effective"][link]["received"][PP]}

    def msee_address(self, link: str) -> str:
        rows = self.summary(link)
        partner = next(n for n, (asn, _) in rows.items() if asn == 65010)
        # the MSEE takes the other address of the partner's /30
        return str(ipaddress.ip_address(partner) + 1)


def _vnet_routes(table: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    return {r for r in table if r[2] == "65515"}


def _on_premises(table: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    return {(network, path) for network, _hop, path in table if path != "65515"}


def _assert_agree(v: Views, prefixes: set[str]) -> None:
    """The MSEE tables, summary, edge and gateway tell one story for the given address space."""
    learned_routes = learned(v.server)
    own = {(r.local_address, r.network) for r in learned_routes if r.origin == "Network"}
    assert own == {(i, p) for i in INSTANCES for p in prefixes}
    ebgp = [r for r in learned_routes if r.origin == "EBgp"]
    for link in LINKS:
        table = v.msee(link)
        assert table == v.msee_partner_view(link)  # the partner's view of the same MSEE
        assert _vnet_routes(table) == {(p, i, "65515") for p in prefixes for i in INSTANCES}
        # the partner's edge receives the address space from Microsoft
        assert {(p, "12076 65515") for p in prefixes} <= v.edge(link)
        # the gateway learns, from this MSEE, exactly what the MSEE has from on-premises
        msee = v.msee_address(link)
        from_this_msee = {(r.network, r.as_path) for r in ebgp if r.source_peer == msee}
        # (the MSEE table already shows Global Reach routes with 12076 in front)
        assert from_this_msee == {(n, p if p.startswith("12076 ") else f"12076 {p}") for n, p in _on_premises(table)}
        assert {r.local_address for r in ebgp if r.source_peer == msee} == (INSTANCES if from_this_msee else set())
        # the summary counts what each gateway instance sent
        summary = v.summary(link)
        for instance in INSTANCES:
            assert summary[instance] == (65515, str(len(prefixes)))
        # the gateway advertises its address space to this MSEE
        assert {(r.network, r.as_path, r.next_hop) for r in advertised(v.server, msee)} == {
            (p, "65515", i) for p in prefixes for i in INSTANCES
        }


def _assert_withdrawn(v: Views) -> None:
    for link in LINKS:
        assert _vnet_routes(v.msee(link)) == set()
        assert all(path != "12076 65515" for _p, path in v.edge(link))
        assert all(asn != 65515 for asn, _ in v.summary(link).values())
    assert {r.origin for r in learned(v.server)} <= {"Network"}


def test_routes_agree_and_follow_state(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    v = Views(server, circuit)
    before = {link: v.msee(link) for link in LINKS}
    assert all(_vnet_routes(t) == set() for t in before.values())
    # the gateway alone holds its address space and learns nothing
    assert {(r.network, r.origin) for r in learned(server)} == {(VNET, "Network")}

    connect(server, circuit.id, weight=7)
    _assert_agree(v, {VNET})
    assert {r.weight for r in learned(server) if r.origin == "EBgp"} == {7}
    for link in LINKS:  # the partner's own routes are still there, unchanged
        assert before[link] <= v.msee(link)

    # the address space grows: every view follows
    grown = vnet_body(space=[VNET, "10.30.0.0/16"], subnets=[("GatewaySubnet", "10.17.255.0/27")])
    net(server).virtual_networks.begin_create_or_update(GROUP, "vnet1", grown).result()
    _assert_agree(v, {VNET, "10.30.0.0/16"})

    # the partner announces a new on-premises prefix on the primary link: the gateway learns it there
    r = server.operator(
        "PUT",
        f"/lab/circuits/{circuit.service_key}/edge/primary",
        {"peerings": {PP: {"advertisedPrefixes": [{"prefix": "10.99.0.0/16", "asPath": "65100"}]}}},
    )
    assert r.status_code == 200, r.text
    _assert_agree(v, {VNET, "10.30.0.0/16"})
    primary_msee = v.msee_address("primary")
    assert ("10.99.0.0/16", "12076 65010 65100") in {
        (x.network, x.as_path) for x in learned(server) if x.source_peer == primary_msee
    }

    # a fault on the primary link: that MSEE's routes go, the secondary keeps everything
    assert server.operator("POST", "/faults/links", {"name": f"{circuit.service_key}/primary"}).status_code == 200
    assert v.msee("primary") == set() and v.edge("primary") == set()
    assert all(x.source_peer != primary_msee for x in learned(server))
    assert advertised(server, primary_msee) == []
    assert _vnet_routes(v.msee("secondary")) == {(p, i, "65515") for p in (VNET, "10.30.0.0/16") for i in INSTANCES}
    assert server.operator("DELETE", "/faults").status_code == 200
    _assert_agree(v, {VNET, "10.30.0.0/16"})

    # deleting the connection withdraws them everywhere
    net(server).virtual_network_gateway_connections.begin_delete(GROUP, "conn1").result()
    _assert_withdrawn(v)

    # connected again, then the private peering is deleted: withdrawn, the connection NotConnected
    connect(server, circuit.id)
    _assert_agree(v, {VNET, "10.30.0.0/16"})
    net(server).express_route_circuit_peerings.begin_delete(GROUP, "er1", PP).result()
    assert net(server).virtual_network_gateway_connections.get(GROUP, "conn1").connection_status == "NotConnected"
    assert {r.origin for r in learned(server)} == {"Network"}
    circuit_peering(server, PP, PRIVATE)
    _assert_agree(v, {VNET, "10.30.0.0/16"})


def test_a_partner_session_down_keeps_the_gateway_routes_on_the_msee(server: Server) -> None:
    """The MSEE's sessions with the gateways run inside Microsoft's network: with the partner's
    session down (a wrong MD5 key at the edge), the MSEE still has the virtual network's routes,
    but neither passes anything to the other side."""
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    connect(server, circuit.id)
    v = Views(server, circuit)
    r = server.operator(
        "PUT", f"/lab/circuits/{circuit.service_key}/edge/secondary", {"peerings": {PP: {"md5": "wrong"}}}
    )
    assert r.status_code == 200, r.text
    secondary = v.msee("secondary")
    assert secondary == _vnet_routes(secondary) and secondary  # only the gateways' routes
    assert v.edge("secondary") == set()
    secondary_msee = v.msee_address("secondary")
    assert all(x.source_peer != secondary_msee for x in learned(server))
    assert (VNET, "12076 65515") in v.edge("primary")


def test_global_reach_routes_reach_the_gateway_too(server: Server) -> None:
    """er1 (connected to the virtual network) and er2 joined by Global Reach: the gateway learns
    er2's on-premises prefixes through er1's MSEEs, as the MSEE route table lists them."""
    from tests.support.network import circuit_peering_path, provisioned_circuit

    circuit = circuit_with_private_peering(server)
    provisioned_circuit(server, "er2")
    circuit_peering(
        server,
        PP,
        {**PRIVATE, "primaryPeerAddressPrefix": "192.168.200.0/30", "secondaryPeerAddressPrefix": "192.168.200.4/30"},
        circuit="er2",
    )
    key2 = net(server).express_route_circuits.get(GROUP, "er2").service_key
    r = server.operator(
        "PUT",
        f"/lab/circuits/{key2}/edge/primary",
        {"peerings": {PP: {"advertisedPrefixes": [{"prefix": "10.99.0.0/16", "asPath": "65100"}]}}},
    )
    assert r.status_code == 200, r.text
    customer_side(server)
    connect(server, circuit.id)
    body = {
        "properties": {
            "peerExpressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er2")},
            "addressPrefix": "10.0.0.0/29",
        }
    }
    net(server).express_route_circuit_connections.begin_create_or_update(GROUP, "er1", PP, "gr1", body).result()
    v = Views(server, circuit)
    assert ("10.99.0.0/16", "12076 65010 65100") in {(n, p) for n, _h, p in v.msee("primary")}
    primary_msee = v.msee_address("primary")
    from_primary = {(x.network, x.as_path) for x in learned(server) if x.source_peer == primary_msee}
    assert ("10.99.0.0/16", "12076 65010 65100") in from_primary
    _assert_agree(v, {VNET})
    # er2's edge does not receive the virtual network: Global Reach carries on-premises routes only
    assert all(
        "65515" not in path for _p, path in Views(server, type("C", (), {"service_key": key2})()).edge("primary")
    )
