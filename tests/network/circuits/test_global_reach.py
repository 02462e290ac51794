"""Global Reach (expressRouteCircuitConnections and peerConnections) through the real
azure-mgmt-network SDK: the round trip, what both circuits show, the authorization it redeems,
and every rule with failing input (status, code, the field named, nothing stored)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.azure_cli import AzureCli
from tests.support.network import (
    API,
    GROUP,
    MICROSOFT,
    PRIVATE,
    circuit_body,
    circuit_path,
    circuit_peering,
    circuit_peering_path,
    create_circuit,
    find_cross_connection,
    provisioned_circuit,
    rejected,
    set_provider_state,
)

PP = "AzurePrivatePeering"
PRIVATE_B = {
    **PRIVATE,
    "primaryPeerAddressPrefix": "192.168.200.0/30",
    "secondaryPeerAddressPrefix": "192.168.200.4/30",
}


def _two_circuits(server: Server) -> None:
    """er1 and er2, both provisioned, each with its private peering."""
    provisioned_circuit(server, "er1")
    provisioned_circuit(server, "er2")
    circuit_peering(server, PP, PRIVATE, circuit="er1")
    circuit_peering(server, PP, PRIVATE_B, circuit="er2")


def _body(server: Server, prefix: str = "10.0.0.0/29", peer: str = "er2", **props: Any) -> dict[str, Any]:
    return {
        "properties": {
            "expressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er1")},
            "peerExpressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, peer)},
            "addressPrefix": prefix,
            **props,
        }
    }


def _connections(server: Server) -> Any:
    return server.network("customer").express_route_circuit_connections


def _peers(server: Server) -> Any:
    return server.network("customer").peer_express_route_circuit_connections


def _put(server: Server, body: dict[str, Any], name: str = "gr1", circuit: str = "er1") -> Any:
    return _connections(server).begin_create_or_update(GROUP, circuit, PP, name, body).result()


def test_round_trip_both_sides_see_the_connection(server: Server) -> None:
    _two_circuits(server)
    created = _put(server, _body(server, ipv6CircuitConnectionConfig={"addressPrefix": "fd00:1::/125"}))
    assert created.name == "gr1"
    assert created.type == "Microsoft.Network/expressRouteCircuits/peerings/connections"
    assert created.id == f"{circuit_peering_path(server, PP, 'er1')}/connections/gr1"
    assert created.provisioning_state == "Succeeded"
    assert created.circuit_connection_status == "Connected"
    assert created.address_prefix == "10.0.0.0/29"
    assert created.ipv6_circuit_connection_config.address_prefix == "fd00:1::/125"
    assert created.peer_express_route_circuit_peering.id == circuit_peering_path(server, PP, "er2")

    got = _connections(server).get(GROUP, "er1", PP, "gr1")
    assert got.as_dict() == created.as_dict()
    listed = list(_connections(server).list(GROUP, "er1", PP))
    assert [c.name for c in listed] == ["gr1"]

    # the private peering embeds it, as Azure renders it
    net = server.network("customer")
    peering = net.express_route_circuit_peerings.get(GROUP, "er1", PP)
    assert [c.name for c in peering.connections] == ["gr1"]
    assert peering.peered_connections == []
    circuit = net.express_route_circuits.get(GROUP, "er1")
    assert [c.name for c in circuit.peerings[0].connections] == ["gr1"]

    # the peer circuit shows it under peerConnections, read-only
    peers = list(_peers(server).list(GROUP, "er2", PP))
    assert len(peers) == 1
    peer = peers[0]
    assert peer.type == "Microsoft.Network/expressRouteCircuits/peerings/peerConnections"
    assert peer.connection_name == "gr1"
    assert peer.address_prefix == "10.0.0.0/29"
    assert peer.circuit_connection_status == "Connected"
    assert peer.express_route_circuit_peering.id == circuit_peering_path(server, PP, "er2")
    assert peer.peer_express_route_circuit_peering.id == circuit_peering_path(server, PP, "er1")
    assert _peers(server).get(GROUP, "er2", PP, peer.name).as_dict() == peer.as_dict()
    peer_peering = net.express_route_circuit_peerings.get(GROUP, "er2", PP)
    assert peer_peering.connections == []
    assert [p.connection_name for p in peer_peering.peered_connections] == ["gr1"]
    assert list(_peers(server).list(GROUP, "er1", PP)) == []

    # peerConnections cannot be written
    with server.http("customer") as client:
        r = client.put(
            f"{circuit_peering_path(server, PP, 'er2')}/peerConnections/{peer.name}",
            params={"api-version": API},
            json=_body(server),
        )
    assert r.status_code in (404, 405), r.text

    # the peering cannot be deleted while the connection uses it (either side)
    for circuit in ("er1", "er2"):
        rejected(
            server,
            lambda c=circuit: net.express_route_circuit_peerings.begin_delete(GROUP, c, PP).result(),
            400,
            "PeeringInUseByGlobalReachConnections",
            "peeringName",
        )

    _connections(server).begin_delete(GROUP, "er1", PP, "gr1").result()
    with pytest.raises(ResourceNotFoundError):
        _connections(server).get(GROUP, "er1", PP, "gr1")
    assert list(_peers(server).list(GROUP, "er2", PP)) == []
    with pytest.raises(ResourceNotFoundError):
        _peers(server).get(GROUP, "er2", PP, peer.name)
    assert net.express_route_circuit_peerings.get(GROUP, "er2", PP).peered_connections == []
    net.express_route_circuit_peerings.begin_delete(GROUP, "er2", PP).result()


def test_status_follows_the_peerings(server: Server) -> None:
    _two_circuits(server)
    _put(server, _body(server))
    circuit_peering(server, PP, {**PRIVATE_B, "state": "Disabled"}, circuit="er2")
    assert _connections(server).get(GROUP, "er1", PP, "gr1").circuit_connection_status == "Disconnected"
    circuit_peering(server, PP, {**PRIVATE_B, "state": "Enabled"}, circuit="er2")
    assert _connections(server).get(GROUP, "er1", PP, "gr1").circuit_connection_status == "Connected"


def test_authorization_key_is_redeemed_and_released(server: Server) -> None:
    _two_circuits(server)
    net = server.network("customer")
    auth = net.express_route_circuit_authorizations.begin_create_or_update(GROUP, "er2", "for-er1", {}).result()
    assert auth.authorization_use_status == "Available"
    rejected(
        server,
        lambda: _put(server, _body(server, authorizationKey="not-a-key")),
        400,
        "InvalidAuthorizationKey",
        "authorizationKey",
    )
    created = _put(server, _body(server, authorizationKey=auth.authorization_key))
    assert created.authorization_key == auth.authorization_key
    used = net.express_route_circuit_authorizations.get(GROUP, "er2", "for-er1")
    # Azure's enum for it is Available / InUse (the schema conformance test found "Used" here)
    assert used.authorization_use_status == "InUse"
    peer = next(iter(_peers(server).list(GROUP, "er2", PP)))
    assert peer.auth_resource_guid
    _connections(server).begin_delete(GROUP, "er1", PP, "gr1").result()
    freed = net.express_route_circuit_authorizations.get(GROUP, "er2", "for-er1")
    assert freed.authorization_use_status == "Available"


def test_a_used_authorization_is_refused(server: Server) -> None:
    _two_circuits(server)
    provisioned_circuit(server, "er3")
    circuit_peering(
        server,
        PP,
        {**PRIVATE, "primaryPeerAddressPrefix": "192.168.50.0/30", "secondaryPeerAddressPrefix": "192.168.50.4/30"},
        circuit="er3",
    )
    net = server.network("customer")
    auth = net.express_route_circuit_authorizations.begin_create_or_update(GROUP, "er2", "once", {}).result()
    _put(server, _body(server, authorizationKey=auth.authorization_key))
    body = {
        "properties": {
            "peerExpressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er2")},
            "addressPrefix": "10.0.1.0/29",
            "authorizationKey": auth.authorization_key,
        }
    }
    rejected(server, lambda: _put(server, body, circuit="er3"), 400, "AuthorizationKeyAlreadyUsed", "authorizationKey")


def test_one_connection_per_circuit_pair_either_direction(server: Server) -> None:
    _two_circuits(server)
    _put(server, _body(server))
    rejected(
        server,
        lambda: _put(server, _body(server, prefix="10.0.1.0/29"), name="gr2"),
        400,
        "GlobalReachConnectionAlreadyExists",
        "peerExpressRouteCircuitPeering",
    )
    reverse = {
        "properties": {
            "peerExpressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er1")},
            "addressPrefix": "10.0.2.0/29",
        }
    }
    rejected(
        server,
        lambda: _put(server, reverse, name="back", circuit="er2"),
        400,
        "GlobalReachConnectionAlreadyExists",
        "peerExpressRouteCircuitPeering",
    )
    # the same PUT again is an update, not a second connection
    again = _put(server, _body(server, prefix="10.0.3.0/29"))
    assert again.address_prefix == "10.0.3.0/29"
    assert next(iter(_peers(server).list(GROUP, "er2", PP))).address_prefix == "10.0.3.0/29"


BAD_BODIES = [
    pytest.param({"addressPrefix": None}, "MissingAddressPrefix", "addressPrefix", id="no-prefix"),
    pytest.param({"addressPrefix": "10.0.0.0/30"}, "InvalidAddressPrefix", "addressPrefix", id="prefix-not-29"),
    pytest.param({"addressPrefix": "10.0.0.1/29"}, "InvalidAddressPrefix", "addressPrefix", id="host-bits"),
    pytest.param({"addressPrefix": "fd00::/29"}, "InvalidAddressPrefix", "addressPrefix", id="prefix-ipv6"),
    pytest.param({"addressPrefix": "bogus"}, "InvalidAddressPrefix", "addressPrefix", id="prefix-garbage"),
    pytest.param(
        {"addressPrefix": "192.168.100.128/29"},
        "GlobalReachAddressPrefixOverlap",
        "addressPrefix",
        id="overlaps-own-peering",
    ),
    pytest.param(
        {"addressPrefix": "192.168.200.0/29"},
        "GlobalReachAddressPrefixOverlap",
        "addressPrefix",
        id="overlaps-peer-peering",
    ),
    pytest.param(
        {"ipv6CircuitConnectionConfig": {"addressPrefix": "fd00:1::/126"}},
        "InvalidAddressPrefix",
        "ipv6CircuitConnectionConfig.addressPrefix",
        id="ipv6-not-125",
    ),
    pytest.param(
        {"ipv6CircuitConnectionConfig": {}},
        "MissingAddressPrefix",
        "ipv6CircuitConnectionConfig.addressPrefix",
        id="ipv6-empty",
    ),
    pytest.param(
        {"peerExpressRouteCircuitPeering": None},
        "MissingPeerExpressRouteCircuitPeering",
        "peerExpressRouteCircuitPeering",
        id="no-peer",
    ),
    pytest.param(
        {"peerExpressRouteCircuitPeering": {"id": "/subscriptions/x/nothing"}},
        "InvalidPeerExpressRouteCircuitPeering",
        "peerExpressRouteCircuitPeering",
        id="peer-not-an-id",
    ),
    pytest.param(
        {"expressRouteCircuitPeering": {"id": "/subscriptions/x/elsewhere"}},
        "InvalidExpressRouteCircuitPeering",
        "expressRouteCircuitPeering",
        id="own-peering-mismatch",
    ),
    pytest.param({"surprise": 1}, "InvalidRequestContent", "surprise", id="unknown-property"),
]


@pytest.mark.parametrize(("change", "code", "field"), BAD_BODIES)
def test_bad_body_is_refused(server: Server, change: dict[str, Any], code: str, field: str) -> None:
    _two_circuits(server)
    body = _body(server)
    for key, value in change.items():
        if value is None:
            body["properties"].pop(key, None)
        else:
            body["properties"][key] = value
    rejected(server, lambda: _put(server, body), 400, code, field)


def test_peer_references_that_do_not_work(server: Server) -> None:
    _two_circuits(server)
    er1 = circuit_path(server, "er1")
    cases = [
        (f"{er1}/peerings/{PP}", "GlobalReachSameCircuit"),
        (circuit_peering_path(server, PP, "nosuch"), "PeerExpressRouteCircuitPeeringNotFound"),
        (circuit_peering_path(server, "MicrosoftPeering", "er2"), "InvalidPeerExpressRouteCircuitPeering"),
    ]
    for peer_id, code in cases:
        body = _body(server)
        body["properties"]["peerExpressRouteCircuitPeering"] = {"id": peer_id}
        rejected(server, lambda b=body: _put(server, b), 400, code, "peerExpressRouteCircuitPeering")


def test_peer_without_private_peering_or_not_provisioned(server: Server) -> None:
    provisioned_circuit(server, "er1")
    circuit_peering(server, PP, PRIVATE, circuit="er1")
    provisioned_circuit(server, "er2")
    rejected(
        server,
        lambda: _put(server, _body(server)),
        400,
        "PeerExpressRouteCircuitPeeringNotFound",
        "peerExpressRouteCircuitPeering",
    )
    circuit_peering(server, PP, {**PRIVATE_B, "state": "Disabled"}, circuit="er2")
    rejected(
        server,
        lambda: _put(server, _body(server)),
        400,
        "PrivatePeeringNotProvisioned",
        "peerExpressRouteCircuitPeering",
    )
    circuit_peering(server, PP, PRIVATE_B, circuit="er2")
    xc = find_cross_connection(server, server.network("customer").express_route_circuits.get(GROUP, "er2").service_key)
    # the provider starts deprovisioning er2: no Global Reach to it any more
    set_provider_state(server, xc, "Deprovisioning")
    rejected(
        server, lambda: _put(server, _body(server)), 400, "CircuitNotProvisioned", "peerExpressRouteCircuitPeering"
    )


def test_only_on_the_private_peering(server: Server) -> None:
    _two_circuits(server)
    circuit_peering(server, "MicrosoftPeering", MICROSOFT, circuit="er1")
    body = _body(server)
    body["properties"].pop("expressRouteCircuitPeering")
    rejected(
        server,
        lambda: _connections(server).begin_create_or_update(GROUP, "er1", "MicrosoftPeering", "gr1", body).result(),
        400,
        "GlobalReachRequiresPrivatePeering",
        "AzurePrivatePeering",
    )
    # under a peering that does not exist: 404, nothing stored
    rejected(
        server,
        lambda: _connections(server).begin_create_or_update(GROUP, "er1", "AzurePublicPeering", "gr1", body).result(),
        404,
        "ResourceNotFound",
        None,
    )


def test_local_sku_has_no_global_reach(server: Server) -> None:
    provisioned_circuit(server, "er1")
    circuit_peering(server, PP, PRIVATE, circuit="er1")
    local = create_circuit(server, "er2", body=circuit_body(tier="Local", family="UnlimitedData"))
    set_provider_state(server, find_cross_connection(server, local.service_key), "Provisioned")
    circuit_peering(server, PP, PRIVATE_B, circuit="er2")
    rejected(
        server,
        lambda: _put(server, _body(server)),
        400,
        "GlobalReachNotSupportedForLocalSku",
        "peerExpressRouteCircuitPeering",
    )


def test_get_and_delete_of_what_does_not_exist(server: Server) -> None:
    _two_circuits(server)
    with pytest.raises(ResourceNotFoundError):
        _connections(server).get(GROUP, "er1", PP, "nosuch")
    with pytest.raises(ResourceNotFoundError):
        _peers(server).get(GROUP, "er2", PP, "nosuch")
    _connections(server).begin_delete(GROUP, "er1", PP, "nosuch").result()
    assert list(_connections(server).list(GROUP, "er1", PP)) == []


def _routes(server: Server, circuit: str, link: str = "primary") -> list[tuple[str, str]]:
    net = server.network("customer")
    result = net.express_route_circuits.begin_list_routes_table(GROUP, circuit, PP, link).result()
    return [(r.network, r.path) for r in result.value]


def test_route_tables_learn_the_other_side_through_microsoft(server: Server) -> None:
    _two_circuits(server)
    net = server.network("customer")
    key2 = net.express_route_circuits.get(GROUP, "er2").service_key
    r = server.operator(
        "PUT",
        f"/lab/circuits/{key2}/edge/primary",
        {"peerings": {"AzurePrivatePeering": {"advertisedPrefixes": [{"prefix": "10.99.0.0/16", "asPath": "65100"}]}}},
    )
    assert r.status_code == 200, r.text
    before = _routes(server, "er1")
    assert all(not path.startswith("12076") for _network, path in before)
    _put(server, _body(server))
    after = _routes(server, "er1")
    # er1 learns er2's on-premises prefix through Microsoft (12076), er2's ASN and path after it
    assert ("10.99.0.0/16", "12076 65010 65100") in after
    assert set(before) <= set(after)
    # er2 learns er1's default on-premises prefixes the same way
    learned = [(n, p) for n, p in _routes(server, "er2") if p.startswith("12076 ")]
    assert ("10.10.0.0/16", "12076 65010") in learned
    # the secondary link of er1: er2 declared nothing there, so its default prefixes
    assert ("10.10.0.0/16", "12076 65010") in _routes(server, "er1", "secondary")
    # a disabled peer peering: the connection is Disconnected and the routes are withdrawn
    circuit_peering(server, PP, {**PRIVATE_B, "state": "Disabled"}, circuit="er2")
    assert all(not p.startswith("12076 ") for _n, p in _routes(server, "er1"))
    circuit_peering(server, PP, PRIVATE_B, circuit="er2")
    _connections(server).begin_delete(GROUP, "er1", PP, "gr1").result()
    assert _routes(server, "er1") == before


def test_az_network_express_route_peering_connection(az_admin: AzureCli) -> None:
    server = az_admin.server
    _two_circuits(server)
    az_admin("account", "set", "--subscription", server.subscription("customer"))
    common = ["-g", GROUP, "--circuit-name", "er1", "--peering-name", PP]
    error = az_admin.fails(
        "network", "express-route", "peering", "connection", "create", *common, "-n", "gr1",
        "--peer-circuit", "er2", "--address-prefix", "10.0.0.0/30",
    )  # fmt: skip
    assert "InvalidAddressPrefix" in error.stderr and "addressPrefix" in error.stderr
    assert list(_connections(server).list(GROUP, "er1", PP)) == []

    created = az_admin(
        "network", "express-route", "peering", "connection", "create", *common, "-n", "gr1",
        "--peer-circuit", "er2", "--address-prefix", "10.0.0.0/29",
    )  # fmt: skip
    assert created["name"] == "gr1" and created["provisioningState"] == "Succeeded"
    assert created["circuitConnectionStatus"] == "Connected"
    assert created["peerExpressRouteCircuitPeering"]["id"] == circuit_peering_path(server, PP, "er2")
    shown = az_admin("network", "express-route", "peering", "connection", "show", *common, "-n", "gr1")
    assert shown["addressPrefix"] == "10.0.0.0/29"
    peering = az_admin("network", "express-route", "peering", "show", "-g", GROUP, "--circuit-name", "er2", "-n", PP)
    assert [p["connectionName"] for p in peering["peeredConnections"]] == ["gr1"]
    az_admin("network", "express-route", "peering", "connection", "delete", *common, "-n", "gr1")
    assert list(_connections(server).list(GROUP, "er1", PP)) == []
    assert list(_peers(server).list(GROUP, "er2", PP)) == []


def test_a_peer_in_another_subscription_needs_its_authorization_key(server: Server) -> None:
    """The peer circuit lives in the provider subscription (the admin, Owner there, enables test
    locations for it): the connection needs the peer's authorization key."""
    from azure.mgmt.resource.features import FeatureClient

    provisioned_circuit(server, "er1")
    circuit_peering(server, PP, PRIVATE, circuit="er1")
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
    peer_circuit = remote.express_route_circuits.begin_create_or_update("remote-rg", "far", circuit_body()).result()
    set_provider_state(server, find_cross_connection(server, peer_circuit.service_key), "Provisioned")
    remote.express_route_circuit_peerings.begin_create_or_update(
        "remote-rg", "far", PP, {"properties": PRIVATE_B}
    ).result()
    auth = remote.express_route_circuit_authorizations.begin_create_or_update(
        "remote-rg", "far", "for-er1", {}
    ).result()
    peer_id = f"{peer_circuit.id}/peerings/{PP}"
    body = {"properties": {"peerExpressRouteCircuitPeering": {"id": peer_id}, "addressPrefix": "10.0.0.0/29"}}
    rejected(server, lambda: _put(server, body), 400, "AuthorizationKeyRequired", "authorizationKey")
    body["properties"]["authorizationKey"] = auth.authorization_key
    created = _put(server, body)
    assert created.circuit_connection_status == "Connected"
    assert remote.express_route_circuit_authorizations.get("remote-rg", "far", "for-er1").authorization_use_status == (
        "InUse"
    )
    peers = list(remote.peer_express_route_circuit_connections.list("remote-rg", "far", PP))
    assert [(p.connection_name, p.peer_express_route_circuit_peering.id) for p in peers] == [
        ("gr1", circuit_peering_path(server, PP, "er1"))
    ]


