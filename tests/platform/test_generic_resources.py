"""The generic Resource Manager surface through azure-mgmt-resource: the resource list
(``Resources_List``/``ListByResourceGroup`` with $filter, $expand, $top and paging, filtered by
what the caller may read), the ``…ById`` operations on every type, resource group deletes, and the
providers at tenant scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support import Server
from tests.support.network import (
    GROUP,
    PRIVATE,
    XC_GROUP,
    circuit_peering,
    create_circuit,
    find_cross_connection,
    provisioned_circuit,
)
from tests.support.platform import RESOURCES_API, ServerFactory, arm_error, dedicated_servers
from tests.support.rbac import ROLE_IDS, assign, create_identity, resources
from tests.support.route_filters import create_filter

NETWORK_API = "2024-07-01"
EXPAND = "createdTime,changedTime,provisioningState"


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def names(items: object) -> list[str]:
    return sorted(r.name for r in items)  # type: ignore[attr-defined]


# -- resource groups: delete ---------------------------------------------------------------------


def test_deleting_a_missing_group_is_resource_group_not_found(server: Server) -> None:
    rc = server.resources("admin", server.subscription("customer"))
    with pytest.raises(ResourceNotFoundError) as caught:
        rc.resource_groups.begin_delete("no-such-group").result()
    assert caught.value.error.code == "ResourceGroupNotFound"
    assert "no-such-group" in caught.value.error.message


def test_the_final_location_poll_of_a_group_delete_answers_200(server: Server) -> None:
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    rc.resource_groups.create_or_update("doomed", {"location": "westus"})
    with server.http("admin") as http:
        started = http.delete(f"/subscriptions/{sub}/resourcegroups/doomed?api-version={RESOURCES_API}")
        assert started.status_code == 202, started.text
        done = http.get(started.headers["Location"])
    assert done.status_code == 200, done.text
    assert done.content == b""
    assert not rc.resource_groups.check_existence("doomed")


# -- the resource list ----------------------------------------------------------------------------


def _inventory(server: Server) -> None:
    """Customer subscription: circuit er1 in customer-rg (tagged), route filter filter1 in
    filters-rg; the circuit's authorization (a child resource) is never listed."""
    create_circuit(server)
    net = server.network("customer")
    net.express_route_circuits.update_tags(GROUP, "er1", {"tags": {"Env": "prod", "team": "noc"}})
    net.express_route_circuit_authorizations.begin_create_or_update(GROUP, "er1", "auth1", {}).result()
    create_filter(server, "filter1", group="filters-rg")


def test_resources_list_filters_expands_and_caps(server: Server) -> None:
    _inventory(server)
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    everything = list(rc.resources.list())
    assert names(everything) == ["er1", "filter1"]  # no groups, no child resources
    circuit = next(r for r in everything if r.name == "er1")
    assert (
        circuit.id
        == f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"
    )
    assert (circuit.type, circuit.location, circuit.tags) == (
        "Microsoft.Network/expressRouteCircuits", "westus", {"Env": "prod", "team": "noc"},
    )  # fmt: skip
    assert circuit.sku.name == "Standard_MeteredData"
    assert circuit.created_time is None and circuit.provisioning_state is None  # only with $expand

    expanded = {r.name: r for r in rc.resources.list(expand=EXPAND)}
    assert expanded["er1"].provisioning_state == "Succeeded"
    assert expanded["er1"].created_time is not None
    assert expanded["er1"].changed_time >= expanded["er1"].created_time

    by_group = list(rc.resources.list_by_resource_group(GROUP))
    assert names(by_group) == ["er1"]
    assert names(rc.resources.list(filter=f"resourceGroup eq '{GROUP.upper()}'")) == ["er1"]
    assert names(rc.resources.list(filter="resourceType eq 'microsoft.network/routefilters'")) == ["filter1"]
    assert names(rc.resources.list(filter="resourceType ne 'Microsoft.Network/routeFilters'")) == ["er1"]
    assert names(rc.resources.list(filter="name eq 'ER1'")) == ["er1"]
    assert names(rc.resources.list(filter="substringof('filt', name)")) == ["filter1"]
    assert names(rc.resources.list(filter="location eq 'westus' and name eq 'filter1'")) == ["filter1"]
    tagged = list(rc.resources.list(filter="tagName eq 'env' and tagValue eq 'prod'"))
    assert names(tagged) == ["er1"]
    assert tagged[0].tags is None  # as on Azure: a tag filter leaves the tags out
    assert list(rc.resources.list(filter="tagName eq 'env' and tagValue eq 'dev'")) == []
    assert names(rc.resources.list_by_resource_group("filters-rg", filter="startswith(tagName, 'x')")) == []
    assert len(list(rc.resources.list(top=1))) == 1


