"""Conformance as a test: every response body validated against Azure's response schema.

How the traffic is seen: the server under test runs with ``CROSSCONNECT_CAPTURE_RESPONSES=<dir>``
(``crossconnect.app.response_capture``), so every ARM response it sends, whoever asked (the Azure
SDK, the Azure CLI, raw HTTPS), is appended to ``<dir>/responses-<pid>.jsonl``. Nothing is wrapped
on the client side, so the capture works across processes and under pytest-xdist (each worker
starts its own servers; one file per server process).

This module starts its own capturing server per backend (module scope), drives a broad workflow
through the real SDKs (resource groups, subscriptions, providers, features, role definitions and
assignments, generic resources and tags, circuits, authorizations, peerings from both views, cross
connections, route filters and rules, communities, service providers, ARP and route tables and the
summary, stats, Global Reach connections and peerConnections, resource-group and tags operations)
plus the Azure CLI and a few refused requests (error bodies), and then validates every captured
response with ``tests.support.spec_schema`` against the spec files in ``../shared/spec``:

- no divergence (type, required property, closed enum, format, undeclared 2xx status);
- no property outside the spec except the deliberate extensions listed in
  ``tests.support.spec_schema.EXTENSIONS`` (and in docs/behaviour.md);
- responses of operations the local spec files lack (subscriptions, async-operation status, ...)
  and parts under a ``$ref`` to a missing file are counted and printed, not passed silently.

The whole suite's traffic is validated the same way by default: the session sets
``CROSSCONNECT_CAPTURE_RESPONSES`` to a directory of its own (tests/support/capture_session.py), every
server inherits it, and tests/conftest.py validates the directory when the session ends (on the xdist
controller, after all workers).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from crossconnect.app.response_capture import CAPTURE_VARIABLE
from tests.support import (
    REPO,
    SHARED,
    Server,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    require_postgres,
)
from tests.support.azure_cli import AzureCli
from tests.support.network import (
    API,
    GROUP,
    MICROSOFT,
    PRIVATE,
    XC_GROUP,
    circuit_peering,
    circuit_peering_path,
    create_circuit,
    find_cross_connection,
    peering,
    set_provider_state,
)
from tests.support.spec_schema import DIVERGENCE, EXTENSIONS, NOTE, UNCHECKED, Report, SpecLibrary, read_captures

SPEC_ROOT = SHARED / "spec"
PP = "AzurePrivatePeering"
PRIVATE_B = {
    **PRIVATE,
    "primaryPeerAddressPrefix": "192.168.200.0/30",
    "secondaryPeerAddressPrefix": "192.168.200.4/30",
}
FILTER_GROUP = "filters-rg"

# The operations the workflow must have exercised: a regression in the workflow (or a server that
# stops answering) cannot make the test pass by validating less.
MUST_COVER = {
    "ResourceGroups_CreateOrUpdate", "ResourceGroups_Get", "ResourceGroups_List", "ResourceGroups_Update",
    "Providers_List", "Providers_Get", "Providers_Register", "Resources_ListByResourceGroup", "Resources_List",
    "Tags_CreateOrUpdateAtScope", "Tags_GetAtScope", "Tags_List",
    "Features_ListAll", "Features_Get", "Features_Register",
    "RoleDefinitions_List", "RoleDefinitions_Get", "RoleAssignments_Create", "RoleAssignments_Get",
    "RoleAssignments_ListForSubscription", "RoleAssignments_Delete",
    "ExpressRouteCircuits_CreateOrUpdate", "ExpressRouteCircuits_Get", "ExpressRouteCircuits_List",
    "ExpressRouteCircuits_ListAll", "ExpressRouteCircuits_UpdateTags", "ExpressRouteCircuits_GetStats",
    "ExpressRouteCircuits_GetPeeringStats", "ExpressRouteCircuits_ListArpTable",
    "ExpressRouteCircuits_ListRoutesTable", "ExpressRouteCircuits_ListRoutesTableSummary",
    "ExpressRouteCircuitAuthorizations_CreateOrUpdate", "ExpressRouteCircuitAuthorizations_Get",
    "ExpressRouteCircuitAuthorizations_List", "ExpressRouteCircuitPeerings_CreateOrUpdate",
    "ExpressRouteCircuitPeerings_Get", "ExpressRouteCircuitPeerings_List",
    "ExpressRouteCircuitConnections_CreateOrUpdate", "ExpressRouteCircuitConnections_Get",
    "ExpressRouteCircuitConnections_List", "PeerExpressRouteCircuitConnections_List",
    "PeerExpressRouteCircuitConnections_Get", "ExpressRouteServiceProviders_List", "BgpServiceCommunities_List",
    "ExpressRouteCrossConnections_List", "ExpressRouteCrossConnections_ListByResourceGroup",
    "ExpressRouteCrossConnections_Get", "ExpressRouteCrossConnections_CreateOrUpdate",
    "ExpressRouteCrossConnections_UpdateTags", "ExpressRouteCrossConnectionPeerings_CreateOrUpdate",
    "ExpressRouteCrossConnectionPeerings_Get", "ExpressRouteCrossConnectionPeerings_List",
    "ExpressRouteCrossConnections_ListArpTable", "ExpressRouteCrossConnections_ListRoutesTable",
    "ExpressRouteCrossConnections_ListRoutesTableSummary", "RouteFilters_CreateOrUpdate", "RouteFilters_Get",
    "RouteFilters_List", "RouteFilters_ListByResourceGroup", "RouteFilters_UpdateTags",
    "RouteFilterRules_CreateOrUpdate", "RouteFilterRules_Get", "RouteFilterRules_ListByRouteFilter",
    "NetworkAsyncOperationStatus",
}  # fmt: skip


@pytest.fixture(scope="module")
def capturing_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of its own with response capture on; the capture directory."""
    if not SPEC_ROOT.is_dir():
        pytest.skip("../shared/spec is not present")
    database = None
    if backend == "postgresql":
        require_postgres()
        database = create_postgres_database()
    base = tmp_path_factory.mktemp(f"capture-{backend}")
    captures = base / "responses"
    server = Server(
        base / "data", free_port(), database, ["--page-size", "100"], process_env={CAPTURE_VARIABLE: str(captures)}
    )
    try:
        server.start()
        yield server, captures
    finally:
        server.stop()
        if database is not None:
            drop_postgres_database(database)


