"""The simulated MSEEs through the real SDK: ARP table, BGP summary and route table react to the
peering configuration, to what the partner's edge does and to injected faults."""

from __future__ import annotations

import pytest

from tests.support import Server
from tests.support.network import (
    MICROSOFT,
    PRIVATE,
    XC_GROUP,
    circuit_path,
    cross_connection_path,
    peering,
    provisioned_circuit,
    xc_peering,
)


@pytest.fixture
def provisioned(server: Server):
    """A provisioned circuit with private peering configured by the partner."""
    _, xc = provisioned_circuit(server)
    xc_peering(server, xc.name, "AzurePrivatePeering", PRIVATE)
    return xc


def arp(server: Server, key: str, link: str = "primary", peering_name: str = "AzurePrivatePeering"):
    result = (
        server.network("partner")
        .express_route_cross_connections.begin_list_arp_table(XC_GROUP, key, peering_name, link)
        .result()
    )
    return [(e.interface, e.ip_address, e.mac_address) for e in result.value]


def summary(server: Server, key: str, link: str = "primary", peering_name: str = "AzurePrivatePeering"):
    result = (
        server.network("partner")
        .express_route_cross_connections.begin_list_routes_table_summary(XC_GROUP, key, peering_name, link)
        .result()
    )
    return [(s.neighbor, s.asn, s.state_or_prefixes_received) for s in result.value]


def routes(server: Server, key: str, link: str = "primary", peering_name: str = "AzurePrivatePeering"):
    result = (
        server.network("partner")
        .express_route_cross_connections.begin_list_routes_table(XC_GROUP, key, peering_name, link)
        .result()
    )
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
    circuit_summary = (
        server.network("customer")
        .express_route_circuits.begin_list_routes_table_summary("customer-rg", "er1", "AzurePrivatePeering", "primary")
        .result()
    )
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
    declare(
        server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"advertisedPrefixes": many[:4000]}}}
    )
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
        XC_GROUP, provisioned.name, "AzurePrivatePeering"
    ).result()
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as err:
        arp(server, provisioned.name)
    assert err.value.status_code == 404


