"""Circuits on an ExpressRoute Direct port through the real SDK: what they show, the port's
bandwidth accounting (2 x the port), s-tags (QinQ) or none (Dot1Q), authorizations redeemed by a
circuit in another subscription, every rule with failing input (nothing stored), and the
device layer: a Direct circuit's private peering gets ARP, BGP and route tables, carried only
while the port's links are admin Enabled."""

from __future__ import annotations

from typing import Any

from tests.network.direct.support import (
    create_direct_circuit,
    create_port,
    direct_circuit_body,
    enable_links,
    port_body,
    port_path,
    ports,
)
from tests.support import Server
from tests.support.network import (
    GROUP,
    PRIVATE,
    circuit_body,
    circuit_peering,
    create_circuit,
    ensure_group,
    rejected,
)


def _circuits(server: Server, role: str = "customer", subscription: str | None = None) -> Any:
    return server.network(role, subscription).express_route_circuits


def _put(server: Server, body: dict, name: str = "dc1") -> Any:
    return lambda: _circuits(server).begin_create_or_update(GROUP, name, body).result()


def test_circuit_on_a_port_round_trip(server: Server) -> None:
    create_port(server)
    created = create_direct_circuit(server, bandwidth=5)
    assert created.provisioning_state == "Succeeded"
    assert created.express_route_port.id == port_path(server)
    assert created.bandwidth_in_gbps == 5
    assert created.service_provider_properties is None
    assert created.service_provider_provisioning_state == "Provisioned"
    assert created.circuit_provisioning_state == "Enabled"
    assert created.service_key
    assert created.stag >= 2  # QinQ: an s-tag of the port's pair
    assert created.enable_direct_port_rate_limit is False
    assert created.sku.tier == "Premium"
    assert _circuits(server).get(GROUP, "dc1").as_dict() == created.as_dict()

    # no cross connection appears for the partner: the port is the customer's own
    partner = server.network("partner").express_route_cross_connections
    assert created.service_key not in [x.name for x in partner.list()]

    # a second circuit gets another s-tag; the port counts both
    second = create_direct_circuit(server, "dc2", bandwidth=10)
    assert second.stag != created.stag
    port = ports(server).get(GROUP, "port1")
    assert port.provisioned_bandwidth_in_gbps == 15
    assert sorted(c.id for c in port.circuits) == sorted([created.id, second.id])

    # the SDK's read-modify-write round trip, with a bandwidth increase
    created.bandwidth_in_gbps = 10
    created.enable_direct_port_rate_limit = True
    updated = _circuits(server).begin_create_or_update(GROUP, "dc1", created).result()
    assert updated.bandwidth_in_gbps == 10 and updated.enable_direct_port_rate_limit is True
    assert updated.stag == created.stag and updated.service_key == created.service_key
    assert ports(server).get(GROUP, "port1").provisioned_bandwidth_in_gbps == 20

    # deleting a circuit (no provider to deprovision it first) gives its bandwidth back
    _circuits(server).begin_delete(GROUP, "dc2").result()
    port = ports(server).get(GROUP, "port1")
    assert port.provisioned_bandwidth_in_gbps == 10 and [c.id for c in port.circuits] == [created.id]


def test_dot1q_port_circuits_have_no_stag_and_share_the_vlans(server: Server) -> None:
    create_port(server, body=port_body(100, "Dot1Q"))
    circuit = create_direct_circuit(server, bandwidth=40)
    assert circuit.stag == 0
    create_direct_circuit(server, "dc2", bandwidth=5)
    circuit_peering(server, "AzurePrivatePeering", PRIVATE, circuit="dc1")
    # one tag only on a Dot1Q port: dc2 cannot use dc1's VLAN, on any peering
    other_subnets = {"primaryPeerAddressPrefix": "192.168.200.0/30", "secondaryPeerAddressPrefix": "192.168.200.4/30"}
    rejected(
        server,
        lambda: circuit_peering(server, "AzurePrivatePeering", {**PRIVATE, **other_subnets}, circuit="dc2"),
        400,
        "VlanIdInUse",
        "properties.vlanId",
    )
    assert circuit_peering(server, "AzurePrivatePeering", {**PRIVATE, **other_subnets, "vlanId": 101}, circuit="dc2")
    # dc1 may rewrite its own peering with its VLAN
    assert (
        circuit_peering(server, "AzurePrivatePeering", {**PRIVATE, "peerASN": 65011}, circuit="dc1").peer_asn == 65011
    )


def test_qinq_port_circuits_may_reuse_a_vlan(server: Server) -> None:
    create_port(server)
    create_direct_circuit(server, "dc1")
    create_direct_circuit(server, "dc2")
    circuit_peering(server, "AzurePrivatePeering", PRIVATE, circuit="dc1")
    assert circuit_peering(server, "AzurePrivatePeering", PRIVATE, circuit="dc2").vlan_id == PRIVATE["vlanId"]