@pytest.fixture(scope="module")
def library() -> SpecLibrary:
    if not SPEC_ROOT.is_dir():
        pytest.skip("../shared/spec is not present")
    return SpecLibrary(SPEC_ROOT)


# -- the workflow ------------------------------------------------------------------------------------


def _clients(server: Server) -> dict[str, Any]:
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.resource.features import FeatureClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    admin = server.credential("admin")
    customer_sub = server.subscription("customer")
    common = {"base_url": server.base_url, "connection_verify": server.ca}
    return {
        "authorization": AuthorizationManagementClient(admin, customer_sub, **common),
        "features": FeatureClient(admin, customer_sub, **common),
        "subscriptions": SubscriptionClient(admin, **common),
    }


def resources_workflow(server: Server) -> None:
    """Microsoft.Resources, Microsoft.Features, Microsoft.Authorization through the SDKs."""
    customer_sub = server.subscription("customer")
    rc = server.resources("admin", customer_sub)
    rc.resource_groups.create_or_update("schema-rg", {"location": "westus", "tags": {"team": "net"}})
    rc.resource_groups.get("schema-rg")
    rc.resource_groups.update("schema-rg", {"tags": {"team": "edge"}})
    list(rc.resource_groups.list())
    rc.resource_groups.check_existence("schema-rg")
    list(rc.providers.list())
    rc.providers.get("Microsoft.Network")
    rc.providers.register("Microsoft.Network")
    list(rc.resources.list_by_resource_group(GROUP))
    list(rc.resources.list())
    list(rc.tags.list())

    clients = _clients(server)
    subs = clients["subscriptions"]
    list(subs.subscriptions.list())
    subs.subscriptions.get(customer_sub)
    list(subs.subscriptions.list_locations(customer_sub))
    list(subs.tenants.list())

    features = clients["features"]
    listed = list(features.features.list_all())
    if listed:
        namespace, name = listed[0].name.split("/", 1)
        features.features.get(namespace, name)
        features.features.register(namespace, name)

    auth = clients["authorization"]
    scope = f"/subscriptions/{customer_sub}/resourceGroups/schema-rg"
    definitions = list(auth.role_definitions.list(f"/subscriptions/{customer_sub}"))
    reader = next(d for d in definitions if d.role_name == "Reader")
    auth.role_definitions.get(f"/subscriptions/{customer_sub}", reader.name)
    name = str(uuid.uuid4())
    auth.role_assignments.create(
        scope,
        name,
        {
            "role_definition_id": reader.id,
            "principal_id": server.env["partner"]["object_id"],
            "principal_type": "ServicePrincipal",
        },
    )
    auth.role_assignments.get(scope, name)
    list(auth.role_assignments.list_for_subscription())
    list(auth.role_assignments.list_for_resource_group("schema-rg"))
    list(auth.role_assignments.list_for_scope(scope))
    auth.role_assignments.delete(scope, name)


