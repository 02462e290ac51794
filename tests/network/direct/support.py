"""Helpers for the ExpressRoute Direct tests: ports and circuits on ports through the real SDK."""

from __future__ import annotations

from typing import Any

from tests.support import Server
from tests.support.network import GROUP, NETWORK, ensure_group

LOCATION = "Area51"  # the test peering location (test-locations feature Registered for the customer)


def port_body(bandwidth: int = 10, encapsulation: str = "QinQ", location: str = LOCATION, **props: Any) -> dict:
    return {
        "location": "westus",
        "properties": {
            "peeringLocation": location,
            "bandwidthInGbps": bandwidth,
            "encapsulation": encapsulation,
            **props,
        },
    }


def port_path(server: Server, name: str = "port1", group: str = GROUP, role: str = "customer") -> str:
    return f"/subscriptions/{server.subscription(role)}/resourceGroups/{group}/{NETWORK}/expressRoutePorts/{name}"


def ports(server: Server, role: str = "customer") -> Any:
    return server.network(role).express_route_ports


def create_port(server: Server, name: str = "port1", body: dict | None = None, group: str = GROUP) -> Any:
    ensure_group(server, group)
    return ports(server).begin_create_or_update(group, name, body or port_body()).result()


def enable_links(server: Server, name: str = "port1") -> Any:
    body = {
        **port_body(),
        "properties": {"links": [{"name": n, "properties": {"adminState": "Enabled"}} for n in ("link1", "link2")]},
    }
    return ports(server).begin_create_or_update(GROUP, name, body).result()


def direct_circuit_body(
    server: Server, port: str = "port1", bandwidth: float = 5, tier: str = "Premium", **props: Any
) -> dict:
    return {
        "location": "westus",
        "sku": {"name": f"{tier}_MeteredData", "tier": tier, "family": "MeteredData"},
        "properties": {"expressRoutePort": {"id": port_path(server, port)}, "bandwidthInGbps": bandwidth, **props},
    }


def create_direct_circuit(server: Server, name: str = "dc1", port: str = "port1", bandwidth: float = 5) -> Any:
    circuits = server.network("customer").express_route_circuits
    return circuits.begin_create_or_update(GROUP, name, direct_circuit_body(server, port, bandwidth)).result()
