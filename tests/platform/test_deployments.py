"""Template deployments (Microsoft.Resources/deployments) through azure-mgmt-resource-deployments:
create (an LRO), validate, get, list, operations, export, cancel and delete; resources created
through their own types' strategies in dependency order; outputs with reference()."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from tests.support import Server, rbac
from tests.support.deployments import (
    GROUP,
    body,
    deployments,
    ensure_group,
    filter_rule,
    filter_template,
    route_filter,
    template,
)
from tests.support.network import PRIVATE, XC_GROUP, provisioned_circuit, rejected
from tests.support.platform import ServerFactory, dedicated_servers


def network(server: Server) -> Any:
    return server.network("customer", server.subscription("customer"))


def test_a_deployment_creates_its_resources_in_order_and_shows_outputs(server: Server) -> None:
    ensure_group(server)
    client = deployments(server)
    result = client.deployments.begin_create_or_update(
        GROUP, "filters", body(filter_template(), {"env": "prod"})
    ).result()
    props = result.properties
    assert props.provisioning_state == "Succeeded"
    assert props.mode == "Incremental"
    sub = server.subscription("customer")
    filter_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/routeFilters/filter1"
    assert props.outputs["filterId"] == {"type": "String", "value": filter_id}
    assert props.outputs["ruleAccess"]["value"] == "Allow"
    assert props.outputs["rules"]["value"][0]["name"] == "allow-exchange"
    assert {r.id for r in props.output_resources} == {filter_id, f"{filter_id}/routeFilterRules/allow-exchange"}
    assert props.parameters["env"] == {"type": "String", "value": "prod"}
    [dependency] = props.dependencies
    assert dependency.resource_name == "filter1/allow-exchange" and dependency.depends_on[0].id == filter_id

    made = network(server).route_filters.get(GROUP, "filter1", expand="rules")
    assert made.tags == {"env": "prod", "owner": "team-noc"}
    assert [r.communities for r in made.rules] == [["12076:5010"]]

    shown = client.deployments.get(GROUP, "filters")
    assert shown.properties.provisioning_state == "Succeeded" and shown.properties.template_hash
    assert [d.name for d in client.deployments.list_by_resource_group(GROUP)] == ["filters"]
    operations = list(client.deployment_operations.list(GROUP, "filters"))
    assert sorted(o.properties.target_resource.resource_name for o in operations) == [
        "filter1",
        "filter1/allow-exchange",
    ]
    assert {o.properties.provisioning_state for o in operations} == {"Succeeded"}
    assert {o.properties.status_code for o in operations} == {"Created"}
    exported = client.deployments.export_template(GROUP, "filters")
    assert exported.template == filter_template()


def test_a_failing_resource_fails_the_deployment_and_what_was_created_stays(server: Server) -> None:
    ensure_group(server)
    client = deployments(server)
    bad_rule = filter_rule("f1", "r1", ["not-a-community"], dependsOn=["f1"])
    never = filter_rule(
        "f1",
        "r2",
        ["12076:5010"],
        dependsOn=["[resourceId('Microsoft.Network/routeFilters/routeFilterRules', 'f1', 'r1')]"],
    )
    with pytest.raises(HttpResponseError) as caught:
        client.deployments.begin_create_or_update(
            GROUP, "half", body(template([route_filter("f1"), bad_rule, never]))
        ).result()
    error = caught.value.error
    assert error.code == "DeploymentFailed"
    [detail] = error.details
    assert "not-a-community" in detail.message
    shown = client.deployments.get(GROUP, "half").properties
    assert shown.provisioning_state == "Failed" and shown.error.code == "DeploymentFailed"
    states = {o.properties.target_resource.resource_name: (o.properties.provisioning_state, o.properties.status_code)
              for o in client.deployment_operations.list(GROUP, "half")}  # fmt: skip
    assert states == {"f1": ("Succeeded", "Created"), "f1/r1": ("Failed", "BadRequest")}  # r2 never started
    # incremental: the filter made before the failure stays
    assert network(server).route_filters.get(GROUP, "f1").name == "f1"


def test_a_reader_cannot_deploy(server: Server) -> None:
    ensure_group(server)
    sub = server.subscription("customer")
    reader = rbac.create_identity(server, "deploy-reader")
    rbac.assign(server, reader, rbac.ROLE_IDS["Reader"], f"/subscriptions/{sub}/resourceGroups/{GROUP}")
    client = deployments(server, reader)
    rbac.assert_denied(
        server,
        lambda: client.deployments.begin_create_or_update(GROUP, "d", body(filter_template())),
        "Microsoft.Resources/deployments/write",
    )
    assert list(client.deployments.list_by_resource_group(GROUP)) == []


def test_each_resource_is_authorized_as_the_deploying_caller(server: Server) -> None:
    """A role that may deploy and write route filters, but not their rules: the filter is created,
    the rule fails with AuthorizationFailed, as the caller's own PUT of the rule would."""
    ensure_group(server)
    sub = server.subscription("customer")
    scope = f"/subscriptions/{sub}/resourceGroups/{GROUP}"
    role = rbac.create_custom_role(server, "Filter deployer", [
        "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
        "Microsoft.Network/routeFilters/write", "Microsoft.Network/routeFilters/read"], [scope])  # fmt: skip
    who = rbac.create_identity(server, "filter-deployer")
    rbac.assign(server, who, role, scope)
    client = deployments(server, who)
    rule = filter_rule("f1", "r1", ["12076:5010"], dependsOn=["f1"])
    with pytest.raises(HttpResponseError) as caught:
        client.deployments.begin_create_or_update(GROUP, "partly", body(template([route_filter("f1"), rule]))).result()
    assert caught.value.error.code == "DeploymentFailed"
    [detail] = caught.value.error.details
    assert detail.code == "AuthorizationFailed"
    assert "Microsoft.Network/routeFilters/routeFilterRules/write" in detail.message
    assert network(server).route_filters.get(GROUP, "f1").rules == []
    codes = {o.properties.target_resource.resource_name: o.properties.status_code
             for o in client.deployment_operations.list(GROUP, "partly")}  # fmt: skip
    assert codes == {"f1": "Created", "f1/r1": "Forbidden"}


