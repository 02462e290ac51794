"""Property-based tests of the device model's derivation rules (pure functions, no server)."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from crossconnect.fabric import wire
from crossconnect.fabric.addressing import link_addresses, same_subnet
from crossconnect.fabric.edge import EdgeLink, EdgePeering

ipv4_30 = st.integers(min_value=0, max_value=(1 << 30) - 1).map(lambda n: ipaddress.IPv4Network((n << 2, 30)))
ipv6_126 = st.integers(min_value=0, max_value=(1 << 126) - 1).map(lambda n: ipaddress.IPv6Network((n << 2, 126)))


@given(st.one_of(ipv4_30, ipv6_126))
def test_msee_takes_the_second_usable_address(network) -> None:
    link = link_addresses(str(network))
    assert int(link.partner) == int(network.network_address) + 1
    assert int(link.msee) == int(network.network_address) + 2
    assert link.partner in network and link.msee in network
    assert same_subnet(str(link.partner), network.prefixlen, link)
    assert not same_subnet(str(link.msee), network.prefixlen, link)


def _inputs(network, s_tag, vlan, edge_s_tag, edge_c_tag, edge_address, edge_len, ms_up, edge_up) -> wire.LinkInputs:
    link = link_addresses(str(network))
    placement = {
        "primaryAzurePort": "A51-TEST-06GMR-CIS-1-PRI-A",
        "secondaryAzurePort": "A51-TEST-06GMR-CIS-2-SEC-A",
        "sTag": s_tag,
    }
    props = {
        "primaryPeerAddressPrefix": str(network),
        "secondaryPeerAddressPrefix": str(network),
        "vlanId": vlan,
        "peerASN": 65010,
        "sharedKey": "k",
        "state": "Enabled",
    }
    edge_peering = EdgePeering(edge_c_tag, edge_address, edge_len, 65010, 12076, "k", [{"prefix": "10.0.0.0/8"}])
    assert link.partner is not None
    return wire.LinkInputs(
        link="primary",
        service_key="k",
        peering_type="AzurePrivatePeering",
        programmed=wire.program("primary", placement, props),
        edge=EdgeLink(edge_up, edge_s_tag, {"AzurePrivatePeering": edge_peering}),
        edge_peering=edge_peering,
        microsoft_link_up=ms_up,
        flapping=False,
        prefix_limit=4000,
        admin_down_reason=None,
        since=1.0,
    )


tags = st.integers(min_value=1, max_value=4094)


@given(
    ipv4_30,
    tags,
    tags,
    tags,
    tags,
    st.booleans(),
    st.integers(min_value=24, max_value=32),
    st.booleans(),
    st.booleans(),
)
def test_arp_resolves_iff_tags_subnet_and_link_agree(
    network, s_tag, vlan, edge_s, edge_c, use_partner_ip, edge_len, ms_up, edge_up
) -> None:
    link = link_addresses(str(network))
    address = str(link.partner if use_partner_ip else link.msee)
    inputs = _inputs(network, s_tag, vlan, edge_s, edge_c, address, edge_len, ms_up, edge_up)
    expected = s_tag == edge_s and vlan == edge_c and use_partner_ip and edge_len == 30 and ms_up and edge_up
    assert wire.arp_resolves(inputs) is expected
    table = wire.arp_table(inputs)
    if not ms_up:
        assert table == []  # Microsoft side down: no ARP table at all
    else:
        assert table[1]["interface"] == "Microsoft" and table[1]["ipAddress"] == str(link.msee)
        assert (table[0]["macAddress"] != "Incomplete") is expected
    # BGP is established only when ARP resolves (everything else here agrees)
    assert wire.session(inputs).established is expected


@given(st.integers(min_value=0, max_value=10_000_000))
def test_up_down_format(seconds) -> None:
    import time

    now = time.time()
    text = wire.up_down(now - seconds, True, now)
    if seconds < 86400:
        h, m, s = (int(x) for x in text.split(":"))
        assert h * 3600 + m * 60 + s == seconds
    elif seconds < 7 * 86400:
        assert text.endswith("h") and "d" in text
    else:
        assert "w" in text and text.endswith("d")
