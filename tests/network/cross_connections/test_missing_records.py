"""A view whose linked record is missing never answers 500.

A cross connection is a view of its circuit record. Should the circuit be gone while the cross
connection row stays (a race before the writes were serialized left such rows behind; a snapshot
may hold one), the partner's list leaves it out and a GET answers 404 — the rest of the list
still works. A circuit whose cross connection row is missing is shown and deleted as usual.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.network import API, PRIVATE, XC_GROUP, circuit_path, create_circuit, cross_connection_path, peering


def _export(server: Server) -> dict[str, Any]:
    """All state as the operator exports it (``Server.snapshot`` drops what an import needs)."""
    r = server.operator("GET", "/snapshot")
    assert r.status_code == 200, r.text
    return dict(r.json()["tables"])


def _import(server: Server, tables: dict[str, Any]) -> None:
    r = server.operator("PUT", "/snapshot", {"format": "crossconnect-snapshot/1", "tables": tables})
    assert r.status_code == 200, r.text


def _with_orphan(server: Server, xc_key: str) -> tuple[dict[str, Any], str]:
    """The current state plus a copy of cross connection ``xc_key`` whose circuit does not exist."""
    tables = _export(server)
    rows = tables["resources"]
    xc = next(r for r in rows if r["key"] == xc_key)
    orphan_name = str(uuid.uuid4())
    orphan = copy.deepcopy(xc)
    orphan.update(
        seq=max(r["seq"] for r in rows) + 1,
        key=xc["key"].rsplit("/", 1)[0] + "/" + orphan_name,
        id=xc["id"].rsplit("/", 1)[0] + "/" + orphan_name,
        name=orphan_name,
    )
    orphan["body"]["internal"]["circuitKey"] = xc["body"]["internal"]["circuitKey"] + "-gone"
    rows.append(orphan)
    return tables, orphan_name


def test_a_cross_connection_without_its_circuit_is_not_shown(server: Server) -> None:
    circuit = create_circuit(server)
    xc_key = cross_connection_path(server, circuit.service_key).lower()
    tables, orphan = _with_orphan(server, xc_key)
    _import(server, tables)
    partner = server.network("partner")
    listed = [x.name for x in partner.express_route_cross_connections.list()]
    assert listed == [circuit.service_key]  # 200, the orphan left out
    assert [x.name for x in partner.express_route_cross_connections.list_by_resource_group(XC_GROUP)] == listed
    assert partner.express_route_cross_connections.get(XC_GROUP, circuit.service_key).name == circuit.service_key
    # the look-up by service key leaves it out too
    assert list(partner.express_route_cross_connections.list(filter=f"name eq '{orphan.upper()}'")) == []
    found = partner.express_route_cross_connections.list(filter=f"name eq '{circuit.service_key}'")
    assert [x.name for x in found] == [circuit.service_key]
    with httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=30,
                      headers={"Authorization": f"Bearer {server.token('partner')}"}) as c:  # fmt: skip
        path = cross_connection_path(server, orphan)
        for method, url, body in (
            ("GET", path, None),
            ("PUT", path, {"properties": {"serviceProviderProvisioningState": "Provisioned"}}),
            ("GET", f"{path}/peerings", None),
            ("GET", f"{path}/peerings/AzurePrivatePeering", None),
            ("PUT", f"{path}/peerings/AzurePrivatePeering", peering(PRIVATE)),
        ):
            r = c.request(method, url, params={"api-version": API}, json=body)
            assert r.status_code == 404, (method, url, r.status_code, r.text)
            assert r.json()["error"]["code"] == "ResourceNotFound", r.text
    r = server.operator("GET", f"/lab/circuits/{orphan}/edge")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "ResourceNotFound")
    after = server.snapshot()["resources"]
    assert [r for r in after if r["name"] == orphan][0]["etag"] == [r for r in tables["resources"] if r["name"] == orphan][0]["etag"]  # fmt: skip


def test_a_circuit_without_its_cross_connection_is_shown_and_deleted(server: Server) -> None:
    circuit = create_circuit(server)
    xc_key = cross_connection_path(server, circuit.service_key).lower()
    tables = _export(server)
    tables["resources"] = [r for r in tables["resources"] if r["key"] != xc_key]
    _import(server, tables)
    customer = server.network("customer")
    assert customer.express_route_circuits.get("customer-rg", "er1").service_key == circuit.service_key
    assert [c.name for c in customer.express_route_circuits.list("customer-rg")] == ["er1"]
    assert list(server.network("partner").express_route_cross_connections.list()) == []
    customer.express_route_circuits.begin_delete("customer-rg", "er1").result()
    try:
        customer.express_route_circuits.get("customer-rg", "er1")
        raise AssertionError("the circuit is still there")
    except ResourceNotFoundError:
        pass
    assert not any(r["key"] == circuit_path(server).lower() for r in server.snapshot()["resources"])
