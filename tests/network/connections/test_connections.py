"""ExpressRoute connections (Microsoft.Network/connections) through the real azure-mgmt-network SDK:
the round trip, every rule with failing input (status, code, the field named, nothing stored),
redeeming a circuit authorization across subscriptions, and the gateway kept while connected."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support import Server
from tests.support.network import (
    GROUP,
    PRIVATE,
    circuit_body,
    circuit_peering,
    create_circuit,
    find_cross_connection,
    rejected,
    set_provider_state,
)
from tests.support.virtual_networks import (
    PP,
    circuit_with_private_peering,
    connect,
    connection_body,
    create_gateway,
    create_public_ip,
    create_vnet,
    customer_side,
    net,
    path,
)


def _ops(server: Server, role: str = "customer") -> Any:
    return server.network(role, server.subscription("customer")).virtual_network_gateway_connections


def _put(server: Server, body: dict[str, Any], name: str = "conn1") -> Any:
    return _ops(server).begin_create_or_update(GROUP, name, body).result()


def test_round_trip(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    created = connect(server, circuit.id, weight=10, tags={"x": "y"})
    created = connect(server, circuit.id, weight=10)
    assert created.type == "Microsoft.Network/connections"
    assert created.id == path(server, "connections", "conn1")
    assert created.connection_type == "ExpressRoute"
    assert created.provisioning_state == "Succeeded"
    assert created.connection_status == "Connected"
    assert created.routing_weight == 10
    assert created.peer.id == circuit.id
    assert created.virtual_network_gateway1.id == path(server, "virtualNetworkGateways", "gw1")
    assert _ops(server).get(GROUP, "conn1").as_dict() == created.as_dict()
    assert [c.name for c in _ops(server).list(GROUP)] == ["conn1"]
    # the routing weight can change; the gateway and the circuit cannot
    changed = _put(server, connection_body(server, circuit.id, weight=100))
    assert changed.routing_weight == 100
    other = create_circuit(server, "er2")
    rejected(
        server,
        lambda: _put(server, connection_body(server, other.id)),
        400,
        "CannotChangeConnectionEndpoints",
        "peer.id",
    )
    # the gateway cannot be deleted while connected
    rejected(
        server,
        lambda: net(server).virtual_network_gateways.begin_delete(GROUP, "gw1").result(),
        400,
        "InUseVirtualNetworkGatewayCannotBeDeleted",
        "conn1",
    )
    # the status follows the circuit: a disabled private peering disconnects it
    circuit_peering(server, PP, {**PRIVATE, "state": "Disabled"})
    assert _ops(server).get(GROUP, "conn1").connection_status == "NotConnected"
    circuit_peering(server, PP, {**PRIVATE, "state": "Enabled"})
    assert _ops(server).get(GROUP, "conn1").connection_status == "Connected"
    _ops(server).begin_delete(GROUP, "conn1").result()
    with pytest.raises(ResourceNotFoundError):
        _ops(server).get(GROUP, "conn1")
    net(server).virtual_network_gateways.begin_delete(GROUP, "gw1").result()


def _with(server: Server, circuit_id: str, change: Any) -> dict[str, Any]:
    body = copy.deepcopy(connection_body(server, circuit_id))
    change(body["properties"])
    return body


def _set(key: str, value: Any) -> Any:
    return lambda p: p.__setitem__(key, value)


RULES = [
    (_set("connectionType", "IPsec"), "ConnectionTypeNotSupported", "connectionType"),
    (lambda p: p.pop("connectionType"), "ConnectionTypeRequired", "connectionType"),
    (_set("virtualNetworkGateway2", {"id": "/x"}), "InvalidExpressRouteConnection", "virtualNetworkGateway2"),
    (_set("virtualNetworkGateway1", {"id": "/subscriptions/x"}), "InvalidVirtualNetworkGatewayReference", "Gateway1"),
    (lambda p: p.pop("virtualNetworkGateway1"), "InvalidVirtualNetworkGatewayReference", "virtualNetworkGateway1"),
    (
        lambda p: p["virtualNetworkGateway1"].__setitem__("id", p["virtualNetworkGateway1"]["id"] + "x"),
        "InvalidResourceReference",
        "virtualNetworkGateway1",
    ),  # fmt: skip
    (_set("peer", {"id": "/subscriptions/x/circuits/y"}), "InvalidExpressRouteCircuitReference", "peer.id"),
    (lambda p: p.pop("peer"), "InvalidExpressRouteCircuitReference", "peer.id"),
    (lambda p: p["peer"].__setitem__("id", p["peer"]["id"] + "x"), "ExpressRouteCircuitNotFound", "peer.id"),
    (_set("routingWeight", 32001), "InvalidRoutingWeight", "routingWeight"),
    (_set("routingWeight", -1), "InvalidRoutingWeight", "routingWeight"),
    (_set("authorizationKey", "00000000-0000-0000-0000-000000000000"), "InvalidAuthorizationKey", "authorizationKey"),
]


@pytest.mark.parametrize(("change", "code", "field"), RULES)
def test_every_rule_refuses_and_stores_nothing(server: Server, change: Any, code: str, field: str) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    rejected(server, lambda: _put(server, _with(server, circuit.id, change)), 400, code, field)


def test_the_circuit_must_be_provisioned_with_private_peering(server: Server) -> None:
    customer_side(server)
    circuit = create_circuit(server, "er1")
    rejected(server, lambda: connect(server, circuit.id), 400, "CircuitNotProvisioned", "peer.id")
    set_provider_state(server, find_cross_connection(server, circuit.service_key), "Provisioned")
    rejected(server, lambda: connect(server, circuit.id), 400, "PrivatePeeringNotProvisioned", "peer.id")
    circuit_peering(server, PP, PRIVATE)
    assert connect(server, circuit.id).connection_status == "Connected"
    # one connection between a gateway and a circuit
    rejected(server, lambda: connect(server, circuit.id, name="conn2"), 400, "GatewayAlreadyConnectedToCircuit", "peer")


def test_location_and_gateway_state(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    body = {**connection_body(server, circuit.id), "location": "eastus"}
    rejected(server, lambda: _put(server, body), 400, "InvalidResourceLocation", "location")
    # a gateway still being created cannot be connected yet
    create_vnet(server, "vnet2", {
        "location": "westus",
        "properties": {"addressSpace": {"addressPrefixes": ["10.18.0.0/16"]},
                       "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.18.255.0/27"}}]},
    })  # fmt: skip
    create_public_ip(server, "gw2-ip")
    gw2 = path(server, "virtualNetworkGateways", "gw2")
    assert server.operator("POST", "/faults-latency", {"resourceId": gw2, "seconds": 120}).status_code == 200
    from tests.support.virtual_networks import gateway_body

    net(server).virtual_network_gateways.begin_create_or_update(
        GROUP, "gw2", gateway_body(server, vnet="vnet2", public_ip="gw2-ip")
    )
    assert net(server).virtual_network_gateways.get(GROUP, "gw2").provisioning_state == "Updating"
    # (not ``rejected``: its "nothing changed" waits for running operations, this one runs on purpose)
    with pytest.raises(HttpResponseError) as refused:
        _put(server, connection_body(server, circuit.id, gateway="gw2"), "conn2")
    assert refused.value.status_code == 400
    assert refused.value.error.code == "VirtualNetworkGatewayNotProvisioned"
    assert "virtualNetworkGateway1" in refused.value.error.target
    with pytest.raises(ResourceNotFoundError):
        _ops(server).get(GROUP, "conn2")
    assert server.operator("POST", "/faults-latency", {"resourceId": gw2, "seconds": 0}).status_code == 200


def _remote_circuit(server: Server) -> tuple[Any, Any]:
    """A circuit in the partner's subscription (the admin owns it), provisioned with private peering."""
    from azure.mgmt.resource.features import FeatureClient

    other = server.subscription("partner")
    features = FeatureClient(server.credential("admin"), other, base_url=server.base_url, connection_verify=server.ca)
    feature = "AllowExpressRouteTestPeeringLocations"
    if features.features.get("Microsoft.Network", feature).properties.state != "Registered":
        features.features.register("Microsoft.Network", feature)
        r = server.operator(
            "POST", "/features/approve", {"subscriptionId": other, "feature": f"Microsoft.Network/{feature}"}
        )
        assert r.status_code == 200, r.text
    server.resources("admin", other).resource_groups.create_or_update("remote-rg", {"location": "westus"})
    remote = server.network("admin", other)
    circuit = remote.express_route_circuits.begin_create_or_update("remote-rg", "far", circuit_body()).result()
    set_provider_state(server, find_cross_connection(server, circuit.service_key), "Provisioned")
    remote.express_route_circuit_peerings.begin_create_or_update(
        "remote-rg", "far", PP, {"properties": PRIVATE}
    ).result()
    return remote, circuit


