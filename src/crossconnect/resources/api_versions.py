"""The api-versions of the Microsoft.Resources, Microsoft.Features and Microsoft.Authorization types
and of /metadata/endpoints: every version a real client (SDK, Azure CLI, Terraform) sends."""

RESOURCES_VERSIONS = [
    "2014-04-01",
    "2015-01-01",
    "2015-11-01",
    "2016-02-01",
    "2016-06-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
]

# Microsoft.Resources/deployments: the Azure CLI 2.91 sends 2025-04-01 (az deployment) and 2024-11-01
# (network commands built on templates); azure-mgmt-resource-deployments 2.0 sends 2026-06-01.
DEPLOYMENTS_VERSIONS = [*RESOURCES_VERSIONS, "2026-06-01"]

SUBSCRIPTIONS_VERSIONS = [
    "2014-04-01",
    "2015-01-01",
    "2016-06-01",
    "2018-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-01-01",
    "2022-09-01",
    "2022-12-01",
    "2024-08-01",
]

FEATURES_VERSIONS = ["2014-08-01-preview", "2015-12-01", "2021-07-01"]

# Microsoft.Authorization roleAssignments/roleDefinitions: azure-mgmt-authorization 4.0.0 sends
# 2022-04-01, the Azure CLI 2.91 sends 2022-04-01 (assignments) and 2022-05-01-preview (definitions).
AUTHORIZATION_VERSIONS = [
    "2015-07-01",
    "2018-01-01-preview",
    "2018-07-01",
    "2018-09-01-preview",
    "2020-04-01-preview",
    "2020-08-01-preview",
    "2020-10-01-preview",
    "2021-04-01-preview",
    "2022-01-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
]

METADATA_VERSIONS = ["2015-01-01", "2018-01-01", "2019-05-01", "2020-06-01", "2022-09-01"]
