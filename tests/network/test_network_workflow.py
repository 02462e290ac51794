"""The seed's workflow end to end through the real azure-mgmt-network SDK."""

from __future__ import annotations

import pytest

from tests.support import Server
from tests.support.network import MICROSOFT, PRIVATE, create_circuit, find_cross_connection, peering, set_provider_state

# Microsoft peering with the routing registry named in lower case (the server answers "ARIN").
MICROSOFT_LOWER_CASE_REGISTRY = {
    **MICROSOFT,
    "microsoftPeeringConfig": {**MICROSOFT["microsoftPeeringConfig"], "routingRegistryName": "arin"},
}


@pytest.mark.parametrize("api_version", [None, "2018-04-01"])
def test_seed_workflow(server: Server, api_version: str | None) -> None:
    circuit = create_circuit(server)
    assert circuit.service_provider_provisioning_state == "NotProvisioned"
    assert circuit.circuit_provisioning_state == "Enabled"
    assert circuit.provisioning_state == "Succeeded"
    key = circuit.service_key

    partner = server.network("partner")
    kw = {"api_version": api_version} if api_version else {}
    xc = find_cross_connection(server, key)
    assert xc.id.split("/")[4] == "CrossConnection-Area51"
    assert xc.peering_location == "Area51" and xc.bandwidth_in_mbps == 50
    assert xc.primary_azure_port == "A51-TEST-06GMR-CIS-1-PRI-A" and xc.s_tag >= 2
    assert xc.express_route_circuit.id == circuit.id
    filtered = list(partner.express_route_cross_connections.list(filter=f"name eq '{key}'"))
    assert [x.name for x in filtered] == [key]

    xc = set_provider_state(server, xc, "Provisioning", api_version)
    assert xc.service_provider_provisioning_state == "Provisioning"
    xc = set_provider_state(server, xc, "Provisioned", api_version)
    assert (
        server.network("customer").express_route_circuits.get("customer-rg", "er1").service_provider_provisioning_state
        == "Provisioned"
    )

    group = "CrossConnection-Area51"
    peers = partner.express_route_cross_connection_peerings
    private = peers.begin_create_or_update(group, key, "AzurePrivatePeering", peering(PRIVATE), **kw).result()
    assert private.provisioning_state == "Succeeded" and private.azure_asn == 12076
    assert private.last_modified_by == "ServiceProvider"
    ms = peers.begin_create_or_update(
        group, key, "MicrosoftPeering", peering(MICROSOFT_LOWER_CASE_REGISTRY), **kw
    ).result()
    assert ms.microsoft_peering_config.routing_registry_name == "ARIN"
    assert ms.microsoft_peering_config.advertised_public_prefixes_state == "Configured"

    customer = server.network("customer")
    seen = {p.name: p for p in customer.express_route_circuit_peerings.list("customer-rg", "er1")}
    assert set(seen) == {"AzurePrivatePeering", "MicrosoftPeering"}
    assert seen["AzurePrivatePeering"].last_modified_by == "ServiceProvider"
    assert seen["AzurePrivatePeering"].primary_azure_port == "A51-TEST-06GMR-CIS-1-PRI-A"

    # the customer changes the private peering; the partner sees the same record
    customer.express_route_circuit_peerings.begin_create_or_update(
        "customer-rg", "er1", "AzurePrivatePeering", peering(PRIVATE, vlanId=101)
    ).result()
    mine = peers.get(group, key, "AzurePrivatePeering", **kw)
    assert mine.vlan_id == 101 and mine.last_modified_by == "Customer"

    # deprovision: peerings go first, then the provider state, then the customer deletes
    peers.begin_delete(group, key, "MicrosoftPeering", **kw).result()
    peers.begin_delete(group, key, "AzurePrivatePeering", **kw).result()
    assert list(peers.list(group, key, **kw)) == []
    xc = partner.express_route_cross_connections.get(group, key, **kw)
    set_provider_state(server, xc, "NotProvisioned", api_version)
    customer.express_route_circuits.begin_delete("customer-rg", "er1").result()
    assert [x for x in partner.express_route_cross_connections.list() if x.name == key] == []