def network_workflow(server: Server) -> None:
    """Circuits, cross connections, peerings from both views, authorizations, Global Reach, route
    filters, the catalog and troubleshooting through the real azure-mgmt-network SDK."""
    customer = server.network("customer")
    partner = server.network("partner")
    er1 = create_circuit(server, "er1")
    er2 = create_circuit(server, "er2")
    customer.express_route_circuits.get(GROUP, "er1")
    list(customer.express_route_circuits.list(GROUP))
    list(customer.express_route_circuits.list_all())
    customer.express_route_circuits.update_tags(GROUP, "er1", {"tags": {"env": "test"}})
    list(customer.express_route_service_providers.list())
    list(customer.bgp_service_communities.list())

    auths = customer.express_route_circuit_authorizations
    auths.begin_create_or_update(GROUP, "er1", "auth1", {"properties": {}}).result()
    auths.get(GROUP, "er1", "auth1")
    list(auths.list(GROUP, "er1"))

    # the partner's view: find, provision, peer
    xc = find_cross_connection(server, er1.service_key)
    list(partner.express_route_cross_connections.list_by_resource_group(XC_GROUP))
    partner.express_route_cross_connections.get(XC_GROUP, er1.service_key)
    set_provider_state(server, xc, "Provisioned")
    set_provider_state(server, find_cross_connection(server, er2.service_key), "Provisioned")
    partner.express_route_cross_connections.update_tags(XC_GROUP, er1.service_key, {"tags": {"partner": "yes"}})
    xc_peers = partner.express_route_cross_connection_peerings
    xc_peers.begin_create_or_update(XC_GROUP, er1.service_key, PP, peering(PRIVATE)).result()
    xc_peers.get(XC_GROUP, er1.service_key, PP)
    list(xc_peers.list(XC_GROUP, er1.service_key))

    # the customer's view of the same peering, a Microsoft peering with a route filter
    peers = customer.express_route_circuit_peerings
    peers.get(GROUP, "er1", PP)
    list(peers.list(GROUP, "er1"))
    circuit_peering(server, PP, PRIVATE_B, circuit="er2")
    route_filters(server)
    customer.express_route_circuits.get_stats(GROUP, "er1")
    customer.express_route_circuits.get_peering_stats(GROUP, "er1", PP)

    # troubleshooting from both views
    for device in ("primary", "secondary"):
        customer.express_route_circuits.begin_list_arp_table(GROUP, "er1", PP, device).result()
        customer.express_route_circuits.begin_list_routes_table(GROUP, "er1", PP, device).result()
        customer.express_route_circuits.begin_list_routes_table_summary(GROUP, "er1", PP, device).result()
        xcs = partner.express_route_cross_connections
        xcs.begin_list_arp_table(XC_GROUP, er1.service_key, PP, device).result()
        xcs.begin_list_routes_table(XC_GROUP, er1.service_key, PP, device).result()
        xcs.begin_list_routes_table_summary(XC_GROUP, er1.service_key, PP, device).result()

    # Global Reach between er1 and er2
    connections = customer.express_route_circuit_connections
    body = {
        "properties": {
            "expressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er1")},
            "peerExpressRouteCircuitPeering": {"id": circuit_peering_path(server, PP, "er2")},
            "addressPrefix": "10.0.0.0/29",
            "authorizationKey": auths.begin_create_or_update(GROUP, "er2", "for-er1", {}).result().authorization_key,
        }
    }
    connections.begin_create_or_update(GROUP, "er1", PP, "gr1", body).result()
    auths.get(GROUP, "er2", "for-er1")  # redeemed: authorizationUseStatus InUse
    connections.get(GROUP, "er1", PP, "gr1")
    list(connections.list(GROUP, "er1", PP))
    peer_connections = list(customer.peer_express_route_circuit_connections.list(GROUP, "er2", PP))
    customer.peer_express_route_circuit_connections.get(GROUP, "er2", PP, peer_connections[0].name)

    # generic resources and tags over the same circuit
    rc = server.resources("admin", server.subscription("customer"))
    circuit_id = er1.id
    rc.resources.get_by_id(circuit_id, api_version=API)
    rc.tags.begin_create_or_update_at_scope(circuit_id, {"properties": {"tags": {"cost": "1"}}}).result()
    rc.tags.get_at_scope(circuit_id)

    # deletes, each followed to its end
    connections.begin_delete(GROUP, "er1", PP, "gr1").result()
    auths.begin_delete(GROUP, "er1", "auth1").result()
    xc_peers.begin_delete(XC_GROUP, er1.service_key, PP).result()
    peers.begin_delete(GROUP, "er2", PP).result()
    set_provider_state(server, find_cross_connection(server, er2.service_key), "NotProvisioned")
    customer.express_route_circuits.begin_delete(GROUP, "er2").result()


