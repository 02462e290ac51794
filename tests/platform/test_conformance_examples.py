"""Conformance: replay Azure's own x-ms-examples against the real server.

Every example in ``../shared/spec/network/2024-07-01/examples`` is one test (per backend). The
examples are read from ``../shared`` at run time, never copied into the project; without
``../shared`` the test is skipped. For each example the test

1. finds its operation (method and path template) in the spec files of the same folder, by the
   ``x-ms-examples`` reference (``paths`` → method → ``x-ms-examples`` → ``$ref``);
2. sets up the state the example needs (resource groups, circuits, provider provisioning,
   peerings, authorizations, ...) and maps the example's placeholders onto it: ``subid`` → the
   seeded customer subscription (circuits) or the partner subscription (cross connections),
   ``CrossConnection-SiliconValley`` / ``<circuitServiceKey>`` → the real cross connection,
   ``peeringName`` / ``devicePath`` → a real peering and device path;
3. sends the example's request (its api-version, its body, adapted only where noted) over HTTPS,
   follows the long-running operation, and checks that the status is one the example lists
   (a PUT that creates must answer the example's 201 when it has one) and that every key of the
   example's response body exists in ours with the same JSON type (recursively; for arrays the
   first elements are compared, and an example's non-empty array must not be empty in ours, as
   nothing could be compared; int and float are one "number"; null in the example matches
   anything);
4. validates the whole response body (and the GET after a PUT/PATCH, and a POST's final result)
   against the spec's response schema for its operation and status (tests/support/spec_schema.py):
   no divergence, and no property outside the spec but the documented extensions.

Operations that belong to later work (route filters, BGP service communities, ARP and route
tables) are skipped, with the reason, while the server answers 404 InvalidResourceType/NotFound
for them; once they exist the same examples check them.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support import SHARED, Server
from tests.support.spec_schema import SpecLibrary, schema_problems

SPEC_DIR = SHARED / "spec" / "network" / "2024-07-01"
EXAMPLES_DIR = SPEC_DIR / "examples"
GROUP_API = "2021-04-01"
PROVIDER = {"serviceProviderName": "Ibiza Test Provider", "peeringLocation": "Area51"}
XC_GROUP = "CrossConnection-Area51"

# Operations built by later work: while the server does not know them (404 InvalidResourceType or
# NotFound), their examples are skipped instead of failed.
LATER_WORK = {
    "RouteFilters_CreateOrUpdate",
    "RouteFilters_Get",
    "RouteFilters_Delete",
    "RouteFilters_UpdateTags",
    "RouteFilters_List",
    "RouteFilters_ListByResourceGroup",
    "RouteFilterRules_CreateOrUpdate",
    "RouteFilterRules_Get",
    "RouteFilterRules_Delete",
    "RouteFilterRules_ListByRouteFilter",
    "BgpServiceCommunities_List",
    "ExpressRouteCircuits_ListArpTable",
    "ExpressRouteCircuits_ListRoutesTable",
    "ExpressRouteCircuits_ListRoutesTableSummary",
    "ExpressRouteCrossConnections_ListArpTable",
    "ExpressRouteCrossConnections_ListRoutesTable",
    "ExpressRouteCrossConnections_ListRoutesTableSummary",
}
LATER_WORK_CODES = {"InvalidResourceType", "NotFound"}

# Examples of features this server deliberately does not offer: skipped when the server answers
# with exactly this documented refusal.
UNSUPPORTED: dict[str, tuple[int, str, str]] = {}

# Keys the examples show that only exist with resources this project does not model at all.
NOT_MODELLED = {
    "expressRouteConnection": "set only when a Virtual WAN ExpressRoute gateway connects to the peering "
    "(Virtual WAN is not modelled)",
}


# -- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    body_parameter: str | None
    long_running: bool


@cache
def operations_by_example() -> dict[str, Operation]:
    """Example file name → its operation, from every spec file next to the examples."""
    found: dict[str, Operation] = {}
    for spec_file in sorted(SPEC_DIR.glob("*.json")):
        spec = json.loads(spec_file.read_text())
        for path, methods in spec.get("paths", {}).items():
            for method, op in methods.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                body = next((p["name"] for p in op.get("parameters", []) if p.get("in") == "body"), None)
                for ref in (op.get("x-ms-examples") or {}).values():
                    name = Path(ref["$ref"]).name
                    found[name] = Operation(
                        op["operationId"], method.upper(), path, body, bool(op.get("x-ms-long-running-operation"))
                    )
    return found


@cache
def spec_library() -> SpecLibrary:
    return SpecLibrary(SHARED / "spec")


def example_names() -> list[str]:
    if not EXAMPLES_DIR.is_dir():
        return ["(../shared is absent)"]
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.json"))


# -- JSON shapes ---------------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(type(value))


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def shape_mismatches(expected: Any, actual: Any, where: str, tolerated: dict[str, str]) -> list[str]:
    """Every key of ``expected`` must exist in ``actual`` with the same JSON type (recursively)."""
    if expected is None:
        return []
    want, got = json_type(expected), json_type(actual)
    if want != got:
        return [f"{where}: expected {want} like the example ({_short(expected)}), got {got} ({_short(actual)})"]
    problems: list[str] = []
    if want == "object":
        for key, value in expected.items():
            if key not in actual:
                if key not in tolerated:
                    problems.append(f"{where}.{key}: missing (the example has {_short(value)})")
                continue
            problems += shape_mismatches(value, actual[key], f"{where}.{key}", tolerated)
    elif want == "array" and expected:
        if not actual:
            # Nothing could be compared: the state set up for the example lacks what it shows.
            return [f"{where}: empty, so the example's entries ({_short(expected[0])}) could not be compared"]
        problems += shape_mismatches(expected[0], actual[0], f"{where}[0]", tolerated)
    return problems


# -- the state an example needs -----------------------------------------------------------------


class Skip(Exception):
    """A later-work operation the server does not know yet."""


@dataclass
class Case:
    """The request to send, after mapping the example onto real state."""

    role: str
    params: dict[str, str]
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    tolerated: dict[str, str] = field(default_factory=dict)


class World:
    """Builds real state over HTTPS as the customer or the partner."""

    def __init__(self, server: Server, api_version: str) -> None:
        self.server = server
        self.api_version = api_version
        self.clients = {role: server.http(role) for role in ("customer", "partner")}
        self.subscriptions = {role: server.subscription(role) for role in ("customer", "partner")}

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    # -- HTTP --------------------------------------------------------------------------------
    def send(
        self,
        role: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        api_version: str | None = None,
        query: dict[str, str] | None = None,
    ) -> httpx.Response:
        params = {"api-version": api_version or self.api_version, **(query or {})}
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["json"] = body
        return self.clients[role].request(method, path, **kwargs)

    def finish(self, role: str, response: httpx.Response, timeout: float = 30) -> httpx.Response | None:
        """Follow a long-running operation to its end. Returns the final response of the
        ``Location`` URL when the operation has one (the result of a POST), else None."""
        client = self.clients[role]
        async_url = response.headers.get("Azure-AsyncOperation")
        location = response.headers.get("Location")
        deadline = time.time() + timeout
        if async_url:
            while True:
                status = client.get(async_url)
                assert status.status_code == 200, f"polling {async_url}: {status.status_code} {status.text}"
                state = status.json().get("status")
                if state not in ("InProgress", None):
                    assert state == "Succeeded", f"operation ended {state}: {status.text}"
                    break
                assert time.time() < deadline, f"operation {async_url} still running after {timeout}s"
                time.sleep(0.2)
        if not location:
            return None
        while True:
            result = client.get(location)
            if result.status_code != 202:
                return result
            assert time.time() < deadline, f"operation {location} still running after {timeout}s"
            time.sleep(0.2)

    def ok(
        self,
        role: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        operation_id: str | None = None,
        api_version: str | None = None,
    ) -> Any:
        """A setup request that must succeed (LRO followed); returns the resource after it.
        A later-work operation the server does not know raises Skip."""
        r = self.send(role, method, path, body, api_version=api_version)
        later_work(operation_id, r)
        assert r.status_code in (200, 201, 202, 204), f"setup {method} {path}: {r.status_code} {r.text}"
        self.finish(role, r)
        if method in ("PUT", "PATCH"):
            final = self.send(role, "GET", path, api_version=api_version)
            assert final.status_code == 200, f"setup GET {path}: {final.status_code} {final.text}"
            return final.json()
        return None

    # -- paths -------------------------------------------------------------------------------
    def group_path(self, role: str, group: str) -> str:
        return f"/subscriptions/{self.subscriptions[role]}/resourceGroups/{group}"

    def circuit_path(self, group: str, name: str) -> str:
        return f"{self.group_path('customer', group)}/providers/Microsoft.Network/expressRouteCircuits/{name}"

    def cross_connection_path(self, service_key: str) -> str:
        return (
            f"{self.group_path('partner', XC_GROUP)}/providers/Microsoft.Network/"
            f"expressRouteCrossConnections/{service_key}"
        )

    # -- resources ---------------------------------------------------------------------------
    def group(self, name: str, location: str = "westus") -> None:
        self.ok("customer", "PUT", self.group_path("customer", name), {"location": location}, api_version=GROUP_API)

    def circuit(self, group: str, name: str, *, provisioned: bool = False, bandwidth: int = 50) -> dict[str, Any]:
        """A circuit with the test provider; ``provisioned``: the partner has provisioned layer 2."""
        self.group(group)
        circuit = self.ok(
            "customer",
            "PUT",
            self.circuit_path(group, name),
            {
                "location": "westus",
                "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
                "properties": {"serviceProviderProperties": {**PROVIDER, "bandwidthInMbps": bandwidth}},
            },
        )
        if provisioned:
            self.ok(
                "partner",
                "PUT",
                self.cross_connection_path(circuit["properties"]["serviceKey"]),
                {"properties": {"serviceProviderProvisioningState": "Provisioned"}},
            )
        return circuit

    def circuit_peering(self, group: str, circuit: str, name: str, properties: dict[str, Any]) -> None:
        self.ok(
            "customer",
            "PUT",
            f"{self.circuit_path(group, circuit)}/peerings/{name}",
            {"properties": writable_peering(properties)},
        )

    def cross_connection_peering(self, service_key: str, name: str, properties: dict[str, Any]) -> None:
        self.ok(
            "partner",
            "PUT",
            f"{self.cross_connection_path(service_key)}/peerings/{name}",
            {"properties": writable_peering(properties)},
        )

    def authorization(self, group: str, circuit: str, name: str) -> None:
        self.ok("customer", "PUT", f"{self.circuit_path(group, circuit)}/authorizations/{name}", {"properties": {}})

    def route_filter(self, group: str, name: str, rules: list[str], tags: dict[str, str] | None = None) -> str:
        """A route filter (later work: raises Skip while the type is unknown). Returns its id."""
        self.group(group)
        path = f"{self.group_path('customer', group)}/providers/Microsoft.Network/routeFilters/{name}"
        rule_props = {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5030"]}
        body = {"location": "westus", "properties": {"rules": [{"name": r, "properties": rule_props} for r in rules]}}
        if tags:
            body["tags"] = tags
        return str(self.ok("customer", "PUT", path, body, operation_id="RouteFilters_CreateOrUpdate")["id"])


def later_work(operation_id: str | None, response: httpx.Response) -> None:
    if operation_id not in LATER_WORK or response.status_code != 404:
        return
    error = (response.json().get("error") or {}) if response.content else {}
    if error.get("code") in LATER_WORK_CODES:
        raise Skip(f"{operation_id} is later work: the server answers 404 {error['code']} ({error.get('message')})")


PRIVATE_PEERING = {
    "peerASN": 65010,
    "vlanId": 100,
    "primaryPeerAddressPrefix": "192.168.100.128/30",
    "secondaryPeerAddressPrefix": "192.168.100.132/30",
}

_WRITABLE_PEERING = (
    "peerASN",
    "vlanId",
    "primaryPeerAddressPrefix",
    "secondaryPeerAddressPrefix",
    "sharedKey",
    "state",
    "microsoftPeeringConfig",
    "ipv6PeeringConfig",
    "routeFilter",
)
_WRITABLE_MS_CONFIG = (
    "advertisedPublicPrefixes",
    "advertisedCommunities",
    "customerASN",
    "legacyMode",
    "routingRegistryName",
)


def writable_peering(properties: dict[str, Any]) -> dict[str, Any]:
    """The writable part of a peering as an example's response shows it (the state to set up)."""
    out = {k: copy.deepcopy(v) for k, v in properties.items() if k in _WRITABLE_PEERING}
    for holder in (out, out.get("ipv6PeeringConfig") or {}):
        if "microsoftPeeringConfig" in holder:
            holder["microsoftPeeringConfig"] = {
                k: v for k, v in holder["microsoftPeeringConfig"].items() if k in _WRITABLE_MS_CONFIG
            }
    return out


