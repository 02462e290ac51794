"""The bodies of expressRouteCrossConnections: what a partner's PUT may send (Pydantic models) and
the serviceProviderProvisioningState transitions it may ask for."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from crossconnect.arm.bodies import ArmModel, TrackedResourceBody

# Who may move the provider state where. Azure's order is NotProvisioned → Provisioning →
# Provisioned → Deprovisioning → NotProvisioned; Provisioning may be skipped (the docs say the
# partner "optionally passes through Provisioning"), and the CLI extension offers no
# Deprovisioning, so Provisioned → NotProvisioned is allowed as well.
TRANSITIONS = {
    "NotProvisioned": {"Provisioning", "Provisioned"},
    "Provisioning": {"Provisioned", "NotProvisioned"},
    "Provisioned": {"Deprovisioning", "NotProvisioned"},
    "Deprovisioning": {"NotProvisioned", "Provisioned"},
}


class SubResource(ArmModel):
    id: str | None = None


class CrossConnectionProperties(ArmModel):
    primary_azure_port: str | None = Field(default=None, alias="primaryAzurePort")
    secondary_azure_port: str | None = Field(default=None, alias="secondaryAzurePort")
    s_tag: int | None = Field(default=None, alias="sTag")
    peering_location: str | None = Field(default=None, alias="peeringLocation")
    bandwidth_in_mbps: int | None = Field(default=None, alias="bandwidthInMbps")
    express_route_circuit: SubResource | None = Field(default=None, alias="expressRouteCircuit")
    service_provider_provisioning_state: str | None = Field(default=None, alias="serviceProviderProvisioningState")
    service_provider_notes: str | None = Field(default=None, alias="serviceProviderNotes")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")
    peerings: list[dict[str, Any]] | None = None


class CrossConnectionBody(TrackedResourceBody):
    properties: CrossConnectionProperties = Field(default_factory=CrossConnectionProperties)