def route_filters(server: Server) -> None:
    """A route filter with a rule, attached to the Microsoft peering of er1."""
    customer = server.network("customer")
    server.resources("admin", server.subscription("customer")).resource_groups.create_or_update(
        FILTER_GROUP, {"location": "westus"}
    )
    rule = {"properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5010"]}}
    created = customer.route_filters.begin_create_or_update(
        FILTER_GROUP, "filter1", {"location": "westus", "properties": {}}
    ).result()
    customer.route_filter_rules.begin_create_or_update(FILTER_GROUP, "filter1", "r1", rule).result()
    customer.route_filters.get(FILTER_GROUP, "filter1")
    customer.route_filters.get(FILTER_GROUP, "filter1", expand="peerings")
    customer.route_filters.update_tags(FILTER_GROUP, "filter1", {"tags": {"a": "b"}})
    customer.route_filter_rules.get(FILTER_GROUP, "filter1", "r1")
    list(customer.route_filter_rules.list_by_route_filter(FILTER_GROUP, "filter1"))
    # a second filter with its rule inline, deleted with its rule
    customer.route_filters.begin_create_or_update(
        FILTER_GROUP, "filter2", {"location": "westus", "properties": {"rules": [{"name": "r2", **rule}]}}
    ).result()
    list(customer.route_filters.list())
    list(customer.route_filters.list_by_resource_group(FILTER_GROUP))
    customer.route_filter_rules.begin_delete(FILTER_GROUP, "filter2", "r2").result()
    customer.route_filters.begin_delete(FILTER_GROUP, "filter2").result()
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": created.id}})
    customer.express_route_circuit_peerings.get(GROUP, "er1", "MicrosoftPeering")


def refused_requests(server: Server) -> None:
    """Error bodies: not found, bad input, no rights, unknown type, wrong api-version."""
    customer_sub = server.subscription("customer")
    circuits = f"/subscriptions/{customer_sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits"
    with server.http("customer") as client:
        assert client.get(f"{circuits}/missing", params={"api-version": API}).status_code == 404
        bad = client.put(f"{circuits}/er9", params={"api-version": API}, json={"location": "westus", "properties": []})
        assert bad.status_code == 400
        assert client.get(f"{circuits}/er1", params={"api-version": "1999-01-01"}).status_code == 400
        missing_group = f"/subscriptions/{customer_sub}/resourcegroups/nope"
        assert client.get(missing_group, params={"api-version": "2021-04-01"}).status_code == 404
    with server.http("partner") as client:
        denied = client.get(f"{circuits}/er1", params={"api-version": API})
        assert denied.status_code in (403, 404)
    with pytest.raises(HttpResponseError):
        server.network("customer").express_route_circuits.get(GROUP, "missing")


def cli_workflow(server: Server, executable: Path, config_dir: Path) -> None:
    """Everyday commands through the real Azure CLI (its own api-versions and paths)."""
    az = AzureCli(executable, server, config_dir)
    az.register_cloud()
    az.login("admin")
    sub = server.subscription("customer")
    az("group", "create", "-n", "cli-schema-rg", "-l", "westus", "--subscription", sub)
    az("group", "show", "-n", "cli-schema-rg", "--subscription", sub)
    az("group", "list", "--subscription", sub)
    az("provider", "show", "-n", "Microsoft.Network", "--subscription", sub)
    az("role", "definition", "list", "--name", "Network Contributor", "--subscription", sub)
    az("role", "assignment", "list", "-g", "cli-schema-rg", "--subscription", sub)
    az("network", "express-route", "list-service-providers", "--subscription", sub)
    az("network", "express-route", "list", "--subscription", sub)
    az("network", "express-route", "show", "-g", GROUP, "-n", "er1", "--subscription", sub)
    az("network", "express-route", "peering", "list", "-g", GROUP, "--circuit-name", "er1", "--subscription", sub)
    az("network", "route-filter", "list", "--subscription", sub)
    az("resource", "list", "-g", GROUP, "--subscription", sub)
    az("group", "delete", "-n", "cli-schema-rg", "--yes", "--subscription", sub)


