"""The tags API through azure-mgmt-resource: tag names and values of a subscription
(``Tags_List``, ``Tags_CreateOrUpdate[Value]``, ``Tags_Delete[Value]``) and the tags of one
resource at ``/{scope}/providers/Microsoft.Resources/tags/default``, which run the resource
type's own rules (validation, not found) and are authorized as on Azure (``Microsoft.Resources/tags/*``
or the resource's own read/write)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support import Server
from tests.support.network import GROUP, XC_GROUP, create_circuit, find_cross_connection
from tests.support.platform import RESOURCES_API, arm_error
from tests.support.rbac import ROLE_IDS, assign, create_identity, resources

SUFFIX = "/providers/Microsoft.Resources/tags/default"


def tag_names(rc: object) -> dict[str, tuple[int, dict[str, int]]]:
    return {
        t.tag_name: (t.count.value, {v.tag_value: v.count.value for v in t.values_property})
        for t in rc.tags.list()  # type: ignore[attr-defined]
    }


def test_tag_names_and_values_of_a_subscription(server: Server) -> None:
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    rc.resource_groups.create_or_update("tagged-rg", {"location": "westus", "tags": {"env": "prod"}})
    create_circuit(server)
    server.network("customer").express_route_circuits.update_tags(GROUP, "er1", {"tags": {"Env": "dev"}})

    created = rc.tags.create_or_update("costCenter")
    assert (created.id, created.tag_name) == (f"/subscriptions/{sub}/tagNames/costCenter", "costCenter")
    value = rc.tags.create_or_update_value("costCenter", "1234")
    assert (value.id, value.tag_value) == (f"/subscriptions/{sub}/tagNames/costCenter/tagValues/1234", "1234")
    listed = tag_names(rc)
    assert listed["costCenter"] == (0, {"1234": 0})
    assert listed["env"] == (2, {"prod": 1, "dev": 1})  # names are case-insensitive: one entry

    with server.http("admin") as http:
        base = f"/subscriptions/{sub}/tagNames"
        assert http.put(f"{base}/costCenter?api-version={RESOURCES_API}").status_code == 200  # exists
        assert http.put(f"{base}/owner?api-version={RESOURCES_API}").status_code == 201
        for name, code in (("azure-owned", "InvalidTagName"), ("a<b", "InvalidTagNameCharacters")):
            r = http.put(f"{base}/{name}?api-version={RESOURCES_API}")
            status, got, message = arm_error(r)
            assert (status, got) == (400, code) and name in message, r.text
        # a predefined name with predefined values stays until its values are gone
        refused = http.delete(f"{base}/costCenter?api-version={RESOURCES_API}")
        assert arm_error(refused)[:2] == (409, "TagNameHasValues")
    assert "azure-owned" not in tag_names(rc)

    rc.tags.delete_value("costCenter", "1234")
    rc.tags.delete("costCenter")
    assert "costCenter" not in tag_names(rc)
    with pytest.raises(ResourceNotFoundError) as missing:
        rc.tags.delete("costCenter")
    assert missing.value.error.code == "PredefinedTagNameNotFound"
    with pytest.raises(HttpResponseError) as in_use:
        rc.tags.create_or_update("env")
        rc.tags.delete("env")
    assert (in_use.value.status_code, in_use.value.error.code) == (409, "TagNameInUse")


def test_tags_at_scope_of_a_resource_and_a_group(server: Server) -> None:
    create_circuit(server)
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    circuit_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"
    circuits = server.network("customer").express_route_circuits

    put = rc.tags.begin_create_or_update_at_scope(circuit_id, {"properties": {"tags": {"a": "1", "b": "2"}}}).result()
    assert (put.id, put.name, put.type) == (circuit_id + SUFFIX, "default", "Microsoft.Resources/tags")
    assert put.properties.tags == {"a": "1", "b": "2"}
    assert circuits.get(GROUP, "er1").tags == {"a": "1", "b": "2"}  # the circuit's own tags

    merged = rc.tags.begin_update_at_scope(circuit_id, {"operation": "Merge", "properties": {"tags": {"c": "3"}}})
    assert merged.result().properties.tags == {"a": "1", "b": "2", "c": "3"}
    deleted = rc.tags.begin_update_at_scope(
        circuit_id, {"operation": "Delete", "properties": {"tags": {"a": "1", "b": "other"}}}
    )
    assert deleted.result().properties.tags == {"b": "2", "c": "3"}  # a name/value pair deletes on a match only
    replaced = rc.tags.begin_update_at_scope(circuit_id, {"operation": "Replace", "properties": {"tags": {"z": "9"}}})
    assert replaced.result().properties.tags == {"z": "9"}
    assert rc.tags.get_at_scope(circuit_id).properties.tags == {"z": "9"}
    rc.tags.begin_delete_at_scope(circuit_id).result()
    assert rc.tags.get_at_scope(circuit_id).properties.tags == {}
    assert not circuits.get(GROUP, "er1").tags

    group_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}"
    rc.tags.begin_create_or_update_at_scope(group_id, {"properties": {"tags": {"owner": "noc"}}}).result()
    assert rc.resource_groups.get(GROUP).tags == {"owner": "noc"}


def test_tags_at_scope_refusals_change_nothing(server: Server) -> None:
    create_circuit(server)
    sub = server.subscription("customer")
    circuit_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"
    circuits = server.network("customer").express_route_circuits
    circuits.update_tags(GROUP, "er1", {"tags": {"keep": "me"}})
    before = circuits.get(GROUP, "er1").etag
    url = f"{circuit_id}{SUFFIX}?api-version={RESOURCES_API}"
    cases = [
        ("PUT", url, {"properties": {"tags": {"bad/name": "x"}}}, 400, "InvalidTagNameCharacters", "bad/name"),
        ("PUT", url, {"properties": {"tags": {"n": 5}}}, 400, "InvalidRequestContent", "tags.n"),
        ("PUT", url, {"tags": {"n": "v"}}, 400, "InvalidRequestContent", "properties"),
        ("PATCH", url, {"operation": "Upsert", "properties": {"tags": {}}}, 400, "InvalidRequestContent", "operation"),
        ("PUT", url.replace("/er1/", "/nope/"), {"properties": {"tags": {}}}, 404, "ResourceNotFound", "nope"),
        (
            "GET",
            f"/subscriptions/{sub}/locations{SUFFIX}?api-version={RESOURCES_API}",
            None,
            400,
            "InvalidScope",
            "scope",
        ),
    ]
    with server.http("admin") as http:
        for method, target, body, status, code, named in cases:
            r = http.request(method, target, json=body)
            got = arm_error(r)
            assert got[:2] == (status, code), (method, body, r.text)
            assert named in got[2], got
    after = circuits.get(GROUP, "er1")
    assert (after.tags, after.etag) == ({"keep": "me"}, before)


def test_tags_at_scope_need_the_tags_permission_or_the_resources_own(server: Server) -> None:
    """Azure's rule: Microsoft.Resources/tags/* at the scope, or the resource's own read/write."""
    circuit = create_circuit(server)
    xc = find_cross_connection(server, circuit.service_key)
    sub = server.subscription("customer")
    circuit_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"
    circuits = server.network("customer").express_route_circuits

    # the partner (Network Contributor: Microsoft.Network/*, no tags/write) tags its cross connection
    partner = server.resources("partner")
    tagged = partner.tags.begin_create_or_update_at_scope(xc.id, {"properties": {"tags": {"a": "b"}}}).result()
    assert tagged.properties.tags == {"a": "b"}
    assert server.network("partner").express_route_cross_connections.get(XC_GROUP, xc.name).tags == {"a": "b"}
    with pytest.raises(HttpResponseError) as listing:
        list(partner.tags.list())  # tag names of the subscription: Microsoft.Resources/subscriptions/tagNames/read
    assert listing.value.status_code == 403

    # a Reader of the group reads the circuit's tags but may not write them
    reader = create_identity(server, "tags-reader")
    assign(server, reader, ROLE_IDS["Reader"], f"/subscriptions/{sub}/resourceGroups/{GROUP}")
    as_reader = resources(server, reader, sub)
    circuits.update_tags(GROUP, "er1", {"tags": {"keep": "me"}})
    assert as_reader.tags.get_at_scope(circuit_id).properties.tags == {"keep": "me"}
    with pytest.raises(HttpResponseError) as denied:
        as_reader.tags.begin_create_or_update_at_scope(circuit_id, {"properties": {"tags": {"x": "y"}}}).result()
    assert (denied.value.status_code, denied.value.error.code) == (403, "AuthorizationFailed")
    assert "Microsoft.Resources/tags/write" in denied.value.error.message
    # the partner holds nothing in the customer's subscription
    with pytest.raises(HttpResponseError) as foreign:
        server.resources("partner", sub).tags.begin_delete_at_scope(circuit_id).result()
    assert (foreign.value.status_code, foreign.value.error.code) == (403, "AuthorizationFailed")
    assert circuits.get(GROUP, "er1").tags == {"keep": "me"}


def test_tags_of_the_subscription_itself(server: Server) -> None:
    sub = server.subscription("customer")
    rc = server.resources("admin", sub)
    scope = f"/subscriptions/{sub}"
    assert rc.tags.get_at_scope(scope).properties.tags == {}
    put = rc.tags.begin_create_or_update_at_scope(scope, {"properties": {"tags": {"billing": "lab"}}}).result()
    assert (put.id, put.properties.tags) == (scope + SUFFIX, {"billing": "lab"})
    merged = rc.tags.begin_update_at_scope(scope, {"operation": "Merge", "properties": {"tags": {"owner": "noc"}}})
    assert merged.result().properties.tags == {"billing": "lab", "owner": "noc"}
    with server.http("admin") as http:
        shown = http.get(f"{scope}?api-version=2022-12-01")
        assert shown.json()["tags"] == {"billing": "lab", "owner": "noc"}  # the subscription carries them
        refused = http.put(f"{scope}{SUFFIX}?api-version={RESOURCES_API}", json={"properties": {"tags": {"a?": "x"}}})
        status, code, message = arm_error(refused)
        assert (status, code) == (400, "InvalidTagNameCharacters") and "a?" in message
    assert rc.tags.get_at_scope(scope).properties.tags == {"billing": "lab", "owner": "noc"}
    rc.tags.begin_delete_at_scope(scope).result()
    assert rc.tags.get_at_scope(scope).properties.tags == {}
    # the partner holds no role in this subscription
    with pytest.raises(HttpResponseError) as denied:
        server.resources("partner", sub).tags.get_at_scope(scope)
    assert (denied.value.status_code, denied.value.error.code) == (403, "AuthorizationFailed")
