"""Factories for the set-ups partner tests start from, built through the real SDK as the
customer and the partner would build them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from crossconnect.testing.clients import Clients

TEST_PROVIDER = "Ibiza Test Provider"
_numbers = itertools.count(1)


@dataclass
class ProvisionedCrossConnection:
    """The customer's circuit, the partner's cross connection for it (Provisioned) and the
    service key the customer handed over; ``resource_group`` is the partner's
    ``CrossConnection-<peering location>``."""

    circuit: Any
    cross_connection: Any
    service_key: str
    resource_group: str


def provisioned_cross_connection(
    clients: Clients,
    *,
    bandwidth: int = 50,
    location: str = "Area51",
    azure_location: str = "westus",
    provider: str = TEST_PROVIDER,
    circuit_name: str | None = None,
    customer_group: str = "customer-rg",
    state: str = "Provisioned",
) -> ProvisionedCrossConnection:
    """The customer creates a circuit with ``provider`` at the peering location ``location``;
    the partner finds its cross connection by service key and moves it to ``state``
    (NotProvisioned → Provisioning → Provisioned)."""
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    name = circuit_name or f"circuit-{next(_numbers)}"
    clients.client(ResourceManagementClient, "customer").resource_groups.create_or_update(
        customer_group, {"location": azure_location}
    )
    customer = clients.client(NetworkManagementClient, "customer")
    circuit = customer.express_route_circuits.begin_create_or_update(
        customer_group,
        name,
        {
            "location": azure_location,
            "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
            "properties": {
                "serviceProviderProperties": {
                    "serviceProviderName": provider,
                    "peeringLocation": location,
                    "bandwidthInMbps": bandwidth,
                }
            },
        },
    ).result()
    partner = clients.client(NetworkManagementClient, "partner")
    xc = next(iter(partner.express_route_cross_connections.list(filter=f"name eq '{circuit.service_key}'")))
    group = xc.id.split("/")[4]
    for step in ("Provisioning", "Provisioned"):
        if xc.service_provider_provisioning_state == state:
            break
        xc.service_provider_provisioning_state = step
        xc = partner.express_route_cross_connections.begin_create_or_update(group, xc.name, xc).result()
    circuit = customer.express_route_circuits.get(customer_group, name)
    return ProvisionedCrossConnection(circuit, xc, str(circuit.service_key), group)