def test_bandwidth_is_twice_the_port(server: Server) -> None:
    create_port(server)  # 10 Gbps: circuits up to 20 Gbps together
    create_direct_circuit(server, "dc1", bandwidth=10)
    create_direct_circuit(server, "dc2", bandwidth=5)
    create_direct_circuit(server, "dc3", bandwidth=5)
    rejected(
        server,
        _put(server, direct_circuit_body(server, bandwidth=1), "dc4"),
        400,
        "ExpressRoutePortCapacityExhausted",
        "properties.bandwidthInGbps",
    )
    dc3 = _circuits(server).get(GROUP, "dc3")
    dc3.bandwidth_in_gbps = 10
    rejected(
        server,
        lambda: _circuits(server).begin_create_or_update(GROUP, "dc3", dc3).result(),
        400,
        "ExpressRoutePortCapacityExhausted",
        "properties.bandwidthInGbps",
    )


def test_circuit_on_port_rules(server: Server) -> None:
    create_port(server)
    ensure_group(server)
    other_sub = f"/subscriptions/{server.subscription('partner')}/resourceGroups/x/providers/Microsoft.Network"
    for body, code, field in [
        (direct_circuit_body(server, bandwidth=3), "InvalidBandwidth", "properties.bandwidthInGbps"),
        (direct_circuit_body(server, bandwidth=40), "InvalidBandwidth", "properties.bandwidthInGbps"),
        (
            {**direct_circuit_body(server), "properties": {"expressRoutePort": {"id": port_path(server)}}},
            "MissingBandwidth",
            "properties.bandwidthInGbps",
        ),
        (direct_circuit_body(server, port="nope"), "ExpressRoutePortNotFound", "properties.expressRoutePort.id"),
        (
            {**direct_circuit_body(server), "properties": {"expressRoutePort": {"id": "port1"}, "bandwidthInGbps": 5}},
            "InvalidExpressRoutePortId",
            "properties.expressRoutePort.id",
        ),
        (
            {**direct_circuit_body(server), "properties": {"expressRoutePort": {}, "bandwidthInGbps": 5}},
            "InvalidExpressRoutePortId",
            "properties.expressRoutePort.id",
        ),
        (
            {
                **direct_circuit_body(server),
                "properties": {
                    "expressRoutePort": {"id": f"{other_sub}/expressRoutePorts/port1"},
                    "bandwidthInGbps": 5,
                },
            },
            "ExpressRoutePortNotFound",
            "properties.expressRoutePort.id",
        ),
        (
            direct_circuit_body(server, serviceProviderProperties={"serviceProviderName": "Ibiza Test Provider"}),
            "ServiceProviderPropertiesNotAllowed",
            "properties.serviceProviderProperties",
        ),
        (direct_circuit_body(server, tier="Basic"), "InvalidSkuTier", "sku.tier"),
        (
            direct_circuit_body(server, authorizationKey="b0be57f5-1fba-463b-adec-ffe767354cdd"),
            "InvalidAuthorizationKey",
            "properties.authorizationKey",
        ),
        (direct_circuit_body(server, bandwidthInGbps="5"), "InvalidRequestContent", "properties.bandwidthInGbps"),
    ]:
        rejected(server, _put(server, body), 400, code, field)

    # updates
    circuit = create_direct_circuit(server, bandwidth=5)
    create_port(server, "port2")
    for body, code, field in [
        (direct_circuit_body(server, bandwidth=2), "CannotDecreaseBandwidth", "properties.bandwidthInGbps"),
        (direct_circuit_body(server, port="port2"), "CannotChangeExpressRoutePort", "expressRoutePort"),
        (
            direct_circuit_body(server, authorizationKey="b0be57f5-1fba-463b-adec-ffe767354cdd"),
            "CannotChangeAuthorizationKey",
            "properties.authorizationKey",
        ),
        (circuit_body(), "ServiceProviderPropertiesNotAllowed", "properties.serviceProviderProperties"),
    ]:
        rejected(server, _put(server, body), 400, code, field)
    assert _circuits(server).get(GROUP, "dc1").as_dict() == circuit.as_dict()

    # a provider's circuit cannot move onto a port
    create_circuit(server, "er1")
    rejected(
        server,
        _put(server, direct_circuit_body(server), "er1"),
        400,
        "CannotChangeExpressRoutePort",
        "expressRoutePort",
    )


