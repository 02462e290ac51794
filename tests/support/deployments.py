"""Helpers for the template-deployment tests: the deployments client (azure-mgmt-resource-deployments,
the package the Azure CLI's ``az deployment`` uses) and small templates of the resource types the
server has."""

from __future__ import annotations

from typing import Any

from tests.support import Server
from tests.support.rbac import Identity, _client

GROUP = "deploy-rg"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
NETWORK_API = "2024-07-01"


def deployments(server: Server, role: str | Identity = "admin", subscription: str | None = None) -> Any:
    from azure.mgmt.resource.deployments import DeploymentsMgmtClient

    if isinstance(role, Identity):
        return _client(DeploymentsMgmtClient, server, role, subscription or server.subscription("customer"),
                       polling_interval=1)  # fmt: skip
    return DeploymentsMgmtClient(
        server.credential(role),
        subscription or server.subscription("customer"),
        base_url=server.base_url,
        connection_verify=server.ca,
        polling_interval=1,
    )


def ensure_group(server: Server, group: str = GROUP) -> None:
    rc = server.resources("admin", server.subscription("customer"))
    rc.resource_groups.create_or_update(group, {"location": "westus"})


def body(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deployment body (the SDK sends dicts verbatim)."""
    return {
        "properties": {
            "template": template,
            "parameters": {k: {"value": v} for k, v in (parameters or {}).items()},
            "mode": "Incremental",
        }
    }


def template(resources: list[dict[str, Any]], **parts: Any) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **parts, "resources": resources}


def route_filter(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Network/routeFilters",
        "apiVersion": NETWORK_API,
        "name": name,
        "location": "[resourceGroup().location]",
        "properties": {},
        **extra,
    }


def filter_rule(filter_name: str, rule: str, communities: Any, name: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Network/routeFilters/routeFilterRules",
        "apiVersion": NETWORK_API,
        "name": name or f"{filter_name}/{rule}",
        "location": "[resourceGroup().location]",
        "properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": communities},
        **extra,
    }


def filter_template() -> dict[str, Any]:
    """A filter named by a parameter, a rule depending on it by resourceId, outputs with reference()."""
    return template(
        [
            route_filter("[parameters('filterName')]", tags="[variables('tags')]"),
            filter_rule(
                "[parameters('filterName')]",
                "allow-exchange",
                "[parameters('communities')]",
                name="[format('{0}/allow-exchange', parameters('filterName'))]",
                dependsOn=["[resourceId('Microsoft.Network/routeFilters', parameters('filterName'))]"],
            ),
        ],
        parameters={
            "filterName": {"type": "string", "defaultValue": "filter1"},
            "communities": {"type": "array", "defaultValue": ["12076:5010"]},
            "env": {"type": "string", "allowedValues": ["lab", "prod"], "defaultValue": "lab"},
        },
        variables={"tags": {"env": "[parameters('env')]", "owner": "[concat('team-', toLower('NOC'))]"}},
        outputs={
            "filterId": {"type": "string", "value": "[resourceId('Microsoft.Network/routeFilters', parameters('filterName'))]"},
            "rules": {"type": "array", "value": "[reference(parameters('filterName')).rules]"},
            "ruleAccess": {"type": "string", "value": "[reference(resourceId('Microsoft.Network/routeFilters/routeFilterRules', parameters('filterName'), 'allow-exchange'), '2024-07-01').access]"},
        },
    )  # fmt: skip
