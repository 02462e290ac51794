"""The troubleshooting tests of the model backend (test_fabric_troubleshooting.py), run again on
the netns fabric: the same calls, the same response shapes, answered from the wire (BIRD in
network namespaces). Needs root and BIRD 2."""

from __future__ import annotations

import pytest

from tests.fabric.support import NETNS_MARKS
from tests.fabric.test_fabric_troubleshooting import *  # noqa: F403 - the model's tests, collected again here
from tests.support import Server

pytestmark = NETNS_MARKS


@pytest.fixture
def server(netns_server: Server) -> Server:  # noqa: F811 - the model module's tests use this server
    """The module's netns server (tests/fabric/conftest.py), reset to the seeded set-up."""
    netns_server.reset()
    return netns_server


# Where BIRD names a state differently from the model, the test says what the speaker reports.
NOT_ESTABLISHED = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm")


def test_vlan_mismatch_breaks_arp_and_bgp(server: Server, provisioned) -> None:  # noqa: F811
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"cTag": 999}}})  # noqa: F405
    assert arp(server, provisioned.name)[0][2] == "Incomplete"  # noqa: F405
    assert summary(server, provisioned.name)[0][2] in NOT_ESTABLISHED  # noqa: F405
    assert routes(server, provisioned.name) == []  # noqa: F405
    assert summary(server, provisioned.name, "secondary")[0][2] == "3"  # noqa: F405


def test_wrong_peer_asn_and_md5(server: Server, provisioned) -> None:  # noqa: F811
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"asn": 65099}}})  # noqa: F405
    assert arp(server, provisioned.name)[0][2] != "Incomplete"  # noqa: F405
    assert summary(server, provisioned.name)[0][2] in NOT_ESTABLISHED  # noqa: F405
    md5 = {"peerings": {"AzurePrivatePeering": {"asn": 65010, "md5": "wrong"}}}
    declare(server, provisioned.name, "primary", md5)  # noqa: F405
    assert summary(server, provisioned.name)[0][2] in NOT_ESTABLISHED  # noqa: F405
    declare(server, provisioned.name, "primary", {"peerings": {"AzurePrivatePeering": {"md5": "abc123"}}})  # noqa: F405
    assert summary(server, provisioned.name)[0][2] == "3"  # noqa: F405 - the right key: back up


def test_flap_then_recover(server: Server, provisioned) -> None:  # noqa: F811
    """A flap disables the neighbour on the MSEE (BIRD: down, shown as Idle (Admin)), then
    re-enables it."""
    import time

    body = {"serviceKey": provisioned.name, "peeringType": "AzurePrivatePeering", "link": "primary", "seconds": 1.5}
    assert server.operator("POST", "/faults-flap", body).status_code == 200
    assert summary(server, provisioned.name)[0][2] == "Idle (Admin)"  # noqa: F405
    time.sleep(1.6)
    assert summary(server, provisioned.name)[0][2] == "3"  # noqa: F405
