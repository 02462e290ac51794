"""virtualNetworks and their subnets through the real azure-mgmt-network SDK: the round trip, the
subnets as embedded and child resources, every validation rule with failing input (status, code,
the field named, nothing stored), delete refused while a gateway uses the GatewaySubnet, RBAC."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.network import API, GROUP, rejected
from tests.support.virtual_networks import (
    GATEWAY_SUBNET,
    create_gateway,
    create_public_ip,
    create_vnet,
    net,
    path,
    vnet_body,
)


def _put(server: Server, body: dict[str, Any], name: str = "vnet1") -> Any:
    return net(server).virtual_networks.begin_create_or_update(GROUP, name, body).result()


def _put_subnet(server: Server, name: str, prefix: str, vnet: str = "vnet1") -> Any:
    body = {"properties": {"addressPrefix": prefix}}
    return net(server).subnets.begin_create_or_update(GROUP, vnet, name, body).result()


def test_round_trip_with_embedded_and_child_subnets(server: Server) -> None:
    body = vnet_body(subnets=[("default", "10.17.0.0/24")])
    body["tags"] = {"env": "lab"}
    created = create_vnet(server, body=body)
    assert created.type == "Microsoft.Network/virtualNetworks"
    assert created.id == path(server, "virtualNetworks", "vnet1")
    assert created.provisioning_state == "Succeeded"
    assert created.address_space.address_prefixes == ["10.17.0.0/16"]
    assert created.tags == {"env": "lab"}
    assert [(s.name, s.address_prefix) for s in created.subnets] == [("default", "10.17.0.0/24")]
    assert created.subnets[0].id == f"{created.id}/subnets/default"

    # a subnet as a child resource: the virtual network embeds it
    gateway_subnet = _put_subnet(server, "GatewaySubnet", GATEWAY_SUBNET)
    assert gateway_subnet.type == "Microsoft.Network/virtualNetworks/subnets"
    assert gateway_subnet.provisioning_state == "Succeeded"
    got = net(server).virtual_networks.get(GROUP, "vnet1")
    assert sorted(s.name for s in got.subnets) == ["GatewaySubnet", "default"]
    assert sorted(s.name for s in net(server).subnets.list(GROUP, "vnet1")) == ["GatewaySubnet", "default"]
    assert net(server).subnets.get(GROUP, "vnet1", "default").address_prefix == "10.17.0.0/24"
    assert [v.name for v in net(server).virtual_networks.list(GROUP)] == ["vnet1"]
    assert [v.name for v in net(server).virtual_networks.list_all()] == ["vnet1"]

    # tags by PATCH
    tagged = net(server).virtual_networks.update_tags(GROUP, "vnet1", {"tags": {"env": "prod"}})
    assert tagged.tags == {"env": "prod"}

    # a PUT of the virtual network replaces its set of subnets (as Azure's does)
    again = _put(server, vnet_body(space=["10.17.0.0/16", "10.18.0.0/16"], subnets=[("app", "10.18.1.0/24")]))
    assert [s.name for s in again.subnets] == ["app"]
    assert again.address_space.address_prefixes == ["10.17.0.0/16", "10.18.0.0/16"]
    with pytest.raises(ResourceNotFoundError):
        net(server).subnets.get(GROUP, "vnet1", "default")

    net(server).subnets.begin_delete(GROUP, "vnet1", "app").result()
    assert net(server).virtual_networks.get(GROUP, "vnet1").subnets == []
    net(server).virtual_networks.begin_delete(GROUP, "vnet1").result()
    with pytest.raises(ResourceNotFoundError):
        net(server).virtual_networks.get(GROUP, "vnet1")


BAD_VNETS = [
    # (body changes, code, field named)
    ({"space": ["10.17.0.0/33"]}, "NetcfgInvalidIPAddressPrefix", "addressPrefixes[0]"),
    ({"space": ["not-a-prefix"]}, "NetcfgInvalidIPAddressPrefix", "addressPrefixes[0]"),
    ({"space": ["10.17.0.1/16"]}, "InvalidCIDRNotation", "addressPrefixes[0]"),
    ({"space": ["10.17.0.0/16", "10.17.128.0/17"]}, "VnetAddressSpacesOverlap", "addressPrefixes[1]"),
    ({"space": ["10.17.0.0/30"]}, "NetcfgInvalidIPAddressPrefix", "addressPrefixes[0]"),
    ({"space": ["fd00::/48"]}, "IPv6NotSupported", "addressPrefixes[0]"),
    ({"subnets": [("a", "10.99.0.0/24")]}, "NetcfgSubnetRangeOutsideVnet", "subnets[0].addressPrefix"),
    (
        {"subnets": [("a", "10.17.0.0/24"), ("b", "10.17.0.128/25")]},
        "NetcfgSubnetRangesOverlap",
        "subnets[1].addressPrefix",
    ),
    ({"subnets": [("a", "10.17.0.5/24")]}, "InvalidCIDRNotation", "subnets[0].addressPrefix"),
    ({"subnets": [("a", "10.17.0.0/30")]}, "NetcfgInvalidSubnet", "subnets[0].addressPrefix"),
    ({"subnets": [("a", "garbage")]}, "NetcfgInvalidSubnet", "subnets[0].addressPrefix"),
    ({"subnets": [("GatewaySubnet", "10.17.0.0/30")]}, "NetcfgInvalidSubnet", "subnets[0].addressPrefix"),
    (
        {"subnets": [("a", "10.17.0.0/24"), ("A", "10.17.1.0/24")]},
        "DuplicateResourceName",
        "subnets[1].name",
    ),
    ({"subnets": [("bad/name", "10.17.0.0/24")]}, "InvalidResourceName", "subnets[0].name"),
]


@pytest.mark.parametrize(("changes", "code", "field"), BAD_VNETS)
def test_every_rule_refuses_and_stores_nothing(server: Server, changes: dict[str, Any], code: str, field: str) -> None:
    create_vnet(server)  # an existing network: an update must leave it exactly as it was
    body = vnet_body(space=changes.get("space"), subnets=changes.get("subnets"))
    rejected(server, lambda: _put(server, body), 400, code, field)
    rejected(server, lambda: _put(server, body, name="vnet2"), 400, code, field)


def test_missing_address_space_and_location_are_refused(server: Server) -> None:
    create_vnet(server)
    rejected(
        server,
        lambda: _put(server, {"location": "westus", "properties": {}}, name="vnet2"),
        400,
        "AddressSpaceMissing",
        "addressSpace",
    )
    rejected(
        server,
        lambda: _put(server, {"location": "westus", "properties": {"addressSpace": {"addressPrefixes": []}}}),
        400,
        "AddressSpaceMissing",
        "addressSpace",
    )
    rejected(server, lambda: _put(server, {**vnet_body(), "location": "mars"}, name="vnet2"), 400, "InvalidLocation")
    rejected(server, lambda: _put(server, {**vnet_body(), "location": "eastus"}), 400, "CannotChangeLocation")
    with server.http("customer") as client:
        r = client.put(
            path(server, "virtualNetworks", "vnet2"),
            params={"api-version": API},
            json={"location": "westus", "properties": {"addressSpace": {"addressPrefixes": "10.0.0.0/16"}}},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent", r.text
    # shrinking the address space away from a subnet it holds
    rejected(
        server,
        lambda: _put(server, vnet_body(space=["10.18.0.0/16"], subnets=[("default", "10.17.0.0/24")])),
        400,
        "NetcfgSubnetRangeOutsideVnet",
        "subnets[0]",
    )


@pytest.mark.parametrize(
    ("name", "prefix", "code"),
    [
        ("other", "10.17.0.0/25", "NetcfgSubnetRangesOverlap"),
        ("other", "10.99.0.0/24", "NetcfgSubnetRangeOutsideVnet"),
        ("other", "10.17.9.1/24", "InvalidCIDRNotation"),
        ("GatewaySubnet", "10.17.9.0/30", "NetcfgInvalidSubnet"),
    ],
)
def test_subnet_child_resource_rules(server: Server, name: str, prefix: str, code: str) -> None:
    create_vnet(server, body=vnet_body(subnets=[("default", "10.17.0.0/24")]))
    rejected(server, lambda: _put_subnet(server, name, prefix), 400, code, "addressPrefix")


def test_a_subnet_of_a_missing_network_is_not_found(server: Server) -> None:
    create_vnet(server)
    rejected(server, lambda: _put_subnet(server, "x", "10.17.9.0/24", vnet="nope"), 404, "ResourceNotFound")


def test_a_gateway_subnet_in_use_cannot_be_deleted_nor_changed(server: Server) -> None:
    create_vnet(server)
    create_public_ip(server)
    gateway = create_gateway(server)
    subnet = net(server).subnets.get(GROUP, "vnet1", "GatewaySubnet")
    assert [c.id for c in subnet.ip_configurations] == [gateway.ip_configurations[0].id]
    delete_subnet = lambda: net(server).subnets.begin_delete(GROUP, "vnet1", "GatewaySubnet").result()  # noqa: E731
    rejected(server, delete_subnet, 400, "InUseSubnetCannotBeDeleted", "GatewaySubnet")
    rejected(
        server,
        lambda: net(server).virtual_networks.begin_delete(GROUP, "vnet1").result(),
        400,
        "InUseSubnetCannotBeDeleted",
        "GatewaySubnet",
    )
    # a PUT of the network without the GatewaySubnet would delete it
    rejected(
        server,
        lambda: _put(server, vnet_body(subnets=[("default", "10.17.0.0/24")])),
        400,
        "InUseSubnetCannotBeDeleted",
        "GatewaySubnet",
    )
    rejected(server, lambda: _put_subnet(server, "GatewaySubnet", "10.17.254.0/27"), 400, "InUseSubnetCannotBeUpdated")
    # a PUT that keeps it as it is succeeds and keeps the gateway's ipConfiguration
    kept = _put(server, vnet_body(subnets=[("GatewaySubnet", GATEWAY_SUBNET)]))
    assert [s.name for s in kept.subnets] == ["GatewaySubnet"]
    assert kept.subnets[0].ip_configurations[0].id == gateway.ip_configurations[0].id
    # once the gateway is gone, the subnet and the network can be deleted
    net(server).virtual_network_gateways.begin_delete(GROUP, "gw1").result()
    assert net(server).subnets.get(GROUP, "vnet1", "GatewaySubnet").ip_configurations is None
    delete_subnet()
    net(server).virtual_networks.begin_delete(GROUP, "vnet1").result()


def test_the_partner_cannot_read_or_write_the_customers_network(server: Server) -> None:
    create_vnet(server)
    partner = server.network("partner", server.subscription("customer"))
    rejected(
        server,
        lambda: partner.virtual_networks.get(GROUP, "vnet1"),
        403,
        "AuthorizationFailed",
        "Microsoft.Network/virtualNetworks/read",
    )
    rejected(
        server,
        lambda: partner.virtual_networks.begin_create_or_update(GROUP, "vnet9", vnet_body()).result(),
        403,
        "AuthorizationFailed",
        "Microsoft.Network/virtualNetworks/write",
    )
    rejected(
        server,
        lambda: partner.subnets.begin_delete(GROUP, "vnet1", "default").result(),
        403,
        "AuthorizationFailed",
        "Microsoft.Network/virtualNetworks/subnets/delete",
    )


def test_thousands_of_subnets_are_checked_and_capped(server: Server) -> None:
    """A body with Azure's maximum of 3000 subnets is checked (overlap found at the very end, nothing
    stored); one more is refused outright."""
    create_vnet(server)
    subnets = [(f"s{i}", f"10.17.{i // 32}.{(i % 32) * 8}/29") for i in range(2999)]
    clash = [*subnets, ("last", "10.17.0.0/24")]
    rejected(server, lambda: _put(server, vnet_body(subnets=clash)), 400, "NetcfgSubnetRangesOverlap", "subnets[2999]")
    too_many = [*subnets, ("a", "10.17.200.0/29"), ("b", "10.17.200.8/29")]
    rejected(server, lambda: _put(server, vnet_body(subnets=too_many)), 400, "SubnetsLimitReached", "subnets")