def test_resources_list_refuses_what_it_cannot_answer(server: Server) -> None:
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    with pytest.raises(ResourceNotFoundError) as missing:
        list(rc.resources.list_by_resource_group("no-such-group"))
    assert missing.value.error.code == "ResourceGroupNotFound"
    with server.http("admin") as http:
        base = f"/subscriptions/{sub}/resources?api-version={RESOURCES_API}"
        cases = {
            "&$filter=color eq 'red'": ("InvalidFilterInQueryString", "$filter"),
            "&$filter=tagValue eq 'prod'": ("InvalidFilterInQueryString", "$filter"),
            "&$expand=properties": ("InvalidExpandQueryParameter", "$expand"),
            "&$top=0": ("InvalidTopQueryParameter", "$top"),
            "&$top=many": ("InvalidTopQueryParameter", "$top"),
        }
        for query, (code, field) in cases.items():
            r = http.get(base + query)
            status, got, message = arm_error(r)
            assert (status, got, r.json()["error"]["target"]) == (400, code, field), (query, r.text)
            assert field in message


def test_resources_list_pages_with_next_links(servers: ServerFactory) -> None:
    server = servers.start("--page-size", "2")
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    rc.resource_groups.create_or_update("many", {"location": "westus"})
    net = server.network("customer")
    for i in range(5):
        net.route_filters.begin_create_or_update("many", f"f{i}", {"location": "westus"}).result()
    with server.http("admin") as http:
        first = http.get(f"/subscriptions/{sub}/resourceGroups/many/resources?api-version={RESOURCES_API}")
        assert first.status_code == 200, first.text
        assert len(first.json()["value"]) == 2 and "nextLink" in first.json()
        capped = http.get(f"/subscriptions/{sub}/resources?api-version={RESOURCES_API}&$top=3")
        assert len(capped.json()["value"]) == 3 and "nextLink" not in capped.json()
    assert names(rc.resources.list_by_resource_group("many")) == [f"f{i}" for i in range(5)]
    assert names(rc.resources.list(filter="substringof('f3', name) or substringof('f4', name)")) == ["f3", "f4"]


def test_resources_list_shows_only_what_the_caller_may_read(server: Server) -> None:
    _inventory(server)
    sub = server.subscription("customer")
    # a reader of customer-rg only: the list answers, with the circuit alone
    reader = create_identity(server, "group-reader")
    assign(server, reader, ROLE_IDS["Reader"], f"/subscriptions/{sub}/resourceGroups/{GROUP}")
    as_reader = resources(server, reader, sub)
    assert names(as_reader.resources.list()) == ["er1"]
    assert names(as_reader.resources.list_by_resource_group("filters-rg")) == []
    # the partner (Network Contributor on the provider subscription) sees its cross connection,
    # and holds no role at all in the customer subscription
    partner = server.resources("partner")
    listed = list(partner.resources.list())
    assert [r.type for r in listed] == ["Microsoft.Network/expressRouteCrossConnections"]
    assert listed[0].id.split("/")[4] == XC_GROUP
    with pytest.raises(HttpResponseError) as denied:
        list(server.resources("partner", sub).resources.list())
    assert denied.value.status_code == 403 and denied.value.error.code == "AuthorizationFailed"


