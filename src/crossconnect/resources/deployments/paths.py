"""Where template deployments live: their type and the URL templates of their endpoints. A leaf
module: the route table (``routes``) needs these without loading the code behind them."""

from __future__ import annotations

TYPE = "Microsoft.Resources/deployments"

BASE = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Resources/deployments"
ITEM = BASE + "/{deploymentName}"
# Deployment operations sit outside the provider path (DeploymentOperations_List in Azure's spec)
OPERATIONS = (
    "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/deployments/{deploymentName}/operations"
)
