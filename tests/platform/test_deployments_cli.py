"""Template deployments through the real Azure CLI: ``az deployment group create/validate/show/list/
delete/export/cancel``, ``az deployment operation group list`` (the CLI validates first, then sends
the template file verbatim — comments and all — after an unquoted ``template:`` member name).
``az network vpn-connection create``, which submits a template the CLI builds itself, is tested
with the gateways (tests/network/gateways/test_gateways_az.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.azure_cli import AzureCli
from tests.support.deployments import GROUP, ensure_group, filter_template

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