def test_child_resources_nested_in_their_parent_and_conditions(server: Server) -> None:
    ensure_group(server)
    nested = {"type": "routeFilterRules", "apiVersion": "2024-07-01", "name": "nested",
              "location": "westus", "dependsOn": ["f1"],
              "properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5010"]}}  # fmt: skip
    skipped = route_filter("never", condition="[equals(parameters('make'), 'yes')]")
    t = template(
        [route_filter("f1", resources=[nested]), skipped], parameters={"make": {"type": "string", "defaultValue": "no"}}
    )
    result = deployments(server).deployments.begin_create_or_update(GROUP, "nested", body(t)).result()
    assert [r.id.rsplit("/", 1)[1] for r in result.properties.output_resources] == ["f1", "nested"]
    names = [f.name for f in network(server).route_filters.list_by_resource_group(GROUP)]
    assert names == ["f1"]


def test_a_secure_parameter_is_never_shown(server: Server) -> None:
    ensure_group(server)
    t = template([route_filter("f1", tags={"hint": "[string(length(parameters('secret')))]"})],
                 parameters={"secret": {"type": "securestring"}},
                 outputs={"s": {"type": "securestring", "value": "[parameters('secret')]"}})  # fmt: skip
    client = deployments(server)
    result = client.deployments.begin_create_or_update(GROUP, "secret", body(t, {"secret": "hunter2"})).result()
    assert result.properties.parameters["secret"] == {"type": "SecureString"}
    assert result.properties.outputs["s"] == {"type": "Securestring"}
    assert network(server).route_filters.get(GROUP, "f1").tags == {"hint": "7"}
    assert "hunter2" not in json.dumps(server.snapshot())