def test_a_circuit_in_another_subscription_needs_an_authorization(server: Server) -> None:
    customer_side(server)
    remote, circuit = _remote_circuit(server)
    auths = remote.express_route_circuit_authorizations
    auth = auths.begin_create_or_update("remote-rg", "far", "for-vnet", {}).result()
    assert auth.authorization_use_status == "Available"
    rejected(server, lambda: connect(server, circuit.id), 400, "AuthorizationKeyRequired", "authorizationKey")
    rejected(
        server,
        lambda: connect(server, circuit.id, authorizationKey="not-a-key"),
        400,
        "InvalidAuthorizationKey",
        "authorizationKey",
    )
    created = connect(server, circuit.id, authorizationKey=auth.authorization_key)
    assert created.connection_status == "Connected"
    assert created.authorization_key == auth.authorization_key
    assert auths.get("remote-rg", "far", "for-vnet").authorization_use_status == "InUse"
    # a used key is refused for another connection (a second gateway)
    create_vnet(server, "vnet2", {
        "location": "westus",
        "properties": {"addressSpace": {"addressPrefixes": ["10.18.0.0/16"]},
                       "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.18.255.0/27"}}]},
    })  # fmt: skip
    create_public_ip(server, "gw2-ip")
    from tests.support.virtual_networks import gateway_body

    create_gateway(server, "gw2", gateway_body(server, vnet="vnet2", public_ip="gw2-ip"))
    rejected(
        server,
        lambda: _put(
            server, connection_body(server, circuit.id, gateway="gw2", authorizationKey=auth.authorization_key), "c2"
        ),
        400,
        "AuthorizationKeyAlreadyUsed",
        "authorizationKey",
    )
    # deleting the connection gives the authorization back
    _ops(server).begin_delete(GROUP, "conn1").result()
    assert auths.get("remote-rg", "far", "for-vnet").authorization_use_status == "Available"