# -- …ById: every type through its own strategy --------------------------------------------------


def test_by_id_operations_run_each_types_own_strategy(server: Server) -> None:
    _inventory(server)
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    circuit_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"
    auth_id = circuit_id + "/authorizations/auth1"
    group_id = f"/subscriptions/{sub}/resourceGroups/filters-rg"

    circuit = rc.resources.get_by_id(circuit_id, api_version=NETWORK_API)
    assert (circuit.type, circuit.properties["serviceProviderProperties"]["peeringLocation"]) == (
        "Microsoft.Network/expressRouteCircuits", "Area51",
    )  # fmt: skip
    assert rc.resources.get_by_id(auth_id, api_version=NETWORK_API).properties["authorizationUseStatus"] == "Available"
    assert rc.resources.get_by_id(group_id, api_version=RESOURCES_API).properties["provisioningState"] == "Succeeded"
    assert rc.resources.check_existence_by_id(circuit_id, api_version=NETWORK_API) is True
    assert rc.resources.check_existence_by_id(circuit_id + "x", api_version=NETWORK_API) is False

    updated = rc.resources.begin_update_by_id(circuit_id, {"tags": {"cost": "42"}}, api_version=NETWORK_API).result()
    assert updated.tags == {"cost": "42"}
    assert server.network("customer").express_route_circuits.get(GROUP, "er1").tags == {"cost": "42"}

    # validation is the type's: a refused tag changes nothing
    circuits = server.network("customer").express_route_circuits
    before = circuits.get(GROUP, "er1")
    with pytest.raises(HttpResponseError) as refused:
        rc.resources.begin_update_by_id(circuit_id, {"tags": {"a/b": "x"}}, api_version=NETWORK_API).result()
    assert (refused.value.status_code, refused.value.error.code) == (400, "InvalidTagNameCharacters")
    assert "a/b" in refused.value.error.message
    after = circuits.get(GROUP, "er1")
    assert (after.tags, after.etag) == (before.tags, before.etag)

    # RBAC is the type's: the partner may not read the customer's circuit
    with pytest.raises(HttpResponseError) as denied:
        server.resources("partner", sub).resources.get_by_id(circuit_id, api_version=NETWORK_API)
    assert (denied.value.status_code, denied.value.error.code) == (403, "AuthorizationFailed")

    # ETags are the type's: a stale If-Match is refused
    with server.http("admin") as http:
        stale = http.patch(
            f"{circuit_id}?api-version={NETWORK_API}", json={"tags": {}}, headers={"If-Match": 'W/"old"'}
        )
    assert arm_error(stale)[:2] == (412, "PreconditionFailed")

    # deletes are the type's long-running operations; the group's DELETE removes what it holds
    rc.resources.begin_delete_by_id(auth_id, api_version=NETWORK_API).result()
    assert rc.resources.check_existence_by_id(auth_id, api_version=NETWORK_API) is False
    rc.resources.begin_delete_by_id(group_id, api_version=RESOURCES_API).result()
    assert names(rc.resources.list()) == ["er1"]
    with pytest.raises(ResourceNotFoundError) as gone:
        rc.resources.get_by_id(group_id, api_version=RESOURCES_API)
    assert gone.value.error.code == "ResourceGroupNotFound"


def test_by_id_on_the_partners_cross_connection(server: Server) -> None:
    circuit = create_circuit(server)
    xc = find_cross_connection(server, circuit.service_key)
    partner = server.resources("partner")
    shown = partner.resources.get_by_id(xc.id, api_version=NETWORK_API)
    assert shown.properties["serviceProviderProvisioningState"] == "NotProvisioned"
    tagged = partner.resources.begin_update_by_id(xc.id, {"tags": {"ticket": "7"}}, api_version=NETWORK_API).result()
    assert tagged.tags == {"ticket": "7"}