def test_redeploying_is_incremental_and_deleting_the_group_removes_its_deployments(server: Server) -> None:
    ensure_group(server)
    client = deployments(server)
    client.deployments.begin_create_or_update(GROUP, "again", body(filter_template())).result()
    second = client.deployments.begin_create_or_update(
        GROUP, "again", body(filter_template(), {"env": "prod"})
    ).result()
    assert second.properties.provisioning_state == "Succeeded"
    assert network(server).route_filters.get(GROUP, "filter1").tags["env"] == "prod"
    assert client.deployments.check_existence(GROUP, "again") is True
    server.resources("admin", server.subscription("customer")).resource_groups.begin_delete(GROUP).result()
    ensure_group(server)
    assert list(client.deployments.list_by_resource_group(GROUP)) == []


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def test_a_running_deployment_conflicts_can_be_canceled_and_resumes_after_a_restart(servers: ServerFactory) -> None:
    server = servers.start("--operation-delay", "3")
    ensure_group(server)
    client = deployments(server)
    poller = client.deployments.begin_create_or_update(GROUP, "slow", body(filter_template()))
    assert client.deployments.get(GROUP, "slow").properties.provisioning_state in ("Accepted", "Running")
    with pytest.raises(HttpResponseError) as active:
        client.deployments.begin_create_or_update(GROUP, "slow", body(filter_template()))
    assert active.value.status_code == 409 and active.value.error.code == "DeploymentActive"
    with pytest.raises(HttpResponseError) as deleting:
        client.deployments.begin_delete(GROUP, "slow").result()
    assert deleting.value.error.code == "DeploymentActive"
    client.deployments.cancel(GROUP, "slow")
    assert client.deployments.get(GROUP, "slow").properties.provisioning_state == "Canceled"
    with pytest.raises(HttpResponseError):
        poller.result()
    with pytest.raises(HttpResponseError) as again:
        client.deployments.cancel(GROUP, "slow")
    assert again.value.error.code == "DeploymentCannotBeCancelled"

    # a deployment in progress when the server stops is finished by the next one
    client.deployments.begin_create_or_update(GROUP, "resumed", body(filter_template()))
    server.stop()
    server = servers.restart(server)
    client = deployments(server)
    deadline = time.time() + 60
    while client.deployments.get(GROUP, "resumed").properties.provisioning_state != "Succeeded":
        assert time.time() < deadline, client.deployments.get(GROUP, "resumed").properties.provisioning_state
        time.sleep(0.5)
    assert network(server).route_filters.get(GROUP, "filter1", expand="rules").rules[0].name == "allow-exchange"
    client.deployments.begin_delete(GROUP, "slow").result()
    assert [d.name for d in client.deployments.list_by_resource_group(GROUP)] == ["resumed"]


def test_tags_of_the_resource_group_and_of_a_resource_as_template_resources(server: Server) -> None:
    """``Microsoft.Resources/tags`` named ``default`` tags the deployment's resource group; the
    tags endpoint at any scope is reached like every other resource."""
    ensure_group(server)
    group_tags = {"type": "Microsoft.Resources/tags", "apiVersion": "2021-04-01", "name": "default",
                  "properties": {"tags": {"costCenter": "[parameters('cc')]"}}}  # fmt: skip
    t = template([route_filter("f1"), group_tags], parameters={"cc": {"type": "string"}})
    result = deployments(server).deployments.begin_create_or_update(GROUP, "tags", body(t, {"cc": "4711"})).result()
    assert result.properties.provisioning_state == "Succeeded"
    group = server.resources("admin", server.subscription("customer")).resource_groups.get(GROUP)
    assert group.tags == {"costCenter": "4711"}


def test_a_large_template_is_deployed_in_passes(server: Server) -> None:
    """More resources than one pass starts (MAX_STARTED_PER_PASS): all are created, in order."""
    ensure_group(server)
    count = 120
    filters = [route_filter(f"f{i:03d}", dependsOn=[f"f{i - 1:03d}"] if i % 2 else []) for i in range(count)]
    result = deployments(server).deployments.begin_create_or_update(GROUP, "large", body(template(filters))).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert len(result.properties.output_resources) == count
    assert len(list(network(server).route_filters.list_by_resource_group(GROUP))) == count


def test_validate_and_what_if_create_nothing(server: Server) -> None:
    ensure_group(server)
    client = deployments(server)
    validated = client.deployments.begin_validate(GROUP, "check", body(filter_template())).result()
    assert validated.error is None
    assert len(validated.properties.validated_resources) == 2
    assert validated.properties.provisioning_state == "Succeeded"
    with pytest.raises(HttpResponseError) as caught:
        client.deployments.begin_validate(GROUP, "check", body(template([route_filter("[nope()]")]))).result()
    assert caught.value.error.code == "InvalidTemplate" and "nope" in caught.value.error.message
    changes = client.deployments.begin_what_if(GROUP, "check", body(filter_template())).result().changes
    assert {c.change_type for c in changes} == {"Create"}
    assert list(network(server).route_filters.list_by_resource_group(GROUP)) == []
    assert list(client.deployments.list_by_resource_group(GROUP)) == []
    client.deployments.begin_create_or_update(GROUP, "made", body(filter_template())).result()
    changes = client.deployments.begin_what_if(GROUP, "check", body(filter_template())).result().changes
    assert {c.change_type for c in changes} == {"Deploy"}


def test_the_provider_metadata_lists_deployments(server: Server) -> None:
    provider = server.resources("admin", server.subscription("customer")).providers.get("Microsoft.Resources")
    types = {t.resource_type: t.api_versions for t in provider.resource_types}
    assert "2025-04-01" in types["deployments"] and "deployments/operations" in types


