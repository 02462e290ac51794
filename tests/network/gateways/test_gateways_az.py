"""The customer's side through the real Azure CLI: ``az network vnet create``, ``vnet subnet
create``, ``public-ip create``, ``vnet-gateway create --gateway-type ExpressRoute`` (all aaz
commands: they PUT directly), the gateway's learned and advertised routes, and ``az network
vpn-connection create --express-route-circuit2`` (which submits an ARM template deployment)."""

from __future__ import annotations

import pytest

from tests.support.azure_cli import AzureCli
from tests.support.network import GROUP, ensure_group
from tests.support.virtual_networks import circuit_with_private_peering, connect, net, path


def _customer(az: AzureCli) -> None:
    az("account", "set", "--subscription", az.server.subscription("customer"))
    ensure_group(az.server)


def test_az_vnet_public_ip_gateway_and_routes(az_admin: AzureCli) -> None:
    server = az_admin.server
    _customer(az_admin)
    g = ["-g", GROUP]
    vnet = az_admin(
        "network", "vnet", "create", *g, "-n", "vnet1", "-l", "westus", "--address-prefixes", "10.17.0.0/16",
        "--subnet-name", "default", "--subnet-prefixes", "10.17.0.0/24",
    )["newVNet"]  # fmt: skip
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.17.0.0/16"]
    assert [s["name"] for s in vnet["subnets"]] == ["default"]
    # a subnet overlapping another is refused with Azure's code, and nothing is stored
    error = az_admin.fails(
        "network", "vnet", "subnet", "create", *g, "--vnet-name", "vnet1", "-n", "GatewaySubnet",
        "--address-prefixes", "10.17.0.128/27",
    )  # fmt: skip
    assert "NetcfgSubnetRangesOverlap" in error.stderr, error.stderr
    assert [s.name for s in net(server).subnets.list(GROUP, "vnet1")] == ["default"]
    subnet = az_admin(
        "network", "vnet", "subnet", "create", *g, "--vnet-name", "vnet1", "-n", "GatewaySubnet",
        "--address-prefixes", "10.17.255.0/27",
    )  # fmt: skip
    assert subnet["addressPrefix"] == "10.17.255.0/27"

    ip = az_admin("network", "public-ip", "create", *g, "-n", "gw-ip", "-l", "westus", "--sku", "Standard")
    address = ip["publicIp"]["ipAddress"]
    assert address.startswith("203.0.113.")
    error = az_admin.fails(
        "network", "public-ip", "create", *g, "-n", "basic-ip", "-l", "westus", "--sku", "Basic",
        "--allocation-method", "Dynamic",
    )  # fmt: skip
    assert "PublicIPSkuNotSupported" in error.stderr, error.stderr

    gateway = az_admin(
        "network", "vnet-gateway", "create", *g, "-n", "gw1", "-l", "westus", "--gateway-type", "ExpressRoute",
        "--sku", "Standard", "--vnet", "vnet1", "--public-ip-address", "gw-ip",
    )["vnetGateway"]  # fmt: skip
    assert gateway["provisioningState"] == "Succeeded"
    assert gateway["bgpSettings"]["asn"] == 65515
    assert gateway["bgpSettings"]["bgpPeeringAddress"] == "10.17.255.4,10.17.255.5"
    shown = az_admin("network", "vnet-gateway", "show", *g, "-n", "gw1")
    assert shown["gatewayType"] == "ExpressRoute" and shown["sku"]["name"] == "Standard"
    # a VPN gateway is refused, naming the field
    error = az_admin.fails(
        "network", "vnet-gateway", "create", *g, "-n", "gw2", "-l", "westus", "--gateway-type", "Vpn",
        "--sku", "VpnGw1", "--vnet", "vnet1", "--public-ip-address", "gw-ip",
    )  # fmt: skip
    assert "VirtualNetworkGatewayTypeNotSupported" in error.stderr, error.stderr

    # what the gateway uses cannot be deleted
    error = az_admin.fails("network", "public-ip", "delete", *g, "-n", "gw-ip")
    assert "PublicIPAddressCannotBeDeleted" in error.stderr, error.stderr
    error = az_admin.fails("network", "vnet", "subnet", "delete", *g, "--vnet-name", "vnet1", "-n", "GatewaySubnet")
    assert "InUseSubnetCannotBeDeleted" in error.stderr, error.stderr
    assert net(server).public_ip_addresses.get(GROUP, "gw-ip").ip_address == address

    # before any connection the gateway has its own address space only
    routes = az_admin("network", "vnet-gateway", "list-learned-routes", *g, "-n", "gw1")
    assert {(r["network"], r["origin"]) for r in routes["value"]} == {("10.17.0.0/16", "Network")}

    circuit = circuit_with_private_peering(server)
    connect(server, circuit.id)  # through the SDK (vpn-connection create deploys a template)
    routes = az_admin("network", "vnet-gateway", "list-learned-routes", *g, "-n", "gw1")["value"]
    ebgp = {(r["network"], r["asPath"]) for r in routes if r["origin"] == "EBgp"}
    assert ("10.10.0.0/16", "12076 65010") in ebgp
    msee = next(r["sourcePeer"] for r in routes if r["origin"] == "EBgp")
    ads = az_admin("network", "vnet-gateway", "list-advertised-routes", *g, "-n", "gw1", "--peer", msee)["value"]
    assert {(r["network"], r["asPath"]) for r in ads} == {("10.17.0.0/16", "65515")}


def test_az_vpn_connection_create_express_route(az_admin: AzureCli) -> None:
    """``az network vpn-connection create`` submits a Microsoft.Resources/deployments template: it
    runs once the deployments engine exists on this server."""
    server = az_admin.server
    _customer(az_admin)
    with server.http("customer") as client:
        probe = client.put(
            f"/subscriptions/{server.subscription('customer')}/resourceGroups/{GROUP}/providers/"
            "Microsoft.Resources/deployments/probe",
            params={"api-version": "2022-09-01"},
            json={"properties": {"mode": "Incremental", "template": {}}},
        )
    if probe.status_code in (400, 404) and probe.json().get("error", {}).get("code") in (
        "InvalidResourceType",
        "ResourceNotFound",
        "NotFound",
        "NoRegisteredProviderFound",
    ):
        pytest.skip("ARM template deployments (Microsoft.Resources/deployments) are not served yet")
    from tests.support.virtual_networks import customer_side

    circuit = circuit_with_private_peering(server)
    customer_side(server)
    az_admin(
        "network", "vpn-connection", "create", "-g", GROUP, "-n", "conn1", "--vnet-gateway1", "gw1",
        "--express-route-circuit2", circuit.id, "-l", "westus",
    )  # fmt: skip
    got = net(server).virtual_network_gateway_connections.get(GROUP, "conn1")
    assert got.connection_status == "Connected"
    assert got.peer.id == circuit.id
    assert got.virtual_network_gateway1.id == path(server, "virtualNetworkGateways", "gw1")