# -- per example: the state it needs and the mapping of its placeholders ------------------------


Setup = Callable[[World, dict[str, Any]], Case]


def response_body(example: dict[str, Any], status: str = "200") -> Any:
    return example["responses"][status]["body"]


def example_params(p: dict[str, Any], **changes: str) -> dict[str, str]:
    return {**{k: v for k, v in p.items() if isinstance(v, str)}, **changes}


def _circuit_create(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.group(p["resourceGroupName"])
    body = copy.deepcopy(p["parameters"])
    # The example's provider (Equinix, Silicon Valley) is a real one that this server's customer
    # subscription cannot use; the seeded test provider is the one it can order circuits from.
    body["properties"]["serviceProviderProperties"].update(PROVIDER)
    return Case("customer", example_params(p), body)


def _circuit_create_on_port(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.group(p["resourceGroupName"])
    body = copy.deepcopy(p["parameters"])
    # The example's port is made real (same group and name, at the test peering location) with
    # one authorization, whose key replaces the example's.
    name = body["properties"]["expressRoutePort"]["id"].rsplit("/", 1)[1]
    port = f"{w.group_path('customer', p['resourceGroupName'])}/providers/Microsoft.Network/expressRoutePorts/{name}"
    port_body = {"peeringLocation": PROVIDER["peeringLocation"], "bandwidthInGbps": 10, "encapsulation": "QinQ"}
    w.ok("customer", "PUT", port, {"location": "westus", "properties": port_body})
    authorization = w.ok("customer", "PUT", f"{port}/authorizations/auth1", {})
    body["properties"]["expressRoutePort"]["id"] = port
    body["properties"]["authorizationKey"] = authorization["properties"]["authorizationKey"]
    return Case("customer", example_params(p), body)


def _circuit_exists(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.circuit(p["resourceGroupName"], p["circuitName"])
    body = p.get("parameters")  # UpdateTags' TagsObject
    return Case("customer", example_params(p), body)


def _circuit_list(w: World, ex: dict[str, Any]) -> Case:
    """The circuits the list shows, in its order, each with its authorizations and provider state."""
    p = ex["parameters"]
    for item in response_body(ex)["value"]:
        group = item["id"].split("/")[4]
        props = item["properties"]
        w.circuit(group, item["name"], provisioned=props["serviceProviderProvisioningState"] == "Provisioned")
        for auth in props.get("authorizations", []):
            w.authorization(group, item["name"], auth["name"])
    return Case("customer", example_params(p))


def _circuit_with_private_peering(w: World, ex: dict[str, Any]) -> Case:
    """Peering stats, delete, ARP and route tables: the example's ``peeringName`` placeholder is a
    real (private) peering, its ``devicePath`` placeholder the primary device."""
    p = ex["parameters"]
    w.circuit(p["resourceGroupName"], p["circuitName"], provisioned=True)
    w.circuit_peering(p["resourceGroupName"], p["circuitName"], "AzurePrivatePeering", PRIVATE_PEERING)
    changes = {"peeringName": "AzurePrivatePeering"}
    if "devicePath" in p:
        changes["devicePath"] = "primary"
    return Case("customer", example_params(p, **changes))


def _peering_route_filter(w: World, group: str, properties: dict[str, Any], case_tolerated: dict[str, str]) -> None:
    """A peering the example shows with a route filter gets a real one when route filters exist."""
    if "routeFilter" not in properties:
        return
    name = properties["routeFilter"]["id"].rsplit("/", 1)[1]
    try:
        properties["routeFilter"] = {"id": w.route_filter(group, name, ["ruleName"])}
    except Skip as e:
        properties.pop("routeFilter")
        case_tolerated["routeFilter"] = f"route filters are later work ({e})"


def _circuit_peering_create(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.circuit(p["resourceGroupName"], p["circuitName"], provisioned=True)
    body = copy.deepcopy(p["peeringParameters"])
    # The example's responses show an ipv6PeeringConfig that its request never sends; send the one
    # the response shows so the peering has the state the example describes.
    body["properties"]["ipv6PeeringConfig"] = writable_peering(response_body(ex, "201")["properties"])[
        "ipv6PeeringConfig"
    ]
    return Case("customer", example_params(p), body, tolerated=dict(NOT_MODELLED))


def _circuit_peerings_exist(w: World, ex: dict[str, Any]) -> Case:
    """Get/List: the peerings the example's response shows exist, configured as it shows them."""
    p = ex["parameters"]
    body = response_body(ex)
    items = body.get("value", [body])
    tolerated = dict(NOT_MODELLED)
    w.circuit(p["resourceGroupName"], p["circuitName"], provisioned=True)
    for item in items:
        props = copy.deepcopy(item["properties"])
        _peering_route_filter(w, p["resourceGroupName"], props, tolerated)
        w.circuit_peering(p["resourceGroupName"], p["circuitName"], item["name"], props)
    return Case("customer", example_params(p), tolerated=tolerated)


def _authorization_create(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.circuit(p["resourceGroupName"], p["circuitName"])
    return Case("customer", example_params(p), p["authorizationParameters"])


def _authorizations_exist(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.circuit(p["resourceGroupName"], p["circuitName"])
    body = response_body(ex) if "200" in ex["responses"] and "body" in ex["responses"]["200"] else {}
    names = [a["name"] for a in body["value"]] if "value" in body else [p["authorizationName"]]
    for name in names:
        w.authorization(p["resourceGroupName"], p["circuitName"], name)
    return Case("customer", example_params(p))


def _provider_list(w: World, ex: dict[str, Any]) -> Case:
    return Case("customer", example_params(ex["parameters"]))


# Cross connections: the partner's subscription, the group Microsoft creates for the peering
# location and the circuit's service key stand for the examples' "subid",
# "CrossConnection-SiliconValley" and "<circuitServiceKey>". The circuit is the example's ertest/er1.


def _xc_params(p: dict[str, Any], circuit: dict[str, Any], **changes: str) -> dict[str, str]:
    params = example_params(p, **changes)
    if "resourceGroupName" in params:
        params["resourceGroupName"] = XC_GROUP
    if "crossConnectionName" in params:
        params["crossConnectionName"] = circuit["properties"]["serviceKey"]
    return params


def _xc_exists(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    circuit = w.circuit("ertest", "er1")
    body = p.get("parameters") or p.get("crossConnectionParameters")
    query = {}
    if "name" in p:
        # The List example's "name" parameter stands for the documented filter by service key.
        query["$filter"] = f"name eq '{circuit['properties']['serviceKey']}'"
    params = _xc_params({k: v for k, v in p.items() if k != "name"}, circuit)
    return Case("partner", params, body, query)


def _xc_peering_create(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    circuit = w.circuit("ertest", "er1", provisioned=True)
    return Case("partner", _xc_params(p, circuit), p["peeringParameters"])


def _xc_peerings_exist(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    circuit = w.circuit("ertest", "er1", provisioned=True)
    body = response_body(ex)
    for item in body.get("value", [body]):
        w.cross_connection_peering(circuit["properties"]["serviceKey"], item["name"], item["properties"])
    return Case("partner", _xc_params(p, circuit))


def _xc_with_private_peering(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    circuit = w.circuit("ertest", "er1", provisioned=True)
    w.cross_connection_peering(circuit["properties"]["serviceKey"], "AzurePrivatePeering", PRIVATE_PEERING)
    return Case("partner", _xc_params(p, circuit, peeringName="AzurePrivatePeering"))


# Route filters and BGP service communities (later work).


def _route_filter_create(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.group(p["resourceGroupName"])
    return Case("customer", example_params(p), p["routeFilterParameters"])


def _route_filter_exists(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    body = ex["responses"].get("200", {}).get("body") or {}
    items = body.get("value", [body] if body else [])
    rules = (
        [p["ruleName"]]
        if "ruleName" in p
        else [r["name"] for item in items for r in item.get("properties", {}).get("rules", [])] or ["ruleName"]
    )
    if "routeFilterName" in p:
        w.route_filter(p["resourceGroupName"], p["routeFilterName"], rules, body.get("tags"))
    else:
        for item in items:
            rules = [r["name"] for r in item["properties"].get("rules", [])]
            w.route_filter(item["id"].split("/")[4], item["name"], rules, item.get("tags"))
    return Case("customer", example_params(p), p.get("parameters"))


def _route_filter_rule_create(w: World, ex: dict[str, Any]) -> Case:
    p = ex["parameters"]
    w.route_filter(p["resourceGroupName"], p["routeFilterName"], [])
    return Case("customer", example_params(p), p["routeFilterRuleParameters"])


SETUPS: dict[str, Setup] = {
    "ExpressRouteCircuitCreate": _circuit_create,
    "ExpressRouteCircuitCreateOnExpressRoutePort": _circuit_create_on_port,
    "ExpressRouteCircuitGet": _circuit_exists,
    "ExpressRouteCircuitDelete": _circuit_exists,
    "ExpressRouteCircuitUpdateTags": _circuit_exists,
    "ExpressRouteCircuitStats": _circuit_exists,
    "ExpressRouteCircuitListByResourceGroup": _circuit_list,
    "ExpressRouteCircuitListBySubscription": _circuit_list,
    "ExpressRouteCircuitPeeringStats": _circuit_with_private_peering,
    "ExpressRouteCircuitPeeringDelete": _circuit_with_private_peering,
    "ExpressRouteCircuitARPTableList": _circuit_with_private_peering,
    "ExpressRouteCircuitRouteTableList": _circuit_with_private_peering,
    "ExpressRouteCircuitRouteTableSummaryList": _circuit_with_private_peering,
    "ExpressRouteCircuitPeeringCreate": _circuit_peering_create,
    "ExpressRouteCircuitPeeringGet": _circuit_peerings_exist,
    "ExpressRouteCircuitPeeringList": _circuit_peerings_exist,
    "ExpressRouteCircuitAuthorizationCreate": _authorization_create,
    "ExpressRouteCircuitAuthorizationGet": _authorizations_exist,
    "ExpressRouteCircuitAuthorizationList": _authorizations_exist,
    "ExpressRouteCircuitAuthorizationDelete": _authorizations_exist,
    "ExpressRouteProviderList": _provider_list,
    "ExpressRouteCrossConnectionGet": _xc_exists,
    "ExpressRouteCrossConnectionList": _xc_exists,
    "ExpressRouteCrossConnectionListByResourceGroup": _xc_exists,
    "ExpressRouteCrossConnectionUpdate": _xc_exists,
    "ExpressRouteCrossConnectionUpdateTags": _xc_exists,
    "ExpressRouteCrossConnectionBgpPeeringCreate": _xc_peering_create,
    "ExpressRouteCrossConnectionBgpPeeringGet": _xc_peerings_exist,
    "ExpressRouteCrossConnectionBgpPeeringList": _xc_peerings_exist,
    "ExpressRouteCrossConnectionBgpPeeringDelete": _xc_with_private_peering,
    "ExpressRouteCrossConnectionsArpTable": _xc_with_private_peering,
    "ExpressRouteCrossConnectionsRouteTable": _xc_with_private_peering,
    "ExpressRouteCrossConnectionsRouteTableSummary": _xc_with_private_peering,
    "RouteFilterCreate": _route_filter_create,
    "RouteFilterGet": _route_filter_exists,
    "RouteFilterDelete": _route_filter_exists,
    "RouteFilterUpdateTags": _route_filter_exists,
    "RouteFilterList": _route_filter_exists,
    "RouteFilterListByResourceGroup": _route_filter_exists,
    "RouteFilterRuleCreate": _route_filter_rule_create,
    "RouteFilterRuleGet": _route_filter_exists,
    "RouteFilterRuleDelete": _route_filter_exists,
    "RouteFilterRuleListByRouteFilter": _route_filter_exists,
    "ServiceCommunityList": _provider_list,
}


# -- the test ------------------------------------------------------------------------------------


def build_path(template: str, params: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in params, f"the example has no value for path parameter {name!r} of {template}"
        return quote(params[name], safe="")

    return re.sub(r"\{([^}]+)\}", value, template)


@pytest.mark.parametrize("example_name", example_names())
def test_example(shared: Path, server: Server, example_name: str) -> None:
    example = json.loads((EXAMPLES_DIR / f"{example_name}.json").read_text())
    operation = operations_by_example().get(f"{example_name}.json")
    assert operation is not None, f"{example_name}.json is referenced by no operation in {SPEC_DIR}"
    assert example_name in SETUPS, f"no setup for {example_name} ({operation.operation_id})"
    api_version = example["parameters"]["api-version"]
    world = World(server, api_version)
    try:
        try:
            case = SETUPS[example_name](world, example)
        except Skip as e:
            pytest.skip(f"{example_name}: setup needs {e}")
        check(world, example_name, example, operation, case)
    except Skip as e:
        pytest.skip(f"{example_name}: {e}")
    finally:
        world.close()


def check(world: World, name: str, example: dict[str, Any], operation: Operation, case: Case) -> None:
    params = {**case.params, "subscriptionId": world.subscriptions[case.role]}
    path = build_path(operation.path, params)
    responses = example["responses"]
    existed = None
    if operation.method == "PUT":
        existed = world.send(case.role, "GET", path).status_code == 200

    response = world.send(case.role, operation.method, path, case.body, query=case.query)
    later_work(operation.operation_id, response)
    if name in UNSUPPORTED:
        status, code, reason = UNSUPPORTED[name]
        if response.status_code == status and response.json().get("error", {}).get("code") == code:
            pytest.skip(f"{name}: {reason} (the server answers {status} {code})")

    where = f"{name} ({operation.operation_id}: {operation.method} {path})"
    assert str(response.status_code) in responses, (
        f"{where}: status {response.status_code} is not one of the example's {sorted(responses)}: {response.text}"
    )
    if operation.method == "PUT" and not existed and "201" in responses:
        assert response.status_code == 201, f"{where}: created, so the example's 201 is expected; got 200"
    if operation.method == "PUT" and existed:
        assert response.status_code == 200, f"{where}: updated an existing resource, so 200 is expected"
    expected = responses[str(response.status_code)].get("body")

    problems: list[str] = []
    if expected is not None and response.status_code != 202:
        problems += shape_mismatches(expected, response.json(), "response", case.tolerated)
    # Beyond the example's keys: the whole body against the spec's schema for this status.
    problems += schema_problems(spec_library(), operation.operation_id, response, "response")

    final = world.finish(case.role, response) if response.status_code in (200, 201, 202) else None
    if operation.method in ("PUT", "PATCH"):
        after = world.send(case.role, "GET", path)
        assert after.status_code == 200, f"{where}: GET after the operation: {after.status_code} {after.text}"
        assert after.json()["properties"].get("provisioningState") in (None, "Succeeded"), after.text
        if expected is not None:
            problems += shape_mismatches(expected, after.json(), "GET after", case.tolerated)
        get_operation = spec_library().operation_for("GET", path)
        if get_operation is not None:
            problems += schema_problems(spec_library(), get_operation.operation_id, after, "GET after")
    elif operation.method == "DELETE":
        gone = world.send(case.role, "GET", path)
        assert gone.status_code == 404, f"{where}: still there after DELETE: {gone.status_code} {gone.text}"
    elif operation.method == "POST" and response.status_code == 202:
        assert final is not None and final.status_code == 200, f"{where}: the operation's result: {final}"
        expected = responses["200"]["body"]
        problems += shape_mismatches(expected, final.json(), "result", case.tolerated)
        problems += schema_problems(spec_library(), operation.operation_id, final, "result")

    assert not problems, f"{where}: the response does not have the example's shape:\n  " + "\n  ".join(problems)
