"""Template deployments through the real Azure CLI: ``az deployment group create/validate/show/list/
delete/export/cancel``, ``az deployment operation group list`` (the CLI validates first, then sends
the template file verbatim — comments and all — after an unquoted ``template:`` member name), and
``az network vpn-connection create``, which submits a template the CLI builds itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import Server
from tests.support.azure_cli import AzureCli
from tests.support.deployments import GROUP, ensure_group, filter_template
from tests.support.network import circuit_body

pytestmark = pytest.mark.azure_cli


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_az_deployment_group_create_show_list_operations_export_and_delete(az_admin: AzureCli, tmp_path: Path) -> None:
    server = az_admin.server
    ensure_group(server)
    az_admin("account", "set", "--subscription", server.subscription("customer"))
    # a template file as people write them: with comments, which the CLI sends as they are
    text = json.dumps(filter_template(), indent=2)
    text = text.replace('"resources": [', '// what is deployed\n  "resources": [ /* a filter and its rule */', 1)
    template_file = _write(tmp_path, "filters.json", text)

    validated = az_admin("deployment", "group", "validate", "-g", GROUP, "--template-file", template_file,
                         "--parameters", "env=prod")  # fmt: skip
    assert validated["properties"]["provisioningState"] == "Succeeded"
    assert len(validated["properties"]["validatedResources"]) == 2
    assert az_admin("network", "route-filter", "list", "-g", GROUP) == []  # validation creates nothing

    changes = az_admin("deployment", "group", "what-if", "-g", GROUP, "--template-file", template_file,
                       "--parameters", "filterName=edge", "--no-pretty-print")["changes"]  # fmt: skip
    assert sorted((c["changeType"], c["resourceId"].rsplit("/", 1)[1]) for c in changes) == [
        ("Create", "allow-exchange"),
        ("Create", "edge"),
    ]
    created = az_admin("deployment", "group", "create", "-g", GROUP, "-n", "filters", "--template-file",
                       template_file, "--parameters", "env=prod", "filterName=edge")  # fmt: skip
    props = created["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["outputs"]["ruleAccess"]["value"] == "Allow"
    assert props["outputs"]["filterId"]["value"].endswith("/routeFilters/edge")
    made = az_admin("network", "route-filter", "show", "-g", GROUP, "-n", "edge")
    assert made["tags"] == {"env": "prod", "owner": "team-noc"}

    shown = az_admin("deployment", "group", "show", "-g", GROUP, "-n", "filters")
    assert shown["properties"]["parameters"]["filterName"] == {"type": "String", "value": "edge"}
    assert [d["name"] for d in az_admin("deployment", "group", "list", "-g", GROUP)] == ["filters"]
    operations = az_admin("deployment", "operation", "group", "list", "-g", GROUP, "-n", "filters")
    assert sorted(o["properties"]["targetResource"]["resourceName"] for o in operations) == [
        "edge",
        "edge/allow-exchange",
    ]
    exported = az_admin("deployment", "group", "export", "-g", GROUP, "-n", "filters")
    assert exported["resources"][0]["type"] == "Microsoft.Network/routeFilters"

    az_admin("deployment", "group", "delete", "-g", GROUP, "-n", "filters")
    assert az_admin("deployment", "group", "list", "-g", GROUP) == []
    # deleting the record leaves the resources
    assert az_admin("network", "route-filter", "show", "-g", GROUP, "-n", "edge")["name"] == "edge"


def _served(server: Server, path: str) -> bool:
    """Whether the server knows the resource type of ``path`` (a GET answers anything but
    InvalidResourceType)."""
    with server.http("admin") as http:
        answer = http.get(path, params={"api-version": "2024-07-01"})
    return not (answer.status_code == 404 and answer.json()["error"]["code"] == "InvalidResourceType")


def _gateway_ids(server: Server) -> tuple[str, str]:
    sub = server.subscription("customer")
    base = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network"
    return f"{base}/virtualNetworkGateways/gw1", f"{base}/expressRouteCircuits/er1"


def test_az_network_vpn_connection_create_is_refused_while_connections_are_unknown(
    az_admin: AzureCli,
) -> None:
    """Before Microsoft.Network/connections exists, the template the CLI builds is refused at once
    with InvalidTemplate naming the type, and nothing is kept."""
    server = az_admin.server
    ensure_group(server)
    gateway, circuit = _gateway_ids(server)
    if _served(server, gateway.replace("virtualNetworkGateways/gw1", "connections/conn1")):
        pytest.skip("Microsoft.Network/connections is served: the next test deploys a real connection")
    az_admin("account", "set", "--subscription", server.subscription("customer"))
    error = az_admin.fails("network", "vpn-connection", "create", "-g", GROUP, "-n", "conn1",
                           "--vnet-gateway1", gateway, "--express-route-circuit2", circuit)  # fmt: skip
    assert "InvalidTemplate" in error.stderr and "Microsoft.Network/connections" in error.stderr
    assert az_admin("deployment", "group", "list", "-g", GROUP) == []


def test_az_network_vpn_connection_create_deploys_an_expressroute_connection(az_admin: AzureCli) -> None:
    """``az network vpn-connection create --vnet-gateway1 … --express-route-circuit2 …`` submits a
    template deployment (the CLI's ArmTemplateBuilder) and prints its output: the connection."""
    server = az_admin.server
    ensure_group(server)
    gateway, circuit = _gateway_ids(server)
    if not _served(server, gateway):
        pytest.skip(
            "Microsoft.Network/virtualNetworkGateways is not served yet (branch vnet): enabled once the gateway, "
            "virtual network and connection types are merged"
        )
    customer = server.network("customer")
    customer.express_route_circuits.begin_create_or_update(GROUP, "er1", circuit_body()).result()
    customer.virtual_networks.begin_create_or_update(GROUP, "vnet1", {
        "location": "westus", "address_space": {"address_prefixes": ["10.1.0.0/16"]},
        "subnets": [{"name": "GatewaySubnet", "address_prefix": "10.1.255.0/27"}]}).result()  # fmt: skip
    ip = customer.public_ip_addresses.begin_create_or_update(GROUP, "gw1-ip", {
        "location": "westus", "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static"}).result()  # fmt: skip
    subnet = customer.subnets.get(GROUP, "vnet1", "GatewaySubnet")
    customer.virtual_network_gateways.begin_create_or_update(GROUP, "gw1", {
        "location": "westus", "gateway_type": "ExpressRoute", "sku": {"name": "Standard", "tier": "Standard"},
        "ip_configurations": [{"name": "default", "subnet": {"id": subnet.id}, "public_ip_address": {"id": ip.id}}],
    }).result()  # fmt: skip
    az_admin("account", "set", "--subscription", server.subscription("customer"))
    created = az_admin("network", "vpn-connection", "create", "-g", GROUP, "-n", "conn1",
                       "--vnet-gateway1", gateway, "--express-route-circuit2", circuit)  # fmt: skip
    connection = created.get("resource", created)
    assert connection["connectionType"] == "ExpressRoute"
    assert connection["peer"]["id"].lower() == circuit.lower()
    [deployment] = az_admin("deployment", "group", "list", "-g", GROUP)
    assert deployment["name"].startswith("vpn_connection_deploy_")
    assert deployment["properties"]["provisioningState"] == "Succeeded"


def test_az_deployment_group_create_reports_invalid_templates_and_failed_resources(
    az_admin: AzureCli, tmp_path: Path
) -> None:
    server = az_admin.server
    ensure_group(server)
    az_admin("account", "set", "--subscription", server.subscription("customer"))
    bad = filter_template()
    bad["variables"]["tags"]["owner"] = "[concatenate('team-', 'noc')]"
    error = az_admin.fails("deployment", "group", "create", "-g", GROUP, "-n", "bad", "--template-file",
                           _write(tmp_path, "bad.json", json.dumps(bad)))  # fmt: skip
    assert "InvalidTemplate" in error.stderr and "concatenate" in error.stderr
    assert az_admin("deployment", "group", "list", "-g", GROUP) == []

    failing = filter_template()
    failing["parameters"]["communities"]["defaultValue"] = ["not-a-community"]
    error = az_admin.fails("deployment", "group", "create", "-g", GROUP, "-n", "failing", "--template-file",
                           _write(tmp_path, "failing.json", json.dumps(failing)))  # fmt: skip
    assert "DeploymentFailed" in error.stderr and "not-a-community" in error.stderr
    [shown] = az_admin("deployment", "group", "list", "-g", GROUP)
    assert shown["properties"]["provisioningState"] == "Failed"
    assert az_admin("network", "route-filter", "show", "-g", GROUP, "-n", "filter1")["name"] == "filter1"
