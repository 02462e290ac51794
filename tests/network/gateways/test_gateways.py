"""ExpressRoute virtualNetworkGateways through the real azure-mgmt-network SDK: a long-running
create that honours --operation-delay, bgpSettings from the GatewaySubnet, every rule with failing
input (status, code, the field named, nothing stored), RBAC."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.network import API, GROUP, rejected
from tests.support.platform import ServerFactory, dedicated_servers, wait_until
from tests.support.virtual_networks import (
    create_public_ip,
    create_vnet,
    customer_side,
    gateway_body,
    net,
    path,
    public_ip_body,
    vnet_body,
)


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def _put(server: Server, body: dict[str, Any], name: str = "gw1") -> Any:
    return net(server).virtual_network_gateways.begin_create_or_update(GROUP, name, body).result()


def test_round_trip_bgp_settings_from_the_gateway_subnet(server: Server) -> None:
    gateway = customer_side(server)
    assert gateway.type == "Microsoft.Network/virtualNetworkGateways"
    assert gateway.provisioning_state == "Succeeded"
    assert gateway.gateway_type == "ExpressRoute"
    assert gateway.sku.name == "Standard" and gateway.sku.tier == "Standard"
    assert gateway.bgp_settings.asn == 65515
    # the GatewaySubnet is 10.17.255.0/27: the two instances take .4 and .5
    assert gateway.bgp_settings.bgp_peering_address == "10.17.255.4,10.17.255.5"
    peering_addresses = gateway.bgp_settings.bgp_peering_addresses
    assert peering_addresses[0].default_bgp_ip_addresses == ["10.17.255.4", "10.17.255.5"]
    config = gateway.ip_configurations[0]
    assert config.id == f"{gateway.id}/ipConfigurations/default"
    assert peering_addresses[0].ipconfiguration_id == config.id
    assert config.subnet.id == f"{path(server, 'virtualNetworks', 'vnet1')}/subnets/GatewaySubnet"
    assert config.public_ip_address.id == path(server, "publicIPAddresses", "gw-ip")
    assert [g.name for g in net(server).virtual_network_gateways.list(GROUP)] == ["gw1"]
    # the SKU can change; the SDK sends back what it read
    gateway.sku.name = gateway.sku.tier = "HighPerformance"
    resized = net(server).virtual_network_gateways.begin_create_or_update(GROUP, "gw1", gateway).result()
    assert resized.sku.name == "HighPerformance"
    assert resized.bgp_settings.bgp_peering_address == "10.17.255.4,10.17.255.5"
    net(server).virtual_network_gateways.begin_delete(GROUP, "gw1").result()
    with pytest.raises(ResourceNotFoundError):
        net(server).virtual_network_gateways.get(GROUP, "gw1")


def test_create_is_long_running_with_operation_delay(servers: ServerFactory) -> None:
    server = servers.start("--operation-delay", "2")
    create_vnet(server)
    create_public_ip(server)
    with server.http("customer") as client:
        r = client.put(
            path(server, "virtualNetworkGateways", "gw1"), params={"api-version": API}, json=gateway_body(server)
        )
        assert r.status_code == 201, r.text
        assert r.json()["properties"]["provisioningState"] == "Updating"
        assert "azure-asyncoperation" in r.headers and int(r.headers["retry-after"]) >= 1
        status_url = r.headers["azure-asyncoperation"]
        got = client.get(path(server, "virtualNetworkGateways", "gw1"), params={"api-version": API})
        assert got.json()["properties"]["provisioningState"] == "Updating"
        # another write meanwhile: Azure's 409 naming the running operation
        again = client.put(
            path(server, "virtualNetworkGateways", "gw1"), params={"api-version": API}, json=gateway_body(server)
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "AnotherOperationInProgress"
        assert wait_until(lambda: client.get(status_url).json()["status"] == "Succeeded", timeout=30)
    assert net(server).virtual_network_gateways.get(GROUP, "gw1").provisioning_state == "Succeeded"
    # the SDK's poller follows a later operation (a resize) to its end
    body = {**gateway_body(server), "properties": {**gateway_body(server)["properties"], "sku": {"name": "ErGw1AZ"}}}
    poller = net(server).virtual_network_gateways.begin_create_or_update(GROUP, "gw1", body)
    assert poller.result(timeout=30).sku.name == "ErGw1AZ"


def _body_with(server: Server, change: Any) -> dict[str, Any]:
    body = copy.deepcopy(gateway_body(server))
    change(body["properties"])
    return body


def _set(key: str, value: Any) -> Any:
    return lambda p: p.__setitem__(key, value)


def _config(key: str, value: Any) -> Any:
    return lambda p: p["ipConfigurations"][0]["properties"].__setitem__(key, value)


RULES = [
    (_set("gatewayType", "Vpn"), "VirtualNetworkGatewayTypeNotSupported", "gatewayType"),
    (lambda p: p.pop("gatewayType"), "GatewayTypeRequired", "gatewayType"),
    (_set("sku", {"name": "Basic", "tier": "Basic"}), "InvalidGatewaySku", "sku.name"),
    (_set("sku", {"name": "ErGw1AZ", "tier": "Standard"}), "InvalidGatewaySku", "sku.tier"),
    (lambda p: p.pop("sku"), "GatewaySkuRequired", "sku.name"),
    (_set("bgpSettings", {"asn": 65001}), "InvalidBgpAsnForExpressRouteGateway", "bgpSettings.asn"),
    (_set("activeActive", True), "ActiveActiveNotSupportedForExpressRouteGateway", "activeActive"),
    (lambda p: p["ipConfigurations"].append(p["ipConfigurations"][0]), "InvalidIpConfigurationCount", "ipConfig"),
    (_set("ipConfigurations", []), "InvalidIpConfigurationCount", "ipConfigurations"),
    (_config("subnet", {"id": "/subscriptions/x/nope"}), "InvalidGatewaySubnetReference", "subnet.id"),
    (
        lambda p: p["ipConfigurations"][0]["properties"]["subnet"].__setitem__(
            "id", p["ipConfigurations"][0]["properties"]["subnet"]["id"].replace("GatewaySubnet", "default")
        ),
        "GatewaySubnetRequired",
        "subnet.id",
    ),
    (
        lambda p: p["ipConfigurations"][0]["properties"]["subnet"].__setitem__(
            "id", p["ipConfigurations"][0]["properties"]["subnet"]["id"].replace("vnet1", "vnet9")
        ),
        "InvalidResourceReference",
        "subnet.id",
    ),
    (_config("publicIPAddress", None), "PublicIpAddressRequired", "publicIPAddress.id"),
    (_config("publicIPAddress", {"id": "/subscriptions/x/y"}), "InvalidPublicIpAddressReference", "publicIPAddress"),
    (
        lambda p: p["ipConfigurations"][0]["properties"]["publicIPAddress"].__setitem__(
            "id", p["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"] + "-missing"
        ),
        "InvalidResourceReference",
        "publicIPAddress.id",
    ),
]


@pytest.mark.parametrize(("change", "code", "field"), RULES)
def test_every_rule_refuses_and_stores_nothing(server: Server, change: Any, code: str, field: str) -> None:
    create_vnet(server)
    create_public_ip(server)
    rejected(server, lambda: _put(server, _body_with(server, change)), 400, code, field)


def test_location_must_match_the_virtual_network(server: Server) -> None:
    create_vnet(server)
    create_public_ip(server)
    body = {**gateway_body(server), "location": "eastus"}
    rejected(server, lambda: _put(server, body), 400, "InvalidResourceLocation", "location")


def test_one_gateway_per_network_and_per_public_ip(server: Server) -> None:
    customer_side(server)
    create_public_ip(server, "gw-ip2")
    # a second gateway in the same GatewaySubnet
    rejected(
        server,
        lambda: _put(server, gateway_body(server, public_ip="gw-ip2"), "gw2"),
        400,
        "VirtualNetworkAlreadyHasExpressRouteGateway",
        "subnet.id",
    )
    # a second network whose gateway would take the first one's public IP
    create_vnet(server, "vnet2", vnet_body(space=["10.18.0.0/16"], subnets=[("GatewaySubnet", "10.18.255.0/27")]))
    rejected(
        server,
        lambda: _put(server, gateway_body(server, vnet="vnet2", public_ip="gw-ip"), "gw2"),
        400,
        "PublicIPAddressInUse",
        "publicIPAddress.id",
    )
    second = _put(server, gateway_body(server, vnet="vnet2", public_ip="gw-ip2"), "gw2")
    assert second.bgp_settings.bgp_peering_address == "10.18.255.4,10.18.255.5"
    # the ipConfiguration of an existing gateway cannot move
    rejected(
        server,
        lambda: _put(server, gateway_body(server, vnet="vnet2", public_ip="gw-ip2")),
        400,
        "CannotChangeGatewayIpConfiguration",
        "ipConfigurations",
    )


def test_a_public_ip_elsewhere_is_refused(server: Server) -> None:
    create_vnet(server)
    create_public_ip(server, "far-ip", public_ip_body(location="eastus"))
    rejected(
        server,
        lambda: _put(server, gateway_body(server, public_ip="far-ip")),
        400,
        "InvalidResourceLocation",
        "publicIPAddress.id",
    )


def test_the_partner_cannot_see_the_customers_gateway(server: Server) -> None:
    customer_side(server)
    partner = server.network("partner", server.subscription("customer")).virtual_network_gateways
    rejected(server, lambda: partner.get(GROUP, "gw1"), 403, "AuthorizationFailed", "virtualNetworkGateways/read")
    rejected(
        server,
        lambda: partner.begin_get_learned_routes(GROUP, "gw1").result(),
        403,
        "AuthorizationFailed",
        "Microsoft.Network/virtualNetworkGateways/getLearnedRoutes/action",
    )


def test_resources_of_another_subscription_look_missing(server: Server) -> None:
    """A gateway references its own subscription's network and public IP only; one elsewhere is
    answered as a missing one is, so the caller learns nothing about it."""
    other = server.subscription("partner")
    server.resources("admin", other).resource_groups.create_or_update("remote-rg", {"location": "westus"})
    remote = server.network("admin", other)
    remote.virtual_networks.begin_create_or_update(
        "remote-rg", "vnet1", vnet_body(subnets=[("GatewaySubnet", "10.17.255.0/27")])
    ).result()
    remote.public_ip_addresses.begin_create_or_update("remote-rg", "gw-ip", public_ip_body()).result()
    create_vnet(server)
    create_public_ip(server)
    remote_vnet = f"/subscriptions/{other}/resourceGroups/remote-rg/providers/Microsoft.Network/virtualNetworks/vnet1"
    remote_ip = f"/subscriptions/{other}/resourceGroups/remote-rg/providers/Microsoft.Network/publicIPAddresses/gw-ip"
    for change, field in (
        (_config("subnet", {"id": f"{remote_vnet}/subnets/GatewaySubnet"}), "subnet.id"),
        (_config("publicIPAddress", {"id": remote_ip}), "publicIPAddress.id"),
    ):
        error = rejected(
            server, lambda c=change: _put(server, _body_with(server, c)), 400, "InvalidResourceReference", field
        )
        assert "was not found in the gateway's subscription" in error["message"]


def test_route_posts_refuse_a_missing_peer_or_gateway(server: Server) -> None:
    customer_side(server)
    gateway = path(server, "virtualNetworkGateways", "gw1")

    def post(url: str, **params: str) -> Any:
        with server.http("customer") as client:
            return client.post(url, params={"api-version": API, **params})

    rejected(server, lambda: post(f"{gateway}/getAdvertisedRoutes"), 400, "MissingPeer", "peer")
    rejected(server, lambda: post(f"{gateway}/getAdvertisedRoutes", peer=" "), 400, "MissingPeer", "peer")
    missing = path(server, "virtualNetworkGateways", "nope")
    rejected(server, lambda: post(f"{missing}/getLearnedRoutes"), 404, "ResourceNotFound", "nope")
    # an address the gateway has no session with: nothing advertised to it
    assert (
        list(
            net(server)
            .virtual_network_gateways.begin_get_advertised_routes(GROUP, "gw1", peer="192.0.2.1")
            .result()
            .value
        )
        == []
    )


def test_a_gateway_subnet_being_deleted_cannot_take_a_gateway(server: Server) -> None:
    create_vnet(server)
    create_public_ip(server)
    subnet = f"{path(server, 'virtualNetworks', 'vnet1')}/subnets/GatewaySubnet"
    assert server.operator("POST", "/faults-latency", {"resourceId": subnet, "seconds": 120}).status_code == 200
    net(server).subnets.begin_delete(GROUP, "vnet1", "GatewaySubnet")  # still running
    assert net(server).subnets.get(GROUP, "vnet1", "GatewaySubnet").provisioning_state == "Deleting"
    with server.http("customer") as client:
        r = client.put(
            path(server, "virtualNetworkGateways", "gw1"), params={"api-version": API}, json=gateway_body(server)
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidResourceReference", r.text
    with pytest.raises(ResourceNotFoundError):
        net(server).virtual_network_gateways.get(GROUP, "gw1")
    assert server.operator("POST", "/faults-latency", {"resourceId": subnet, "seconds": 0}).status_code == 200
