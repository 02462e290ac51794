"""The netns fabric carries the virtual networks' routes: once a gateway is connected, the MSEE's
BIRD holds the address space (next hops the gateway instances, path 65515) and announces it to the
real partner-edge BIRD, which receives it with path 12076 65515; the gateway's learned routes are
what the partner-edge daemon actually sent. Needs root and BIRD 2."""

from __future__ import annotations

import pytest

from tests.fabric.support import NETNS_MARKS
from tests.fabric.test_fabric_netns import edge, eventually, routes, summary
from tests.support import Server
from tests.support.network import GROUP
from tests.support.virtual_networks import circuit_with_private_peering, connect, customer_side, learned, net

pytestmark = NETNS_MARKS

VNET = "10.17.0.0/16"
GATEWAY_ROWS = {(VNET, "10.17.255.4", "65515"), (VNET, "10.17.255.5", "65515")}


@pytest.fixture
def server(netns_server: Server) -> Server:
    netns_server.reset()
    return netns_server


def _edge_routes(server: Server, key: str, link: str) -> str:
    return str(edge(server, key)["wire"][link]["daemon"]["routes"])


def test_a_connected_virtual_network_is_on_the_wire(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    key = circuit.service_key
    customer_side(server)
    for link in ("primary", "secondary"):
        eventually(lambda link=link: summary(server, key, link), lambda s: bool(s) and s[0][2] == "3")
        assert not GATEWAY_ROWS & set(routes(server, key, link))
    connect(server, circuit.id)
    for link in ("primary", "secondary"):
        table = eventually(lambda link=link: set(routes(server, key, link)), lambda t: t >= GATEWAY_ROWS)
        assert ("10.10.0.0/16", "192.168.100.129" if link == "primary" else "192.168.100.133", "65010") in table
        # the real partner-edge daemon received the address space from the MSEE, path 12076 65515
        text = eventually(lambda link=link: _edge_routes(server, key, link), lambda t: VNET in t)
        assert "12076 65515" in text, text
        rows = summary(server, key, link)
        assert {(n, asn, st) for n, asn, st in rows if asn == 65515} == {
            ("10.17.255.4", 65515, "1"),
            ("10.17.255.5", 65515, "1"),
        }
    # the gateway learns what the MSEEs received from the partner's daemon
    ebgp = {(r.network, r.as_path, r.source_peer) for r in learned(server) if r.origin == "EBgp"}
    assert ("10.10.0.0/16", "12076 65010", "192.168.100.130") in ebgp
    assert ("10.10.0.0/16", "12076 65010", "192.168.100.134") in ebgp

    net(server).virtual_network_gateway_connections.begin_delete(GROUP, "conn1").result()
    for link in ("primary", "secondary"):
        eventually(lambda link=link: set(routes(server, key, link)), lambda t: not GATEWAY_ROWS & t and bool(t))
        eventually(lambda link=link: _edge_routes(server, key, link), lambda t: VNET not in t)
    assert {r.origin for r in learned(server)} == {"Network"}