def test_every_served_type_answers_by_id_at_the_version_its_provider_advertises(server: Server) -> None:
    """Like `az resource show --ids`: the api-version comes from the provider metadata (the
    parent's resource type for a child), then GET and HEAD by id; DELETE by id where the type
    deletes."""
    circuit, xc = provisioned_circuit(server)
    net = server.network("customer")
    net.express_route_circuit_authorizations.begin_create_or_update(GROUP, "er1", "auth1", {}).result()
    peering = circuit_peering(server, "AzurePrivatePeering", PRIVATE)
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5010"]))
    rc = server.resources("admin", server.subscription("customer"))
    partner = server.resources("partner")
    metadata = {t.resource_type.lower(): t.api_versions for t in rc.providers.get("Microsoft.Network").resource_types}

    def version(resource_id: str) -> str:
        top_type = resource_id.split("/providers/Microsoft.Network/")[1].split("/")[0]
        return [v for v in metadata[top_type.lower()] if "preview" not in v][0]

    ids = {
        "Microsoft.Network/expressRouteCircuits": (rc, circuit.id),
        "Microsoft.Network/expressRouteCircuits/authorizations": (rc, circuit.id + "/authorizations/auth1"),
        "Microsoft.Network/expressRouteCircuits/peerings": (rc, peering.id),
        "Microsoft.Network/routeFilters": (rc, route_filter.id),
        "Microsoft.Network/routeFilters/routeFilterRules": (rc, route_filter.id + "/routeFilterRules/rule1"),
        "Microsoft.Network/expressRouteCrossConnections": (partner, xc.id),
        "Microsoft.Network/expressRouteCrossConnections/peerings": (partner, xc.id + "/peerings/AzurePrivatePeering"),
        "Microsoft.Resources/resourceGroups": (rc, circuit.id.split("/providers/")[0]),
    }
    for type_name, (client, resource_id) in ids.items():
        api = RESOURCES_API if type_name.startswith("Microsoft.Resources") else version(resource_id)
        shown = client.resources.get_by_id(resource_id, api_version=api)
        assert (shown.id.lower(), shown.type) == (resource_id.lower(), type_name), shown
        assert client.resources.check_existence_by_id(resource_id, api_version=api) is True
        assert client.resources.check_existence_by_id(resource_id + "-missing", api_version=api) is False

    # deletes by id run the types' own long-running deletes (the peering leaves both views)
    rc.resources.begin_delete_by_id(peering.id, api_version=version(peering.id)).result()
    peering_in_xc = xc.id + "/peerings/AzurePrivatePeering"
    assert partner.resources.check_existence_by_id(peering_in_xc, api_version=version(xc.id)) is False
    rule_id = route_filter.id + "/routeFilterRules/rule1"
    rc.resources.begin_delete_by_id(rule_id, api_version=version(rule_id)).result()
    assert rc.resources.check_existence_by_id(rule_id, api_version=version(rule_id)) is False


# -- providers at tenant scope ---------------------------------------------------------------------


def test_providers_at_tenant_scope_and_resource_types(server: Server) -> None:
    rc = server.resources("partner")
    network = rc.providers.get_at_tenant_scope("microsoft.network")
    assert (network.id, network.namespace) == ("/providers/Microsoft.Network", "Microsoft.Network")
    types = {t.resource_type: t.api_versions for t in network.resource_types}
    assert "2024-07-01" in types["expressRouteCrossConnections"]
    assert "expressRouteCircuits/peerings" in types
    assert {p.namespace for p in rc.providers.list_at_tenant_scope()} >= {"Microsoft.Network", "Microsoft.Resources"}
    listed = rc.provider_resource_types.list("Microsoft.Network")
    assert "expressRouteCrossConnections" in {t.resource_type for t in listed.value}
    with pytest.raises(ResourceNotFoundError) as missing:
        rc.providers.get_at_tenant_scope("Microsoft.Nothing")
    assert missing.value.error.code == "InvalidResourceNamespace"
