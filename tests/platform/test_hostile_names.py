"""Names and paths: a path is decoded once, every resource name follows its type's rule (with
Azure's error code), deleting a resource removes exactly its own subtree, and a cross connection
whose circuit record is missing is a 404, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Server
from tests.support.network import (
    API,
    GROUP,
    XC_GROUP,
    circuit_body,
    circuit_path,
    create_circuit,
    cross_connection_path,
    ensure_group,
    rejected,
)

RESOURCES_API = "2021-04-01"


def put(server: Server, role: str, path: str, body: Any, api_version: str = API) -> httpx.Response:
    with server.http(role) as c:
        return c.put(path, params={"api-version": api_version}, json=body)


def circuits_url(server: Server) -> str:
    return circuit_path(server, "").rstrip("/")


def circuit_names(server: Server) -> list[str]:
    with server.http("customer") as c:
        r = c.get(circuits_url(server), params={"api-version": API})
    assert r.status_code == 200, r.text
    return sorted(x["name"] for x in r.json()["value"])


# -- decoded once ---------------------------------------------------------------------------------
def test_a_double_encoded_slash_is_not_a_slash(server: Server) -> None:
    ensure_group(server)
    error = rejected(
        server, lambda: put(server, "customer", f"{circuits_url(server)}/a%252Fx", circuit_body()), 400,
        "InvalidResourceName", "a%2Fx",
    )  # fmt: skip
    assert "Resource name a%2Fx is invalid" in error["message"]
    # decoded once, %2F is a separator: this path names no circuit, and nothing is created
    with server.http("customer") as c:
        for path in ("a%2Fx", "a%2F..%2Fb"):
            r = c.put(f"{circuits_url(server)}/{path}", params={"api-version": API}, json=circuit_body())
            assert r.status_code in (404, 405), r.text
    assert circuit_names(server) == []


@pytest.mark.parametrize("segment", ["%2E%2E", "%2E", "a.", "-a", "a-", "a%20b", "x%00y", "a" * 81, "a%25b", "a%3Fb"])
def test_network_names_follow_the_rule(server: Server, segment: str) -> None:
    ensure_group(server)
    rejected(
        server, lambda: put(server, "customer", f"{circuits_url(server)}/{segment}", circuit_body()), 400,
        "InvalidResourceName", "The name can be up to 80 characters long",
    )  # fmt: skip


def test_network_names_that_pass_can_be_read_back(server: Server) -> None:
    for name in ("a" * 80, "e1_", "é.b-c_d"):
        circuit = create_circuit(server, name)
        assert server.network("customer").express_route_circuits.get(GROUP, name).service_key == circuit.service_key
    assert circuit_names(server) == sorted(["a" * 80, "e1_", "é.b-c_d"])


def test_route_filter_and_peering_names_follow_the_rule(server: Server) -> None:
    ensure_group(server)
    rf = f"/subscriptions/{server.subscription('customer')}/resourceGroups/{GROUP}/providers/Microsoft.Network/routeFilters"
    rejected(
        server, lambda: put(server, "customer", f"{rf}/a%252Fx", {"location": "westus"}), 400, "InvalidResourceName",
        "a%2Fx",
    )  # fmt: skip
    create_circuit(server)
    rejected(
        server,
        lambda: put(server, "customer", f"{circuit_path(server)}/authorizations/a%00", {"properties": {}}),
        400,
        "InvalidResourceName",
        "a\x00",
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [("my%20rg", "invalid characters: ' '"), ("rg.", "trailing"), ("a" * 91, "91 characters"), ("a%25b", "'%'")],
)
def test_resource_group_names_follow_the_rule(server: Server, name: str, why: str) -> None:
    sub = server.subscription("customer")
    response = rejected(
        server,
        lambda: put(
            server, "admin", f"/subscriptions/{sub}/resourceGroups/{name}", {"location": "westus"}, RESOURCES_API
        ),
        400,
        "InvalidResourceGroup",
    )
    assert why in response["message"]


def test_resource_group_names_that_pass(server: Server) -> None:
    sub = server.subscription("customer")
    for name in ("a" * 90, "(rg)-x_y.z", "grüppe"):
        r = put(server, "admin", f"/subscriptions/{sub}/resourceGroups/{name}", {"location": "westus"}, RESOURCES_API)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == name


# -- deleting removes exactly its own subtree ------------------------------------------------------
def _devices_used(server: Server) -> int:
    r = server.operator("GET", "/devices")
    assert r.status_code == 200, r.text
    return sum(pair["usedBandwidthInMbps"] for pair in r.json()["value"])


def test_delete_removes_exactly_its_own_subtree(server: Server) -> None:
    """A row stored below another circuit's key (as the double decoding once made ``a/x``) is
    not part of circuit ``a``: deleting ``a`` leaves it, and releases only ``a``'s capacity."""
    create_circuit(server, "a")
    create_circuit(server, "ab")
    snapshot = server.operator("GET", "/snapshot").json()
    circuit_a = next(r for r in snapshot["tables"]["resources"] if r["name"] == "a")
    legacy = {**circuit_a, "key": circuit_a["key"] + "/x", "id": circuit_a["id"] + "/x", "name": "a/x",
              "seq": max(r["seq"] for r in snapshot["tables"]["resources"]) + 1}  # fmt: skip
    snapshot["tables"]["resources"].append(legacy)
    assert server.operator("PUT", "/snapshot", snapshot).status_code == 200
    used = _devices_used(server)
    server.network("customer").express_route_circuits.begin_delete(GROUP, "a").result()
    keys = {r["key"] for r in server.operator("GET", "/snapshot").json()["tables"]["resources"]}
    assert circuit_a["key"] not in keys
    assert legacy["key"] in keys, "deleting 'a' removed a resource that is not below it"
    assert circuit_names(server) == ["a/x", "ab"]
    assert _devices_used(server) == used - 50


# -- a missing linked record is a 404, never a 500 ---------------------------------------------------
def test_cross_connection_of_a_missing_circuit_is_not_found(server: Server) -> None:
    circuit = create_circuit(server, "er1")
    snapshot = server.operator("GET", "/snapshot").json()
    snapshot["tables"]["resources"] = [
        r for r in snapshot["tables"]["resources"] if r["type_key"] != "microsoft.network/expressroutecircuits"
    ]
    assert server.operator("PUT", "/snapshot", snapshot).status_code == 200
    xc = cross_connection_path(server, circuit.service_key)
    with server.http("partner") as c:
        listing = c.get(
            f"/subscriptions/{server.subscription('partner')}/providers/Microsoft.Network/expressRouteCrossConnections",
            params={"api-version": API},
        )
        assert listing.status_code == 200, listing.text
        assert [x["name"] for x in listing.json()["value"]] == []
        by_group = c.get(
            f"/subscriptions/{server.subscription('partner')}/resourceGroups/{XC_GROUP}/providers/Microsoft.Network/"
            "expressRouteCrossConnections",
            params={"api-version": API, "$filter": f"name eq '{circuit.service_key}'"},
        )
        assert (by_group.status_code, by_group.json()["value"]) == (200, [])
        for path in (xc, f"{xc}/peerings", f"{xc}/peerings/AzurePrivatePeering"):
            r = c.get(path, params={"api-version": API})
            assert (r.status_code, r.json()["error"]["code"]) == (404, "ResourceNotFound"), (path, r.text)
        r = c.put(
            xc, params={"api-version": API}, json={"properties": {"serviceProviderProvisioningState": "Provisioned"}}
        )
        assert r.status_code == 404, r.text
    assert server.operator("GET", "/snapshot").status_code == 200
