"""The simulated MSEEs through the real SDK: ARP table, BGP summary and route table react to the
peering configuration, to what the partner's edge does and to injected faults."""

from __future__ import annotations

import pytest

from tests.support import Server
from tests.test_network_workflow import PRIVATE, create_circuit, find_cross_connection, peering, set_provider_state

GROUP = "CrossConnection-Area51"


@pytest.fixture
def provisioned(server: Server):
    """A provisioned circuit with private peering configured by the partner."""
    circuit = create_circuit(server)
    xc = set_provider_state(server, find_cross_connection(server, circuit.service_key), "Provisioned")
    server.network("partner").express_route_cross_connection_peerings.begin_create_or_update(
        GROUP, xc.name, "AzurePrivatePeering", peering(PRIVATE)
    ).result()
    return xc


def arp(server: Server, key: str, link: str = "primary", peering_name: str = "AzurePrivatePeering"):
    result = server.network("partner").express_route_cross_connections.begin_list_arp_table(
        GROUP, key, peering_name, link).result()
    return [(e.interface, e.ip_address, e.mac_address) for e in result.value]


def summary(server: Server, key: str, link: str = "primary", peering_name: str = "AzurePrivatePeering"):
    result = server.network("partner").express_route_cross_connections.begin_list_routes_table_summary(
        GROUP, key, peering_name, link).result()
    return [(s.neighbor, s.asn, s.state_or_prefixes_received) for s in result.value]


def routes(server: Server, key: str, link: str = "primary", peering_name: str = "AzurePrivatePeering"):
    result = server.network("partner").express_route_cross_connections.begin_list_routes_table(
        GROUP, key, peering_name, link).result()
    return [(r.network, r.next_hop, r.path) for r in result.value]


def declare(server: Server, key: str, link: str, body: dict) -> None:
    r = server.operator("PUT", f"/lab/circuits/{key}/edge/{link}", body)
    assert r.status_code == 200, r.text


def test_healthy_link(server: Server, provisioned) -> None:
    key = provisioned.name
    entries = arp(server, key)
    assert entries[0][:2] == ("On-Prem", "192.168.100.129") and entries[0][2] != "Incomplete"
    assert entries[1][:2] == ("Microsoft", "192.168.100.130")
    assert arp(server, key, "secondary")[1][1] == "192.168.100.134"
    assert summary(server, key) == [("192.168.100.129", 65010, "3")]
    table = routes(server, key)
    assert ("10.10.0.0/16", "192.168.100.129", "65010") in table and len(table) == 3
    circuit_summary = server.network("customer").express_route_circuits.begin_list_routes_table_summary(
        "customer-rg", "er1", "AzurePrivatePeering", "primary").result()
    assert circuit_summary.value[0].state_pfx_rcd == "3" and circuit_summary.value[0].as_property == 65010


def test_vlan_mismatch_breaks_arp_and_bgp(server: Server, provisioned) -> None:
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"cTag": 999}}})
    assert arp(server, provisioned.name)[0][2] == "Incomplete"
    assert summary(server, provisioned.name)[0][2] == "Active"
    assert routes(server, provisioned.name) == []
    assert summary(server, provisioned.name, "secondary")[0][2] == "3"  # the other link is unaffected


def test_stag_mismatch(server: Server, provisioned) -> None:
    declare(server, provisioned.name, "secondary", {"sTag": provisioned.s_tag + 1})
    assert arp(server, provisioned.name, "secondary")[0][2] == "Incomplete"
    assert summary(server, provisioned.name, "primary")[0][2] == "3"


def test_wrong_peer_asn_and_md5(server: Server, provisioned) -> None:
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"asn": 65099}}})
    assert arp(server, provisioned.name)[0][2] != "Incomplete"
    assert summary(server, provisioned.name)[0][2] == "Idle"
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"asn": 65010, "md5": "wrong"}}})
    assert summary(server, provisioned.name)[0][2] == "Connect"


def test_prefix_limit_drops_session(server: Server, provisioned) -> None:
    many = [{"prefix": f"10.{i // 256}.{i % 256}.0/24", "asPath": ""} for i in range(4001)]
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"advertisedPrefixes": many}}})
    assert summary(server, provisioned.name)[0][2] == "Idle (PfxCt)"
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"advertisedPrefixes": many[:4000]}}})
    assert summary(server, provisioned.name)[0][2] == "4000"


def test_secondary_link_down_and_reset(server: Server, provisioned) -> None:
    r = server.operator("POST", "/faults/links", {"name": f"{provisioned.name}/secondary"})
    assert r.status_code == 200, r.text
    assert arp(server, provisioned.name, "secondary") == []
    assert summary(server, provisioned.name, "secondary")[0][2] == "Idle"
    assert summary(server, provisioned.name, "primary")[0][2] == "3"
    assert server.operator("DELETE", "/faults").status_code == 200
    assert summary(server, provisioned.name, "secondary")[0][2] == "3"


def test_peering_deleted(server: Server, provisioned) -> None:
    server.network("partner").express_route_cross_connection_peerings.begin_delete(
        GROUP, provisioned.name, "AzurePrivatePeering").result()
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as err:
        arp(server, provisioned.name)
    assert err.value.status_code == 404


def test_unknown_device_path(server: Server, provisioned) -> None:
    with server.http("partner") as http:
        r = http.post(f"/subscriptions/{server.subscription('partner')}/resourceGroups/{GROUP}/providers/"
                      f"Microsoft.Network/expressRouteCrossConnections/{provisioned.name}/peerings/"
                      "AzurePrivatePeering/arpTables/tertiary?api-version=2024-07-01")
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidDevicePath"