def test_the_partner_cannot_connect_in_the_customers_subscription(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    rejected(
        server,
        lambda: (
            _ops(server, "partner").begin_create_or_update(GROUP, "c", connection_body(server, circuit.id)).result()
        ),
        403,
        "AuthorizationFailed",
        "Microsoft.Network/connections/write",
    )


def test_a_circuit_deleted_and_created_again_is_not_reconnected(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    connect(server, circuit.id)
    set_provider_state(server, find_cross_connection(server, circuit.service_key), "NotProvisioned")
    net(server).express_route_circuits.begin_delete(GROUP, "er1").result()
    assert _ops(server).get(GROUP, "conn1").connection_status == "NotConnected"
    again = circuit_with_private_peering(server)  # same name and id, a new circuit (new service key)
    assert again.id == circuit.id and again.service_key != circuit.service_key
    assert _ops(server).get(GROUP, "conn1").connection_status == "NotConnected"
    table = net(server).express_route_circuits.begin_list_routes_table(GROUP, "er1", PP, "primary").result().value
    assert table and all(r.path != "65515" for r in table)
    learned_routes = net(server).virtual_network_gateways.begin_get_learned_routes(GROUP, "gw1").result().value
    assert {r.origin for r in learned_routes} == {"Network"}
    # every stored resource still reads back by its id
    snapshot = server.operator("GET", "/snapshot").json()["tables"]["resources"]
    with server.http("admin") as client:
        for row in snapshot:
            version = "2021-04-01" if row["type_key"] == "microsoft.resources/resourcegroups" else "2026-03-01"
            assert client.get(row["id"], params={"api-version": version}).status_code == 200, row["id"]
