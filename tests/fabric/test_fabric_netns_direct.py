"""A circuit on an ExpressRoute Direct port on the netns fabric: its private peering's BGP
sessions run on the port's MSEE ports with a real BIRD partner edge, and the port's link admin
state takes the wire up and down. Needs root and BIRD 2, as the other netns tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.fabric.support import NETNS_MARKS
from tests.network.direct.support import create_direct_circuit, create_port, enable_links, ports
from tests.support import Server
from tests.support.network import GROUP, PRIVATE, circuit_peering

pytestmark = NETNS_MARKS


@pytest.fixture
def server(netns_server: Server) -> Server:
    netns_server.reset()
    return netns_server


def eventually(read: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 30) -> Any:
    deadline = time.time() + timeout
    value = read()
    while not ok(value) and time.time() < deadline:
        time.sleep(0.3)
        value = read()
    assert ok(value), f"still {value!r} after {timeout}s"
    return value


def summary(server: Server, link: str) -> str:
    circuits = server.network("customer").express_route_circuits
    result = circuits.begin_list_routes_table_summary(GROUP, "dc1", "AzurePrivatePeering", link).result()
    return str(result.value[0].state_pfx_rcd) if result.value else ""


def test_direct_circuit_sessions_follow_the_port_links(server: Server) -> None:
    create_port(server)
    create_direct_circuit(server)
    circuit_peering(server, "AzurePrivatePeering", PRIVATE, circuit="dc1")
    # the new port's links are Disabled: no session on either
    time.sleep(2)
    assert not summary(server, "primary").isdigit() and not summary(server, "secondary").isdigit()

    enable_links(server)
    for link in ("primary", "secondary"):
        eventually(lambda link=link: summary(server, link), lambda s: s == "3")
    circuits = server.network("customer").express_route_circuits
    routes = circuits.begin_list_routes_table(GROUP, "dc1", "AzurePrivatePeering", "primary").result()
    assert {r.network for r in routes.value} == {"10.10.0.0/16", "10.20.0.0/16", "172.16.10.0/24"}

    port = ports(server).get(GROUP, "port1")
    port.links[1].admin_state = "Disabled"
    ports(server).begin_create_or_update(GROUP, "port1", port).result()
    eventually(lambda: summary(server, "secondary"), lambda s: not s.isdigit())
    assert summary(server, "primary") == "3"