def test_rbac_a_principal_without_access_to_the_circuit_is_refused(server: Server) -> None:
    _two_circuits(server)
    partner = server.network("partner", server.subscription("customer")).express_route_circuit_connections
    rejected(
        server,
        lambda: partner.begin_create_or_update(GROUP, "er1", PP, "gr1", _body(server)).result(),
        403,
        "AuthorizationFailed",
        "Microsoft.Network/expressRouteCircuits/peerings/connections/write",
    )
    _put(server, _body(server))
    peers = server.network("partner", server.subscription("customer")).peer_express_route_circuit_connections
    rejected(server, lambda: list(peers.list(GROUP, "er2", PP)), 403, "AuthorizationFailed", "peerConnections/read")


def test_a_circuit_with_connections_cannot_be_deleted(server: Server) -> None:
    """Once the provider has deprovisioned it, a circuit can be deleted, but not while a Global
    Reach connection uses its private peering (from either side)."""
    _two_circuits(server)
    _put(server, _body(server))
    net = server.network("customer")
    for name in ("er1", "er2"):
        xc = find_cross_connection(server, net.express_route_circuits.get(GROUP, name).service_key)
        set_provider_state(server, xc, "NotProvisioned")
        rejected(
            server,
            lambda n=name: net.express_route_circuits.begin_delete(GROUP, n).result(),
            400,
            "CircuitInUseByGlobalReachConnections",
            "peerings",
        )
    _connections(server).begin_delete(GROUP, "er1", PP, "gr1").result()
    net.express_route_circuits.begin_delete(GROUP, "er2").result()
    assert [c.name for c in net.express_route_circuits.list(GROUP)] == ["er1"]


def test_a_peering_sent_back_with_its_connections_keeps_them(server: Server) -> None:
    """The SDK's read-modify-write of the private peering sends `connections` back: it is read-only
    there, the connection is neither changed nor removed."""
    _two_circuits(server)
    created = _put(server, _body(server))
    peerings = server.network("customer").express_route_circuit_peerings
    peering = peerings.get(GROUP, "er1", PP)
    assert [c.name for c in peering.connections] == ["gr1"]
    peering.peer_asn = 65011
    updated = peerings.begin_create_or_update(GROUP, "er1", PP, peering).result()
    assert updated.peer_asn == 65011
    assert [c.address_prefix for c in updated.connections] == ["10.0.0.0/29"]
    assert _connections(server).get(GROUP, "er1", PP, "gr1").etag == created.etag