def test_unknown_device_path(server: Server, provisioned) -> None:
    with server.http("partner") as http:
        r = http.post(
            f"{cross_connection_path(server, provisioned.name)}/peerings/"
            "AzurePrivatePeering/arpTables/tertiary?api-version=2024-07-01"
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidDevicePath"


def test_flap_then_recover(server: Server, provisioned) -> None:
    r = server.operator(
        "POST",
        "/faults-flap",
        {"serviceKey": provisioned.name, "peeringType": "AzurePrivatePeering", "link": "primary", "seconds": 1.5},
    )
    assert r.status_code == 200, r.text
    assert summary(server, provisioned.name)[0][2] == "Active"
    import time

    time.sleep(1.6)
    assert summary(server, provisioned.name)[0][2] == "3"


def test_device_and_port_down(server: Server, provisioned) -> None:
    assert server.operator("POST", "/faults/devices", {"name": "A51-TEST-06GMR-CIS-PRI"}).status_code == 200
    assert arp(server, provisioned.name, "primary") == []
    assert summary(server, provisioned.name, "secondary")[0][2] == "3"
    server.operator("DELETE", "/faults")
    assert server.operator("POST", "/faults/ports", {"name": provisioned.secondary_azure_port}).status_code == 200
    assert arp(server, provisioned.name, "secondary") == []
    assert summary(server, provisioned.name, "primary")[0][2] == "3"


def test_next_operation_fails_with_injected_code(server: Server, provisioned) -> None:
    from azure.core.exceptions import HttpResponseError

    peering_id = f"{circuit_path(server)}/peerings/AzurePrivatePeering"
    r = server.operator(
        "POST",
        "/faults-fail-next",
        {"resourceId": peering_id, "count": 1, "code": "InternalServerError", "message": "MSEE programming failed"},
    )
    assert r.status_code == 200, r.text
    peers = server.network("partner").express_route_cross_connection_peerings
    with pytest.raises(HttpResponseError) as err:
        peers.begin_create_or_update(
            XC_GROUP, provisioned.name, "AzurePrivatePeering", peering(PRIVATE, vlanId=110)
        ).result()
    assert "MSEE programming failed" in str(err.value)
    assert peers.get(XC_GROUP, provisioned.name, "AzurePrivatePeering").provisioning_state == "Failed"
    # the fault is used up: the retry succeeds
    ok = peers.begin_create_or_update(
        XC_GROUP, provisioned.name, "AzurePrivatePeering", peering(PRIVATE, vlanId=110)
    ).result()
    assert ok.provisioning_state == "Succeeded" and ok.vlan_id == 110


def test_lab_access_partner_own_circuit_only(server: Server, provisioned) -> None:
    with server.http("partner") as http:
        r = http.put(f"/_crossconnect/lab/circuits/{provisioned.name}/edge/primary", json={"interfaceUp": False})
        assert r.status_code == 200, r.text
        assert r.json()["effective"]["primary"]["sessions"]["AzurePrivatePeering"] == "Idle"
    with server.http("customer") as http:
        r = http.put(f"/_crossconnect/lab/circuits/{provisioned.name}/edge/primary", json={"interfaceUp": True})
        assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed"
    with server.http("partner") as http:
        r = http.put(f"/_crossconnect/lab/circuits/{provisioned.name}/edge/primary", json={"bogus": 1})
        assert r.status_code == 400 and r.json()["error"]["target"] == "bogus"
        assert http.get("/_crossconnect/faults").status_code == 403  # faults are the operator's


def test_microsoft_peering_needs_validated_prefixes(server: Server, provisioned) -> None:
    unregistered = {
        **MICROSOFT,
        "microsoftPeeringConfig": {**MICROSOFT["microsoftPeeringConfig"], "advertisedPublicPrefixes": ["8.8.8.0/24"]},
    }
    ms = xc_peering(server, provisioned.name, "MicrosoftPeering", unregistered)
    assert ms.microsoft_peering_config.advertised_public_prefixes_state == "ValidationNeeded"
    assert summary(server, provisioned.name, "primary", "MicrosoftPeering")[0][2] == "Idle (Admin)"
    ms = xc_peering(server, provisioned.name, "MicrosoftPeering", MICROSOFT)
    assert summary(server, provisioned.name, "primary", "MicrosoftPeering")[0][2] == "1"


def test_stats_grow_while_established(server: Server, provisioned) -> None:
    import time

    customer = server.network("customer")
    first = customer.express_route_circuits.get_peering_stats("customer-rg", "er1", "AzurePrivatePeering")
    time.sleep(1.1)
    second = customer.express_route_circuits.get_stats("customer-rg", "er1")
    assert second.primarybytes_in > first.primarybytes_in >= 0
    server.operator("POST", "/faults/links", {"name": f"{provisioned.name}/primary"})
    assert customer.express_route_circuits.get_stats("customer-rg", "er1").primarybytes_in == 0


def test_microsoft_peering_advertises_only_the_route_filter_communities(server: Server, provisioned) -> None:
    """Without a route filter Microsoft advertises nothing on Microsoft peering; with one, the
    prefixes of the rule's communities; changing the rule changes the routes."""
    from tests.support.route_filters import create_filter, filter_path, rule

    xc_peering(server, provisioned.name, "MicrosoftPeering", MICROSOFT)
    received_only = routes(server, provisioned.name, "primary", "MicrosoftPeering")
    assert received_only == [("131.107.2.0/24", "131.107.1.1", "3598")]  # what the partner edge sends

    create_filter(server, "rf-azure", ("allow-azure", ["12076:5070"]), role="partner", group="partner-filters")
    filter_id = filter_path(server, "rf-azure", role="partner", group="partner-filters")
    xc_peering(server, provisioned.name, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": filter_id}})
    advertised = [r for r in routes(server, provisioned.name, "primary", "MicrosoftPeering") if r[2] == "12076"]
    assert advertised and all(hop == "131.107.1.2" for _, hop, _ in advertised)  # from the MSEE

    # a rule with another community changes what is advertised
    server.network("partner").route_filter_rules.begin_create_or_update(
        "partner-filters",
        "rf-azure",
        "allow-azure",
        rule(["12076:5060"]),
    ).result()
    changed = [r for r in routes(server, provisioned.name, "primary", "MicrosoftPeering") if r[2] == "12076"]
    assert changed and {n for n, _, _ in changed} != {n for n, _, _ in advertised}
