"""Template deployments (Microsoft.Resources/deployments) through azure-mgmt-resource-deployments:
create (an LRO), validate, get, list, operations, export, cancel and delete; resources created
through their own types' strategies in dependency order; outputs with reference()."""

from __future__ import annotations

from typing import Any

from tests.support import Server
from tests.support.deployments import GROUP, body, deployments, ensure_group, filter_template


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