def test_one_deployment_name_put_at_once_on_two_replicas(replicas: tuple[Server, Server]) -> None:
    """Twenty PUTs of one deployment, spread over two replicas on one PostgreSQL database: one
    creates it (201); each other one either finds it running (409 DeploymentActive) or replaces it
    after it finished (200); never a 5xx, and the template's resources exist once."""
    first, second = replicas
    ensure_group(first)
    sub = first.subscription("customer")
    url = f"/subscriptions/{sub}/resourcegroups/{GROUP}/providers/Microsoft.Resources/deployments/race"
    clients = [first.http("admin"), second.http("admin")]

    def put(i: int) -> int:
        answer = clients[i % 2].put(url, params={"api-version": "2025-04-01"}, json=body(filter_template()))
        assert answer.status_code in (200, 201, 409), answer.text
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "DeploymentActive"
        return answer.status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(put, range(20)))
    assert statuses.count(201) == 1, statuses
    client = deployments(first)
    deadline = time.time() + 60
    while client.deployments.get(GROUP, "race").properties.provisioning_state != "Succeeded":
        assert time.time() < deadline
        time.sleep(0.5)
    assert [d.name for d in client.deployments.list_by_resource_group(GROUP)] == ["race"]
    assert [f.name for f in network(first).route_filters.list_by_resource_group(GROUP)] == ["filter1"]
    for c in clients:
        c.close()


def test_the_partner_deploys_a_peering_on_its_cross_connection(server: Server) -> None:
    """The partner (Network Contributor on its provider subscription) configures private peering
    through a template: the cross connection's own peering type takes the PUT, and reference()
    with 'Full' reads the whole cross connection."""
    _circuit, xc = provisioned_circuit(server)
    peering_type = "Microsoft.Network/expressRouteCrossConnections/peerings"
    t = template(
        [{"type": peering_type, "apiVersion": "2024-07-01", "name": "[concat(parameters('key'), '/AzurePrivatePeering')]",
          "properties": {**PRIVATE, "vlanId": "[parameters('vlan')]"}}],
        parameters={"key": {"type": "string"}, "vlan": {"type": "int", "minValue": 1, "maxValue": 4094}},
        outputs={
            "state": {"type": "string", "value": "[reference(resourceId('Microsoft.Network/expressRouteCrossConnections', parameters('key')), '2024-07-01', 'Full').properties.serviceProviderProvisioningState]"},
            "vlan": {"type": "int", "value": "[reference(resourceId('Microsoft.Network/expressRouteCrossConnections/peerings', parameters('key'), 'AzurePrivatePeering'), '2024-07-01').vlanId]"},
        },
    )  # fmt: skip
    client = deployments(server, "partner", server.subscription("partner"))
    result = client.deployments.begin_create_or_update(
        XC_GROUP, "private", body(t, {"key": xc.name, "vlan": "200"})
    ).result()
    assert result.properties.outputs == {"state": {"type": "String", "value": "Provisioned"},
                                         "vlan": {"type": "Int", "value": 200}}  # fmt: skip
    peering = server.network("partner").express_route_cross_connection_peerings.get(
        XC_GROUP, xc.name, "AzurePrivatePeering"
    )
    assert peering.vlan_id == 200 and peering.peer_asn == PRIVATE["peerASN"]
    # the parameter's bounds are checked before anything is written
    error = rejected(server, lambda: client.deployments.begin_create_or_update(
        XC_GROUP, "private2", body(t, {"key": xc.name, "vlan": 5000})), 400, "InvalidTemplate", "vlan")  # fmt: skip
    assert "maxValue" in error["message"]


def test_deployments_are_part_of_snapshots_and_resets(server: Server) -> None:
    ensure_group(server)
    client = deployments(server)
    client.deployments.begin_create_or_update(GROUP, "kept", body(filter_template())).result()
    snapshot = server.operator("GET", "/snapshot").json()
    assert [r["name"] for r in snapshot["tables"]["deployments"]] == ["kept"]
    assert all(r["secrets"] is None for r in snapshot["tables"]["deployments"])  # nothing secret once finished
    server.reset()
    ensure_group(server)
    assert list(client.deployments.list_by_resource_group(GROUP)) == []
    assert server.operator("PUT", "/snapshot", snapshot).status_code == 200
    shown = client.deployments.get(GROUP, "kept")
    assert (
        shown.properties.provisioning_state == "Succeeded"
        and shown.properties.outputs["ruleAccess"]["value"] == "Allow"
    )
