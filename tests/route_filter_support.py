"""Helpers for the route-filter tests: circuits with peerings, route filters through the real
azure-mgmt-network SDK, raw HTTPS for what the SDK cannot send, and "nothing changed" checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from azure.core.exceptions import HttpResponseError

from tests.network_support import COMPARED_TABLES, MICROSOFT  # noqa: F401 - re-exported for the route-filter tests
from tests.support import Server

API = "2024-07-01"
GROUP = "customer-rg"
FILTER_GROUP = "filters-rg"
XC_GROUP = "CrossConnection-Area51"
NETWORK = "providers/Microsoft.Network"

PRIVATE = {
    "peeringType": "AzurePrivatePeering",
    "peerASN": 65010,
    "vlanId": 100,
    "primaryPeerAddressPrefix": "192.168.100.128/30",
    "secondaryPeerAddressPrefix": "192.168.100.132/30",
}


def rule(communities: list[str], access: str = "Allow", rule_type: str = "Community") -> dict[str, Any]:
    return {"properties": {"access": access, "routeFilterRuleType": rule_type, "communities": communities}}


def filter_body(*rules: tuple[str, list[str]], location: str = "westus", **extra: Any) -> dict[str, Any]:
    """A route filter PUT body; ``rules`` are (name, communities) pairs sent inline."""
    body: dict[str, Any] = {"location": location, "properties": {}, **extra}
    if rules:
        body["properties"]["rules"] = [{"name": name, **rule(communities)} for name, communities in rules]
    return body


def ensure_group(server: Server, role: str, group: str) -> None:
    """The group in ``role``'s subscription, created by the subscription admin: the partner (Network
    Contributor) may create route filters but not resource groups."""
    rc = server.resources("admin", subscription=server.subscription(role))
    rc.resource_groups.create_or_update(group, {"location": "westus"})


def create_filter(
    server: Server,
    name: str = "filter1",
    *rules: tuple[str, list[str]],
    role: str = "customer",
    group: str = FILTER_GROUP,
) -> Any:
    ensure_group(server, role, group)
    return server.network(role).route_filters.begin_create_or_update(group, name, filter_body(*rules)).result()


def filter_path(server: Server, name: str = "filter1", role: str = "customer", group: str = FILTER_GROUP) -> str:
    return f"/subscriptions/{server.subscription(role)}/resourceGroups/{group}/{NETWORK}/routeFilters/{name}"


def raw(server: Server, role: str, method: str, path: str, body: Any = None, **query: str) -> httpx.Response:
    with server.http(role) as client:
        return client.request(method, path, params={"api-version": API, **query}, json=body)


# -- circuits and peerings --------------------------------------------------------------------------


def provisioned_circuit(server: Server, name: str = "er1") -> tuple[Any, Any]:
    """A customer circuit whose provider has provisioned layer 2, and its cross connection."""
    ensure_group(server, "customer", GROUP)
    circuit = (
        server.network("customer")
        .express_route_circuits.begin_create_or_update(
            GROUP,
            name,
            {
                "location": "westus",
                "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
                "properties": {
                    "serviceProviderProperties": {
                        "serviceProviderName": "Ibiza Test Provider",
                        "peeringLocation": "Area51",
                        "bandwidthInMbps": 50,
                    }
                },
            },
        )
        .result()
    )
    partner = server.network("partner")
    xc = partner.express_route_cross_connections.get(XC_GROUP, circuit.service_key)
    xc.service_provider_provisioning_state = "Provisioned"
    xc = partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, xc.name, xc).result()
    return circuit, xc


def circuit_peering(server: Server, name: str, props: dict[str, Any], circuit: str = "er1") -> Any:
    return (
        server.network("customer")
        .express_route_circuit_peerings.begin_create_or_update(GROUP, circuit, name, {"properties": props})
        .result()
    )


def xc_peering(server: Server, service_key: str, name: str, props: dict[str, Any]) -> Any:
    return (
        server.network("partner")
        .express_route_cross_connection_peerings.begin_create_or_update(
            XC_GROUP, service_key, name, {"properties": props}
        )
        .result()
    )


def circuit_peering_path(server: Server, name: str, circuit: str = "er1") -> str:
    sub = server.subscription("customer")
    return f"/subscriptions/{sub}/resourceGroups/{GROUP}/{NETWORK}/expressRouteCircuits/{circuit}/peerings/{name}"


def xc_peering_path(server: Server, service_key: str, name: str) -> str:
    sub = server.subscription("partner")
    return (
        f"/subscriptions/{sub}/resourceGroups/{XC_GROUP}/{NETWORK}/expressRouteCrossConnections/{service_key}"
        f"/peerings/{name}"
    )


# -- "nothing changed" ------------------------------------------------------------------------------


def state(server: Server) -> dict[str, Any]:
    """The compared tables once no operation is still running."""
    deadline = time.time() + 15
    while True:
        tables = server.snapshot()
        if all(op["status"] != "InProgress" for op in tables.get("operations", [])) or time.time() > deadline:
            return {name: tables.get(name, []) for name in COMPARED_TABLES}
        time.sleep(0.05)


def rejected(
    server: Server, call: Callable[[], Any], status: int, code: str, named: str | None = None
) -> dict[str, Any]:
    """Run ``call`` (an SDK call, or a raw request returning an httpx.Response), expect the ARM error
    ``status``/``code`` (its target or message naming ``named``), and that no state changed."""
    before = state(server)
    try:
        result = call()
    except HttpResponseError as exc:
        assert exc.error is not None, exc
        error = {"code": exc.error.code, "message": exc.error.message, "target": exc.error.target}
        got = exc.status_code
    else:
        assert isinstance(result, httpx.Response), f"expected {status} {code}, the call succeeded: {result}"
        got = result.status_code
        error = result.json().get("error", {}) if result.content else {}
    assert got == status, (got, error)
    assert error.get("code") == code, error
    if named is not None:
        assert named in f"{error.get('target') or ''} {error.get('message') or ''}", f"{named!r} not named in {error}"
    after = state(server)
    for name in COMPARED_TABLES:
        assert after[name] == before[name], f"table {name!r} changed"
    return error
