"""The portal's circuit blade lists the virtual networks connected to the circuit (their ExpressRoute
connections), and its route tables show both sides once one is connected."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.portal.support import PageErrors, Portal
from tests.support import Server
from tests.support.network import find_cross_connection
from tests.support.virtual_networks import circuit_with_private_peering, connect, customer_side

pytestmark = pytest.mark.browser


def test_circuit_blade_lists_connected_virtual_networks(portal: Portal, server: Server) -> None:
    page = portal.page
    errors = PageErrors(page)
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    portal.sign_in_as_user()
    portal.go(f"#/circuit/{quote(circuit.id, safe='')}", "circuit")
    assert "No virtual networks are connected" in page.inner_text("#circuit-connections")

    connect(server, circuit.id, weight=5)
    portal.go("#/circuits", "circuits")  # away and back: the blade renders afresh
    portal.go(f"#/circuit/{quote(circuit.id, safe='')}", "circuit")
    rows = page.locator("#circuit-connections tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    for expected in ("conn1", "gw1", "Connected"):
        assert expected in text, (expected, text)

    # the partner's troubleshooting view: both sides in the MSEE's tables
    xc = find_cross_connection(server, circuit.service_key)
    portal.go(f"#/xc/{quote(xc.id, safe='')}/troubleshoot", "xcTroubleshoot")
    page.wait_for_selector("#ts-secondary")
    for link in ("primary", "secondary"):
        shown = page.inner_text(f"#ts-{link}")
        for expected in ("10.17.0.0/16", "10.17.255.4", "10.17.255.5", "65515", "10.10.0.0/16", "65010"):
            assert expected in shown, (link, expected, shown)
    assert errors.seen == []
