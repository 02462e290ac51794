"""Circuits on an ExpressRoute Direct port in the portal: the circuit list and the circuit blade
show the port and its bandwidth in Gbps where a provider circuit shows its provider."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.network.direct.support import create_direct_circuit, create_port
from tests.portal.support import PageErrors, Portal
from tests.support import Server
from tests.support.network import create_circuit

pytestmark = pytest.mark.browser


def test_direct_circuit_in_the_list_and_its_blade(portal: Portal, server: Server) -> None:
    page = portal.page
    errors = PageErrors(page)
    create_circuit(server, "er1")
    create_port(server, "port1")
    direct = create_direct_circuit(server, "dc1", bandwidth=5)
    portal.sign_in_as_user()

    portal.go("#/circuits", "circuits")
    rows = {row.inner_text().split("\t")[0].strip(): row.inner_text() for row in page.locator("tbody tr").all()}
    assert "ExpressRoute Direct" in rows["dc1"] and "port port1" in rows["dc1"] and "5 Gbps" in rows["dc1"]
    assert "Ibiza Test Provider" in rows["er1"] and "50 Mbps" in rows["er1"]

    portal.go(f"#/circuit/{quote(direct.id, safe='')}", "circuit")
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    for expected in ("ExpressRoute Direct", "port port1", "5 Gbps", direct.service_key):
        assert expected in text, (expected, text[:500])
    assert errors.seen == []
