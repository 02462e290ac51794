"""Every peering rule, from both views (the customer's circuit peerings and the partner's
cross-connection peerings, one record): a failing input gives status, code, the field named and
nothing changed; the allowed side of each boundary is stored as Azure would store it."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.network import (
    MICROSOFT,
    MICROSOFT_IPV6,
    PRIVATE,
    PeeringView,
    create_circuit,
    find_cross_connection,
    peering,
    provisioned_circuit,
    rejected,
    set_provider_state,
)

VIEWS = ["circuit", "crossConnection"]
MS_PREFIXES = "properties.microsoftPeeringConfig.advertisedPublicPrefixes"


@pytest.fixture(params=VIEWS)
def view(request: pytest.FixtureRequest, server: Server) -> PeeringView:
    """A provisioned circuit, seen from one side."""
    circuit, _ = provisioned_circuit(server)
    return PeeringView(server, request.param, circuit)


def _other(view: PeeringView) -> PeeringView:
    return PeeringView(view.server, "crossConnection" if view.view == "circuit" else "circuit", view.circuit)


def _rejected(
    view: PeeringView, name: str, body: dict[str, Any], code: str, field: str | None, status: int = 400
) -> dict[str, Any]:
    return rejected(view.server, lambda: view.put(name, body), status, code, field)


# -- preconditions and names ------------------------------------------------------------------------


@pytest.mark.parametrize("side", VIEWS)
def test_circuit_must_be_provisioned(server: Server, side: str) -> None:
    circuit = create_circuit(server)
    view = PeeringView(server, side, circuit)
    xc = find_cross_connection(server, circuit.service_key)
    for provider_state in ("NotProvisioned", "Provisioning"):
        if provider_state != "NotProvisioned":
            xc = set_provider_state(server, xc, provider_state)
        error = _rejected(
            view, "AzurePrivatePeering", peering(PRIVATE), "CircuitNotProvisioned", "serviceProviderProvisioningState"
        )
        assert provider_state in error["message"]
    set_provider_state(server, xc, "Provisioned")
    assert view.put("AzurePrivatePeering", peering(PRIVATE)).provisioning_state == "Succeeded"


@pytest.mark.parametrize("name", ["Foo", "PrivatePeering", "AzurePrivatePeering2"])
def test_peering_name_must_be_a_type(view: PeeringView, name: str) -> None:
    error = _rejected(view, name, peering(PRIVATE), "InvalidPeeringName", "name")
    assert name in error["message"]
    assert view.list() == []


def test_peering_type_must_match_name(view: PeeringView) -> None:
    _rejected(
        view,
        "AzurePrivatePeering",
        peering(PRIVATE, peeringType="MicrosoftPeering"),
        "PeeringNameMismatch",
        "properties.peeringType",
    )
    _rejected(
        view,
        "MicrosoftPeering",
        peering(MICROSOFT, peeringType="AzurePrivatePeering"),
        "PeeringNameMismatch",
        "properties.peeringType",
    )
    # peeringType may be left out (the name says it) and the name's case does not matter
    body = peering({k: v for k, v in PRIVATE.items() if k != "peeringType"})
    stored = view.put("azureprivatepeering", body)
    assert stored.name == "AzurePrivatePeering" and stored.peering_type == "AzurePrivatePeering"


# -- peer subnets -----------------------------------------------------------------------------------

P, S = "properties.primaryPeerAddressPrefix", "properties.secondaryPeerAddressPrefix"

BAD_SUBNETS = [
    pytest.param("192.168.100.128/31", "192.168.100.132/30", "InvalidPeerAddressPrefix", P, id="primary-31"),
    pytest.param("192.168.100.128/30", "192.168.100.132/31", "InvalidPeerAddressPrefix", S, id="secondary-31"),
    pytest.param("192.168.100.128/28", None, "InvalidPeerAddressPrefix", P, id="primary-28-alone"),
    pytest.param("192.168.100.128/28", "192.168.100.144/30", "InvalidPeerAddressPrefix", P, id="primary-28"),
    pytest.param("192.168.100.128/30", "192.168.100.136/29", "InvalidPeerAddressPrefix", S, id="secondary-29"),
    pytest.param("192.168.100.129/30", "192.168.100.132/30", "InvalidPeerAddressPrefix", P, id="primary-host-bits"),
    pytest.param("192.168.100.128/30", "192.168.100.134/30", "InvalidPeerAddressPrefix", S, id="secondary-host-bits"),
    pytest.param("2001:db8::/126", "192.168.100.132/30", "InvalidPeerAddressPrefix", P, id="primary-ipv6"),
    pytest.param("192.168.100.128/30", "2001:db8::4/126", "InvalidPeerAddressPrefix", S, id="secondary-ipv6"),
    pytest.param("not-a-prefix", "192.168.100.132/30", "InvalidPeerAddressPrefix", P, id="primary-garbage"),
    pytest.param("192.168.100.128", "192.168.100.132/30", "InvalidPeerAddressPrefix", P, id="primary-no-length"),
    pytest.param("192.168.100.128/30", "192.168.100.128/30", "PeerAddressPrefixesOverlap", S, id="equal"),
    pytest.param("192.168.100.128/29", "192.168.100.136/30", "InvalidPeerAddressPrefix", P, id="29-with-secondary"),
    pytest.param("192.168.100.128/30", None, "MissingPeerAddressPrefix", S, id="secondary-missing"),
    pytest.param(None, "192.168.100.132/30", "MissingPeerAddressPrefix", P, id="primary-missing"),
]


@pytest.mark.parametrize(("primary", "secondary", "code", "field"), BAD_SUBNETS)
def test_bad_peer_subnets(view: PeeringView, primary: str | None, secondary: str | None, code: str, field: str) -> None:
    body = peering(PRIVATE, primaryPeerAddressPrefix=primary, secondaryPeerAddressPrefix=secondary)
    body["properties"] = {k: v for k, v in body["properties"].items() if v is not None}
    _rejected(view, "AzurePrivatePeering", body, code, field)


def test_a_29_is_split_into_two_30s(view: PeeringView) -> None:
    body = peering(PRIVATE, primaryPeerAddressPrefix="192.168.100.128/29")
    del body["properties"]["secondaryPeerAddressPrefix"]
    stored = view.put("AzurePrivatePeering", body)
    assert stored.primary_peer_address_prefix == "192.168.100.128/30"
    assert stored.secondary_peer_address_prefix == "192.168.100.132/30"
    seen = _other(view).get("AzurePrivatePeering")
    assert (seen.primary_peer_address_prefix, seen.secondary_peer_address_prefix) == (
        "192.168.100.128/30",
        "192.168.100.132/30",
    )


def test_two_30s_are_kept(view: PeeringView) -> None:
    body = peering(PRIVATE, primaryPeerAddressPrefix="10.0.0.0/30", secondaryPeerAddressPrefix="10.0.0.8/30")
    stored = view.put("AzurePrivatePeering", body)
    assert (stored.primary_peer_address_prefix, stored.secondary_peer_address_prefix) == ("10.0.0.0/30", "10.0.0.8/30")


@pytest.mark.parametrize(
    ("primary", "secondary", "field"),
    [
        pytest.param("192.168.1.0/30", "131.107.1.4/30", P, id="private-primary"),
        pytest.param("131.107.1.0/30", "10.0.0.4/30", S, id="private-secondary"),
        pytest.param("100.64.0.0/30", "100.64.0.4/30", P, id="cgnat"),
        pytest.param("192.0.2.0/30", "192.0.2.4/30", P, id="documentation"),
        pytest.param("169.254.0.0/29", None, P, id="link-local-29"),
    ],
)
def test_microsoft_peering_subnets_must_be_public(
    view: PeeringView, primary: str, secondary: str | None, field: str
) -> None:
    body = peering(MICROSOFT, primaryPeerAddressPrefix=primary, secondaryPeerAddressPrefix=secondary)
    body["properties"] = {k: v for k, v in body["properties"].items() if v is not None}
    error = _rejected(view, "MicrosoftPeering", body, "InvalidPeerAddressPrefix", field)
    assert "public" in error["message"]


def test_private_peering_subnets_may_be_private_or_public(view: PeeringView) -> None:
    assert view.put("AzurePrivatePeering", peering(PRIVATE)).primary_peer_address_prefix == "192.168.100.128/30"
    public = peering(PRIVATE, primaryPeerAddressPrefix="131.107.9.0/30", secondaryPeerAddressPrefix="131.107.9.4/30")
    assert view.put("AzurePrivatePeering", public).primary_peer_address_prefix == "131.107.9.0/30"


V6P = "properties.ipv6PeeringConfig.primaryPeerAddressPrefix"
V6S = "properties.ipv6PeeringConfig.secondaryPeerAddressPrefix"


@pytest.mark.parametrize(
    ("primary", "secondary", "code", "field"),
    [
        pytest.param("2001:db8:100::/127", "2001:db8:100::4/126", "InvalidPeerAddressPrefix", V6P, id="primary-127"),
        pytest.param("2001:db8:100::/64", None, "InvalidPeerAddressPrefix", V6P, id="primary-64"),
        pytest.param("2001:db8:100::/126", "2001:db8:100::8/125", "InvalidPeerAddressPrefix", V6S, id="secondary-125"),
        pytest.param("2001:db8:100::1/126", "2001:db8:100::4/126", "InvalidPeerAddressPrefix", V6P, id="host-bits"),
        pytest.param("192.168.1.0/30", "192.168.1.4/30", "InvalidPeerAddressPrefix", V6P, id="ipv4"),
        pytest.param("2001:db8:100::/126", "2001:db8:100::/126", "PeerAddressPrefixesOverlap", V6S, id="equal"),
        pytest.param("2001:db8:100::/126", None, "MissingPeerAddressPrefix", V6S, id="secondary-missing"),
    ],
)
def test_bad_ipv6_peer_subnets(view: PeeringView, primary: str, secondary: str | None, code: str, field: str) -> None:
    v6 = {"primaryPeerAddressPrefix": primary}
    if secondary is not None:
        v6["secondaryPeerAddressPrefix"] = secondary
    _rejected(view, "AzurePrivatePeering", peering(PRIVATE, ipv6PeeringConfig=v6), code, field)


def test_ipv6_126s_and_a_split_125(view: PeeringView) -> None:
    v6 = {"primaryPeerAddressPrefix": "2001:db8:100::/126", "secondaryPeerAddressPrefix": "2001:db8:100::4/126"}
    stored = view.put("AzurePrivatePeering", peering(PRIVATE, ipv6PeeringConfig=v6))
    assert stored.ipv6_peering_config.primary_peer_address_prefix == "2001:db8:100::/126"
    assert stored.ipv6_peering_config.secondary_peer_address_prefix == "2001:db8:100::4/126"
    stored = view.put(
        "AzurePrivatePeering", peering(PRIVATE, ipv6PeeringConfig={"primaryPeerAddressPrefix": "2001:db8:200::/125"})
    )
    assert stored.ipv6_peering_config.primary_peer_address_prefix == "2001:db8:200::/126"
    assert stored.ipv6_peering_config.secondary_peer_address_prefix == "2001:db8:200::4/126"
    seen = _other(view).get("AzurePrivatePeering").ipv6_peering_config
    assert (seen.primary_peer_address_prefix, seen.secondary_peer_address_prefix) == (
        "2001:db8:200::/126",
        "2001:db8:200::4/126",
    )


# -- VLANs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vlan", [0, 4095, -1, 65536])
def test_vlan_out_of_range(view: PeeringView, vlan: int) -> None:
    _rejected(view, "AzurePrivatePeering", peering(PRIVATE, vlanId=vlan), "InvalidVlanId", "properties.vlanId")


@pytest.mark.parametrize("vlan", [1, 4094])
def test_vlan_range_bounds_allowed(view: PeeringView, vlan: int) -> None:
    assert view.put("AzurePrivatePeering", peering(PRIVATE, vlanId=vlan)).vlan_id == vlan


def test_vlan_unique_within_the_circuit(view: PeeringView) -> None:
    view.put("AzurePrivatePeering", peering(PRIVATE, vlanId=100))
    error = _rejected(view, "MicrosoftPeering", peering(MICROSOFT, vlanId=100), "VlanIdInUse", "properties.vlanId")
    assert "AzurePrivatePeering" in error["message"]
    # the peering itself keeps its VLAN on a re-PUT, and the other view sees the same rule
    assert view.put("AzurePrivatePeering", peering(PRIVATE, vlanId=100, peerASN=65011)).peer_asn == 65011
    _rejected(_other(view), "MicrosoftPeering", peering(MICROSOFT, vlanId=100), "VlanIdInUse", "properties.vlanId")
    assert view.put("MicrosoftPeering", peering(MICROSOFT, vlanId=101)).vlan_id == 101
    # another circuit may use the same VLAN
    other, _ = provisioned_circuit(view.server, "er2")
    assert (
        PeeringView(view.server, view.view, other, "er2")
        .put("AzurePrivatePeering", peering(PRIVATE, vlanId=100))
        .vlan_id
        == 100
    )


# -- ASNs -------------------------------------------------------------------------------------------

BAD_PRIVATE_ASNS = [
    pytest.param(0, "InvalidPeerAsn", id="0"),
    pytest.param(4294967296, "InvalidPeerAsn", id="4294967296"),
    pytest.param(65515, "ReservedPeerAsn", id="65515"),
    pytest.param(65517, "ReservedPeerAsn", id="65517"),
    pytest.param(65520, "ReservedPeerAsn", id="65520"),
    pytest.param(12076, "ReservedPeerAsn", id="12076"),
    pytest.param(23456, "ReservedPeerAsn", id="23456"),
    pytest.param(64496, "ReservedPeerAsn", id="64496"),
    pytest.param(64511, "ReservedPeerAsn", id="64511"),
]


@pytest.mark.parametrize(("asn", "code"), BAD_PRIVATE_ASNS)
def test_private_peering_rejects_asn(view: PeeringView, asn: int, code: str) -> None:
    _rejected(view, "AzurePrivatePeering", peering(PRIVATE, peerASN=asn), code, "properties.peerASN")


@pytest.mark.parametrize("asn", [1, 64495, 64512, 65514, 65521, 4294967294])
def test_private_peering_accepts_asn(view: PeeringView, asn: int) -> None:
    assert view.put("AzurePrivatePeering", peering(PRIVATE, peerASN=asn)).peer_asn == asn


@pytest.mark.parametrize(
    ("asn", "code"),
    [
        pytest.param(0, "InvalidPeerAsn", id="0"),
        pytest.param(4294967296, "InvalidPeerAsn", id="4294967296"),
        pytest.param(12076, "ReservedPeerAsn", id="12076"),
        pytest.param(23456, "ReservedPeerAsn", id="23456"),
        pytest.param(64500, "ReservedPeerAsn", id="64500"),
    ],
)
def test_microsoft_peering_rejects_asn(view: PeeringView, asn: int, code: str) -> None:
    _rejected(view, "MicrosoftPeering", peering(MICROSOFT, peerASN=asn), code, "properties.peerASN")


def test_microsoft_peering_allows_65515_to_65520(view: PeeringView) -> None:
    for asn in (65515, 65520):
        assert view.put("MicrosoftPeering", peering(MICROSOFT, peerASN=asn)).peer_asn == asn


# -- shared key -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a" * 26, "abc-123", "abc 123", "abc_123", "p\u00e4ssword", "abc!"])
def test_bad_shared_key(view: PeeringView, key: str) -> None:
    error = _rejected(
        view, "AzurePrivatePeering", peering(PRIVATE, sharedKey=key), "InvalidSharedKey", "properties.sharedKey"
    )
    assert key not in error["message"]  # a secret is not echoed


def test_shared_key_of_25_alphanumerics(view: PeeringView) -> None:
    key = "Abc123" * 4 + "Z"
    assert len(key) == 25
    assert view.put("AzurePrivatePeering", peering(PRIVATE, sharedKey=key)).shared_key == key


# -- Microsoft peering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config", [None, {}, {"advertisedPublicPrefixes": []}], ids=["no-config", "empty", "empty-list"]
)
def test_microsoft_peering_needs_advertised_prefixes(view: PeeringView, config: dict[str, Any] | None) -> None:
    body = peering(MICROSOFT)
    if config is None:
        del body["properties"]["microsoftPeeringConfig"]
    else:
        body["properties"]["microsoftPeeringConfig"] = config
    _rejected(view, "MicrosoftPeering", body, "MissingAdvertisedPublicPrefixes", MS_PREFIXES)


NOT_PUBLIC = [
    "10.0.0.0/24",
    "192.168.0.0/24",
    "172.16.0.0/16",  # RFC 1918
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local
    "224.0.0.0/24",
    "239.1.0.0/16",  # multicast
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",  # documentation
    "100.64.0.0/10",  # CGNAT (shared address space)
    "0.0.0.0/0",  # the default route
    "10.0.0.0/7",
    "8.0.0.0/5",
    "100.0.0.0/8",  # supernets of private or shared ranges
    "240.0.0.0/4",  # reserved
    "131.107.3.1/24",  # host bits set
    "not-a-prefix",
    "2001:db8::/32",  # not IPv4
]


@pytest.mark.parametrize("prefix", NOT_PUBLIC)
def test_microsoft_peering_rejects_prefix(view: PeeringView, prefix: str) -> None:
    config = {**MICROSOFT["microsoftPeeringConfig"], "advertisedPublicPrefixes": ["131.107.2.0/24", prefix]}
    error = _rejected(
        view,
        "MicrosoftPeering",
        peering(MICROSOFT, microsoftPeeringConfig=config),
        "InvalidAdvertisedPublicPrefix",
        f"{MS_PREFIXES}[1]",
    )
    assert error["target"] == f"{MS_PREFIXES}[1]"


V6_MS = "properties.ipv6PeeringConfig.microsoftPeeringConfig.advertisedPublicPrefixes"


def _ms_v6(prefixes: list[str]) -> dict[str, Any]:
    config = {**MICROSOFT_IPV6["microsoftPeeringConfig"], "advertisedPublicPrefixes": prefixes}
    return peering(MICROSOFT, ipv6PeeringConfig={**MICROSOFT_IPV6, "microsoftPeeringConfig": config})


@pytest.mark.parametrize(
    "prefix",
    ["2001:db8::/48", "fd00::/48", "fe80::/64", "ff02::/16", "::1/128", "::/0", "131.107.2.0/24", "2001:67c:2e8::1/48"],
)
def test_microsoft_peering_rejects_ipv6_prefix(view: PeeringView, prefix: str) -> None:
    error = _rejected(
        view, "MicrosoftPeering", _ms_v6(["2001:67c:2e8::/48", prefix]), "InvalidAdvertisedPublicPrefix", f"{V6_MS}[1]"
    )
    assert error["target"] == f"{V6_MS}[1]"


def test_microsoft_peering_ipv6_subnets_must_be_public(view: PeeringView) -> None:
    body = _ms_v6(["2001:67c:2e8::/48"])
    body["properties"]["ipv6PeeringConfig"]["primaryPeerAddressPrefix"] = "fd00:1::/126"
    _rejected(view, "MicrosoftPeering", body, "InvalidPeerAddressPrefix", V6P)


def test_microsoft_peering_ipv6_public_prefix(view: PeeringView) -> None:
    stored = view.put("MicrosoftPeering", _ms_v6(["2001:67c:2e8::/48"]))
    config = stored.ipv6_peering_config.microsoft_peering_config
    assert config.advertised_public_prefixes == ["2001:67c:2e8::/48"]
    assert config.advertised_public_prefixes_state == "Configured"  # registered to AS 3333 (RIPE NCC)
    _rejected(view, "MicrosoftPeering", _ms_v6([]), "MissingAdvertisedPublicPrefixes", V6_MS)


def test_routing_registry_name(view: PeeringView) -> None:
    config = {**MICROSOFT["microsoftPeeringConfig"], "routingRegistryName": "NOTAREGISTRY"}
    _rejected(
        view,
        "MicrosoftPeering",
        peering(MICROSOFT, microsoftPeeringConfig=config),
        "InvalidRoutingRegistryName",
        "properties.microsoftPeeringConfig.routingRegistryName",
    )
    config["routingRegistryName"] = "level3"
    stored = view.put("MicrosoftPeering", peering(MICROSOFT, microsoftPeeringConfig=config))
    assert stored.microsoft_peering_config.routing_registry_name == "LEVEL3"
    assert _other(view).get("MicrosoftPeering").microsoft_peering_config.routing_registry_name == "LEVEL3"


def _ms(prefixes: list[str], customer_asn: int) -> dict[str, Any]:
    return peering(
        MICROSOFT,
        microsoftPeeringConfig={
            "advertisedPublicPrefixes": prefixes,
            "customerASN": customer_asn,
            "routingRegistryName": "ARIN",
        },
    )


def test_advertised_prefix_state_follows_the_routing_registry(view: PeeringView) -> None:
    server = view.server
    registry = server.operator("GET", "/routing-registry")
    assert registry.status_code == 200
    entries = registry.json()["value"]
    assert {"prefix": "131.107.0.0/16", "asn": 3598, "registry": "ARIN"} in entries

    def prefix_state() -> str:
        return view.get("MicrosoftPeering").microsoft_peering_config.advertised_public_prefixes_state

    view.put("MicrosoftPeering", _ms(["131.107.2.0/24"], 3598))
    assert prefix_state() == "Configured"
    view.put("MicrosoftPeering", _ms(["131.107.2.0/24"], 3333))  # registered, but to another ASN
    assert prefix_state() == "ValidationNeeded"
    view.put("MicrosoftPeering", _ms(["131.107.2.0/24", "8.8.8.0/24"], 3598))  # one of two not registered
    assert prefix_state() == "ValidationNeeded"
    view.put("MicrosoftPeering", _ms(["8.8.8.0/24"], 15169))
    assert prefix_state() == "ValidationNeeded"
    assert (
        _other(view).get("MicrosoftPeering").microsoft_peering_config.advertised_public_prefixes_state
        == "ValidationNeeded"
    )

    r = server.operator(
        "PUT", "/routing-registry", {"value": [*entries, {"prefix": "8.8.8.0/24", "asn": 15169, "registry": "ARIN"}]}
    )
    assert r.status_code == 200, r.text
    assert prefix_state() == "ValidationNeeded"  # until the peering is written again
    view.put("MicrosoftPeering", _ms(["8.8.8.0/24"], 15169))
    assert prefix_state() == "Configured"


# -- what the record shows --------------------------------------------------------------------------


def test_record_fields_and_both_views(view: PeeringView) -> None:
    xc = find_cross_connection(view.server, view.key)
    stored = view.put("AzurePrivatePeering", peering(PRIVATE))
    assert stored.azure_asn == 12076
    assert (stored.primary_azure_port, stored.secondary_azure_port) == (xc.primary_azure_port, xc.secondary_azure_port)
    assert stored.last_modified_by == view.modified_by
    other = _other(view)
    seen = other.get("AzurePrivatePeering")
    assert seen.last_modified_by == view.modified_by and seen.azure_asn == 12076
    assert (seen.primary_azure_port, seen.secondary_azure_port) == (xc.primary_azure_port, xc.secondary_azure_port)
    assert seen.etag == stored.etag

    rewritten = other.put("AzurePrivatePeering", peering(PRIVATE, vlanId=150))
    assert rewritten.etag != stored.etag and rewritten.last_modified_by == other.modified_by
    assert view.get("AzurePrivatePeering").last_modified_by == other.modified_by
    assert view.get("AzurePrivatePeering").vlan_id == 150
    again = view.put("AzurePrivatePeering", peering(PRIVATE, vlanId=150))
    assert again.etag != rewritten.etag

    # deleting from one side removes the record from both
    other.delete("AzurePrivatePeering")
    assert view.list() == [] and other.list() == []
    with pytest.raises(ResourceNotFoundError):
        view.get("AzurePrivatePeering")


def test_partner_delete_removes_the_customer_view(server: Server) -> None:
    circuit, _ = provisioned_circuit(server)
    partner = PeeringView(server, "crossConnection", circuit)
    customer = PeeringView(server, "circuit", circuit)
    customer.put("AzurePrivatePeering", peering(PRIVATE))
    customer.put("MicrosoftPeering", peering(MICROSOFT))
    partner.delete("MicrosoftPeering")
    assert [p.name for p in customer.list()] == ["AzurePrivatePeering"]
    circuit_view = server.network("customer").express_route_circuits.get("customer-rg", "er1")
    assert [p.name for p in circuit_view.peerings] == ["AzurePrivatePeering"]
