"""publicIPAddresses through the real azure-mgmt-network SDK: Standard and static only, an address
from the documentation pool given once, refused input storing nothing, delete refused while a
gateway uses the address, the address back in the pool after delete."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.network import GROUP, rejected
from tests.support.virtual_networks import create_gateway, create_public_ip, create_vnet, net, public_ip_body

POOL = ipaddress.ip_network("203.0.113.0/24")


def _put(server: Server, body: dict[str, Any], name: str = "ip1") -> Any:
    return net(server).public_ip_addresses.begin_create_or_update(GROUP, name, body).result()


def test_round_trip_and_unique_addresses(server: Server) -> None:
    first = create_public_ip(server, "ip1", {**public_ip_body(), "tags": {"role": "gateway"}})
    assert first.type == "Microsoft.Network/publicIPAddresses"
    assert first.sku.name == "Standard" and first.sku.tier == "Regional"
    assert first.public_ip_allocation_method == "Static"
    assert first.public_ip_address_version == "IPv4"
    assert first.provisioning_state == "Succeeded"
    assert first.tags == {"role": "gateway"}
    assert ipaddress.ip_address(first.ip_address) in POOL
    addresses = {first.ip_address}
    for name in ("ip2", "ip3", "ip4"):
        addresses.add(create_public_ip(server, name).ip_address)
    assert len(addresses) == 4  # never one address twice
    # an update keeps the address; the SDK sends back what it read
    again = _put(server, {**first.as_dict(), "properties": {"idleTimeoutInMinutes": 10}})
    assert again.ip_address == first.ip_address and again.idle_timeout_in_minutes == 10
    assert {p.name for p in net(server).public_ip_addresses.list(GROUP)} == {"ip1", "ip2", "ip3", "ip4"}
    assert len(list(net(server).public_ip_addresses.list_all())) == 4

    net(server).public_ip_addresses.begin_delete(GROUP, "ip1").result()
    with pytest.raises(ResourceNotFoundError):
        net(server).public_ip_addresses.get(GROUP, "ip1")
    # the address is free again: the next allocation takes it (lowest free first)
    assert create_public_ip(server, "ip5").ip_address == first.ip_address


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**public_ip_body(), "sku": {"name": "Basic"}}, "PublicIPSkuNotSupported", "sku.name"),
        ({**public_ip_body(), "sku": {"name": "Standard", "tier": "Global"}}, "PublicIPSkuTierNotSupported", "tier"),
        (public_ip_body(publicIPAllocationMethod="Dynamic"), "StandardSkuPublicIPAddressMustBeStatic", "Allocation"),
        (public_ip_body(publicIPAddressVersion="IPv6"), "PublicIPAddressVersionNotSupported", "Version"),
        (public_ip_body(idleTimeoutInMinutes=31), "PublicIPIdleTimeoutIsOutOfRange", "idleTimeoutInMinutes"),
        ({**public_ip_body(), "location": "atlantis"}, "InvalidLocation", "location"),
        ({"sku": {"name": "Standard"}, "properties": {}}, "LocationRequired", "location"),
    ],
)
def test_every_rule_refuses_and_stores_nothing(server: Server, body: dict[str, Any], code: str, field: str) -> None:
    create_public_ip(server, "ip1")
    rejected(server, lambda: _put(server, body, "ip2"), 400, code, field)
    if code != "LocationRequired":
        rejected(server, lambda: _put(server, body, "ip1"), 400, code, field)


def test_the_address_cannot_be_chosen_or_changed(server: Server) -> None:
    created = create_public_ip(server, "ip1")
    other = str(next(h for h in POOL.hosts() if str(h) != created.ip_address))
    rejected(
        server, lambda: _put(server, public_ip_body(ipAddress=other)), 400, "CannotChangePublicIPAddress", "ipAddress"
    )


def test_an_address_in_use_cannot_be_deleted(server: Server) -> None:
    create_vnet(server)
    create_public_ip(server, "gw-ip")
    gateway = create_gateway(server)
    ip = net(server).public_ip_addresses.get(GROUP, "gw-ip")
    assert ip.ip_configuration.id == gateway.ip_configurations[0].id
    rejected(
        server,
        lambda: net(server).public_ip_addresses.begin_delete(GROUP, "gw-ip").result(),
        400,
        "PublicIPAddressCannotBeDeleted",
        "gw-ip",
    )
    net(server).virtual_network_gateways.begin_delete(GROUP, "gw1").result()
    assert net(server).public_ip_addresses.get(GROUP, "gw-ip").ip_configuration is None
    net(server).public_ip_addresses.begin_delete(GROUP, "gw-ip").result()