# -- the checks --------------------------------------------------------------------------------------


def _fail_message(report: Report) -> str:
    return "responses diverge from Azure's response schemas:\n" + report.summary()


def _validate(library: SpecLibrary, records: list[dict[str, Any]]) -> Report:
    report = library.validate(records)
    print(report.summary())
    assert not report.of_kind(DIVERGENCE), _fail_message(report)
    assert not report.unlisted_extensions(), _fail_message(report)
    # Open enums take any string, but every value this workflow produces is one Azure lists
    # (this found authorizationUseStatus "Used" where Azure says "InUse").
    assert not report.of_kind(NOTE), _fail_message(report)
    # anything not checked is counted, and only for the reason known here
    for finding in report.of_kind(UNCHECKED):
        assert "virtualWan.json" in finding.message, finding
    return report


def test_sdk_workflow_responses_conform(capturing_server: tuple[Server, Path], library: SpecLibrary) -> None:
    server, captures = capturing_server
    start = len(list(read_captures(captures)))
    network_workflow(server)
    resources_workflow(server)
    refused_requests(server)

    records = list(read_captures(captures))[start:]
    report = _validate(library, records)
    missing = MUST_COVER - set(report.operations)
    assert not missing, f"the workflow no longer exercises {sorted(missing)}\n{report.summary()}"
    # the troubleshooting results (fetched from the POSTs' Location) were validated as the POSTs' 200s
    for troubleshooting in ("ListArpTable", "ListRoutesTable", "ListRoutesTableSummary"):
        for family in ("ExpressRouteCircuits", "ExpressRouteCrossConnections"):
            assert report.with_body[(f"{family}_{troubleshooting}", 200)] >= 2, report.with_body
    # error bodies were validated too (against the operations' default responses)
    assert sum(1 for r in records if r["status"] >= 400 and "body" in r) >= 5


def test_cli_responses_conform(
    capturing_server: tuple[Server, Path], library: SpecLibrary, azure_cli_executable: Path, tmp_path: Path
) -> None:
    """The Azure CLI's requests, validated the same way."""
    server, captures = capturing_server
    try:
        server.network("customer").express_route_circuits.get(GROUP, "er1")
    except ResourceNotFoundError:
        create_circuit(server, "er1")  # when run alone, without the SDK workflow's circuit
    start = len(list(read_captures(captures)))
    cli_workflow(server, azure_cli_executable, tmp_path / "azure-config")
    report = _validate(library, list(read_captures(captures))[start:])
    assert {"ResourceGroups_CreateOrUpdate", "ExpressRouteCircuits_Get", "ExpressRouteCircuitPeerings_List"} <= set(
        report.operations
    )


def test_extensions_are_documented() -> None:
    """The allow-list in tests/support/spec_schema.py and the section of docs/behaviour.md agree."""
    text = (REPO / "docs" / "behaviour.md").read_text()
    heading = "## Deliberate extensions to Azure's response shapes"
    assert heading in text
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Za-z]+)` \| `([A-Za-z]+)` \|", section, re.MULTILINE))
    assert documented == set(EXTENSIONS), f"docs {sorted(documented)} vs allow-list {sorted(EXTENSIONS)}"


def test_capture_records_every_arm_response(capturing_server: tuple[Server, Path]) -> None:
    """The capture writes method, path, api-version, status and body, also for error bodies."""
    server, captures = capturing_server
    marker = f"capture-{uuid.uuid4().hex[:8]}"
    path = f"/subscriptions/{server.subscription('customer')}/resourcegroups/{marker}"
    with server.http("admin") as client:
        r = client.get(path, params={"api-version": "2021-04-01"})
    assert r.status_code == 404
    lines = [rec for rec in read_captures(captures) if rec["path"] == path]
    assert lines == [{"method": "GET", "path": path, "api_version": "2021-04-01", "status": 404, "body": r.json()}]
