"""Two replicas on one PostgreSQL database creating public IP addresses and gateways at once: every
address is given once, and a GatewaySubnet or a public IP is taken by one gateway only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support import Server
from tests.support.network import API, GROUP, ensure_group
from tests.support.virtual_networks import create_public_ip, create_vnet, gateway_body, path, public_ip_body

COUNT = 40


def test_addresses_are_unique_across_replicas(replicas: tuple[Server, Server]) -> None:
    first, second = replicas
    ensure_group(first)

    def put(i: int) -> int:
        server = (first, second)[i % 2]
        with server.http("customer") as client:
            r = client.put(
                path(server, "publicIPAddresses", f"ip{i}"), params={"api-version": API}, json=public_ip_body()
            )
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(put, range(COUNT))) == {201}
    listed = list(first.network("customer").public_ip_addresses.list(GROUP))
    addresses = [ip.ip_address for ip in listed]
    assert len(listed) == COUNT and len(set(addresses)) == COUNT


def test_one_gateway_takes_a_gateway_subnet_across_replicas(replicas: tuple[Server, Server]) -> None:
    first, second = replicas
    create_vnet(first)
    for i in range(6):
        create_public_ip(first, f"gw-ip{i}")

    def put(i: int) -> Any:
        server = (first, second)[i % 2]
        with server.http("customer") as client:
            body = gateway_body(server, public_ip=f"gw-ip{i}")
            r = client.put(path(server, "virtualNetworkGateways", f"gw{i}"), params={"api-version": API}, json=body)
        return r.status_code, r.json().get("error", {}).get("code")

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(put, range(6)))
    assert sorted(results, key=str).count((201, None)) == 1, results
    assert all(r == (201, None) or r == (400, "VirtualNetworkAlreadyHasExpressRouteGateway") for r in results), results
    subnet = first.network("customer").subnets.get(GROUP, "vnet1", "GatewaySubnet")
    assert len(subnet.ip_configurations) == 1