def test_authorization_redeemed_by_a_circuit_in_another_subscription(server: Server) -> None:
    create_port(server)
    auths = server.network("customer").express_route_port_authorizations
    key = auths.begin_create_or_update(GROUP, "port1", "auth1", {}).result().authorization_key
    other = server.subscription("partner")
    server.resources("admin", other).resource_groups.create_or_update("direct-rg", {"location": "westus"})
    circuits = _circuits(server, "admin", other)

    def put(body: dict) -> Any:
        return lambda: circuits.begin_create_or_update("direct-rg", "dcx", body).result()

    # without the key the port answers as if it did not exist
    rejected(server, put(direct_circuit_body(server)), 400, "ExpressRoutePortNotFound", "expressRoutePort")
    rejected(
        server,
        put(direct_circuit_body(server, authorizationKey="00000000-0000-0000-0000-000000000000")),
        400,
        "InvalidAuthorizationKey",
        "authorizationKey",
    )
    created = circuits.begin_create_or_update("direct-rg", "dcx", direct_circuit_body(server, authorizationKey=key))
    circuit = created.result()
    assert circuit.authorization_key == key and circuit.authorization_status == "Enabled"
    auth = auths.get(GROUP, "port1", "auth1")
    assert auth.authorization_use_status == "InUse" and auth.circuit_resource_uri == circuit.id
    assert [c.id for c in ports(server).get(GROUP, "port1").circuits] == [circuit.id]

    # a used key is used; the authorization cannot be deleted while in use
    rejected(
        server,
        lambda: circuits.begin_create_or_update(
            "direct-rg", "dcy", direct_circuit_body(server, authorizationKey=key)
        ).result(),
        400,
        "AuthorizationKeyAlreadyUsed",
        "authorizationKey",
    )
    rejected(
        server,
        lambda: auths.begin_delete(GROUP, "port1", "auth1").result(),
        400,
        "ExpressRoutePortAuthorizationInUse",
        "authorizationUseStatus",
    )
    # the round trip keeps the key
    assert circuits.begin_create_or_update("direct-rg", "dcx", circuit).result().authorization_key == key

    circuits.begin_delete("direct-rg", "dcx").result()
    auth = auths.get(GROUP, "port1", "auth1")
    assert auth.authorization_use_status == "Available" and auth.circuit_resource_uri is None


def _arp(server: Server, link: str = "primary") -> list[tuple[str, str, str]]:
    result = _circuits(server).begin_list_arp_table(GROUP, "dc1", "AzurePrivatePeering", link).result()
    return [(e.interface, e.ip_address, e.mac_address) for e in result.value]


def _summary(server: Server, link: str = "primary") -> list[tuple[str, int, str]]:
    result = _circuits(server).begin_list_routes_table_summary(GROUP, "dc1", "AzurePrivatePeering", link).result()
    return [(r.neighbor, r.as_property, r.state_pfx_rcd) for r in result.value]


def test_troubleshooting_a_direct_circuits_private_peering(server: Server) -> None:
    create_port(server)
    create_direct_circuit(server)
    peering = circuit_peering(server, "AzurePrivatePeering", PRIVATE, circuit="dc1")
    assert peering.provisioning_state == "Succeeded"

    # the port's links are admin Disabled when the port is new: nothing on the wire
    assert _arp(server) == []
    assert _summary(server) == [("192.168.100.129", 65010, "Idle")]

    enable_links(server)
    arp = _arp(server)
    assert arp[0][:2] == ("On-Prem", "192.168.100.129") and arp[0][2] != "Incomplete"
    assert arp[1][:2] == ("Microsoft", "192.168.100.130")
    assert _summary(server) == [("192.168.100.129", 65010, "3")]
    assert _summary(server, "secondary") == [("192.168.100.133", 65010, "3")]
    routes = _circuits(server).begin_list_routes_table(GROUP, "dc1", "AzurePrivatePeering", "primary").result()
    assert "10.10.0.0/16" in [r.network for r in routes.value]

    # the operator's port fault, named by the link's interface, takes that link down
    interface = ports(server).get(GROUP, "port1").links[0].interface_name
    assert server.operator("POST", "/faults/ports", {"name": interface}).status_code == 200
    assert _arp(server) == [] and _summary(server, "secondary") == [("192.168.100.133", 65010, "3")]
    server.operator("DELETE", "/faults")
    assert _summary(server) == [("192.168.100.129", 65010, "3")]

    # disabling link2 takes the secondary path down only
    port = ports(server).get(GROUP, "port1")
    port.links[1].admin_state = "Disabled"
    ports(server).begin_create_or_update(GROUP, "port1", port).result()
    assert _summary(server, "secondary") == [("192.168.100.133", 65010, "Idle")]
    assert _summary(server, "primary") == [("192.168.100.129", 65010, "3")]
