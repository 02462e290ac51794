"""Helpers for the customer's virtual-network side: virtual networks, public IPs, ExpressRoute
gateways and connections through the real azure-mgmt-network SDK (dict bodies sent verbatim)."""

from __future__ import annotations

from typing import Any

from tests.support import Server
from tests.support.network import (
    GROUP,
    NETWORK,
    PRIVATE,
    circuit_peering,
    ensure_group,
    provisioned_circuit,
)

PP = "AzurePrivatePeering"
VNET_SPACE = "10.17.0.0/16"
GATEWAY_SUBNET = "10.17.255.0/27"


def net(server: Server, role: str = "customer") -> Any:
    return server.network(role)


def path(server: Server, kind: str, name: str, group: str = GROUP, role: str = "customer") -> str:
    return f"/subscriptions/{server.subscription(role)}/resourceGroups/{group}/{NETWORK}/{kind}/{name}"


def vnet_body(
    space: list[str] | None = None, subnets: list[tuple[str, str]] | None = None, location: str = "westus"
) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "addressSpace": {"addressPrefixes": space or [VNET_SPACE]},
            "subnets": [{"name": n, "properties": {"addressPrefix": p}} for n, p in (subnets or [])],
        },
    }


def create_vnet(server: Server, name: str = "vnet1", body: dict[str, Any] | None = None) -> Any:
    ensure_group(server)
    default = vnet_body(subnets=[("default", "10.17.0.0/24"), ("GatewaySubnet", GATEWAY_SUBNET)])
    return net(server).virtual_networks.begin_create_or_update(GROUP, name, body or default).result()


def public_ip_body(location: str = "westus", **props: Any) -> dict[str, Any]:
    return {
        "location": location,
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": "Static", **props},
    }


def create_public_ip(server: Server, name: str = "gw-ip", body: dict[str, Any] | None = None) -> Any:
    ensure_group(server)
    return net(server).public_ip_addresses.begin_create_or_update(GROUP, name, body or public_ip_body()).result()


def gateway_body(
    server: Server, vnet: str = "vnet1", public_ip: str = "gw-ip", sku: str = "Standard"
) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {
            "gatewayType": "ExpressRoute",
            "sku": {"name": sku, "tier": sku},
            "ipConfigurations": [
                {
                    "name": "default",
                    "properties": {
                        "privateIPAllocationMethod": "Dynamic",
                        "subnet": {"id": f"{path(server, 'virtualNetworks', vnet)}/subnets/GatewaySubnet"},
                        "publicIPAddress": {"id": path(server, "publicIPAddresses", public_ip)},
                    },
                }
            ],
        },
    }


def create_gateway(server: Server, name: str = "gw1", body: dict[str, Any] | None = None) -> Any:
    return (
        net(server).virtual_network_gateways.begin_create_or_update(GROUP, name, body or gateway_body(server)).result()
    )


def customer_side(server: Server) -> Any:
    """vnet1 (10.17.0.0/16 with GatewaySubnet 10.17.255.0/27), gw-ip, and the gateway gw1."""
    create_vnet(server)
    create_public_ip(server)
    return create_gateway(server)


def connection_body(
    server: Server, circuit_id: str, gateway: str = "gw1", weight: int = 0, **props: Any
) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": path(server, "virtualNetworkGateways", gateway)},
            "peer": {"id": circuit_id},
            "routingWeight": weight,
            **props,
        },
    }


def connect(server: Server, circuit_id: str, name: str = "conn1", **props: Any) -> Any:
    ops = net(server).virtual_network_gateway_connections
    return ops.begin_create_or_update(GROUP, name, connection_body(server, circuit_id, **props)).result()


def circuit_with_private_peering(server: Server, name: str = "er1") -> Any:
    """A circuit the partner has provisioned, with Azure private peering (AS 65010)."""
    circuit, _xc = provisioned_circuit(server, name)
    circuit_peering(server, PP, PRIVATE, circuit=name)
    return circuit


def learned(server: Server, gateway: str = "gw1") -> list[Any]:
    return list(net(server).virtual_network_gateways.begin_get_learned_routes(GROUP, gateway).result().value)


def advertised(server: Server, peer: str, gateway: str = "gw1") -> list[Any]:
    ops = net(server).virtual_network_gateways
    return list(ops.begin_get_advertised_routes(GROUP, gateway, peer=peer).result().value)
