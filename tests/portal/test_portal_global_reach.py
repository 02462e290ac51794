"""The circuit blade's Global Reach section: both circuits show the connection, each naming the
other end, its direction, prefix and status."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.portal.support import PageErrors, Portal
from tests.support import Server
from tests.support.network import GROUP, PRIVATE, circuit_peering, circuit_peering_path, provisioned_circuit

pytestmark = pytest.mark.browser

PP = "AzurePrivatePeering"


def test_circuit_blade_shows_global_reach_on_both_sides(portal: Portal, server: Server) -> None:  # noqa: F811
    page = portal.page
    errors = PageErrors(page)
    er1, _ = provisioned_circuit(server, "er1")
    er2, _ = provisioned_circuit(server, "er2")
    circuit_peering(server, PP, PRIVATE, circuit="er1")
    peer_private = {
        **PRIVATE,
        "primaryPeerAddressPrefix": "192.168.200.0/30",
        "secondaryPeerAddressPrefix": "192.168.200.4/30",
    }
    circuit_peering(server, PP, peer_private, circuit="er2")
    portal.sign_in_as_user()
    portal.go(f"#/circuit/{quote(er1.id, safe='')}", "circuit")
    assert "No Global Reach connections" in page.inner_text("#global-reach")

    body = {
        "properties": {
            "peerExpressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er2")},
            "addressPrefix": "10.0.0.0/29",
        }
    }
    connections = server.network("customer").express_route_circuit_connections
    connections.begin_create_or_update(GROUP, "er1", PP, "gr1", body).result()

    portal.go("#/circuits", "circuits")  # away and back: the blade renders afresh
    portal.go(f"#/circuit/{quote(er1.id, safe='')}", "circuit")
    rows = page.locator("#global-reach tbody tr")
    expect(rows).to_have_count(1)  # waits for the blade's asynchronous render
    text = rows.first.inner_text()
    for expected in ("gr1", "Outgoing", "er2", "10.0.0.0/29", "Connected"):
        assert expected in text, (expected, text)

    portal.go(f"#/circuit/{quote(er2.id, safe='')}", "circuit")
    rows = page.locator("#global-reach tbody tr")
    expect(rows).to_have_count(1)  # waits for the blade's asynchronous render
    text = rows.first.inner_text()
    for expected in ("gr1", "Incoming", "er1", "10.0.0.0/29", "Connected"):
        assert expected in text, (expected, text)
    assert errors.seen == []
