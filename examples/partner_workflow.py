"""The ExpressRoute partner workflow, scripted with the unmodified Azure SDK against crossconnect.

    crossconnect serve                       # in another terminal
    python examples/partner_workflow.py      # or: --service-key <key> to work on an existing circuit

Without --service-key the script first plays the customer (creates a circuit in the test
peering location Area51 and hands over its service key). Then, as the partner, it finds the
cross connection by service key, provisions layer 2, configures private peering and reads the
ARP table, the BGP summary and the route table of both links. Last, it creates a route filter
(Azure East US and Azure Active Directory) next to the cross connection and configures Microsoft
peering with it: a case for examples/route_filter_lookup.py.

The script picks up where the circuit is: run it again and it reuses the circuit, skips the
provisioning steps already done and sends the same peerings again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

DEFAULT_DATA_DIR = ".crossconnect"
GROUP = "er-demo"
CIRCUIT = "demo-circuit"
ROUTE_FILTER = "demo-filter"
# Azure East US (regional) and Azure Active Directory: communities that need no Microsoft approval
# (the Office 365 ones do, and the seeded partner subscription has none).
COMMUNITIES = ["12076:51004", "12076:5060"]
# serviceProviderProvisioningState moves forward only: a second run skips the steps already done.
LAYER2_STEPS = ("NotProvisioned", "Provisioning", "Provisioned")


def load_env(data_dir: str) -> dict:
    out = subprocess.check_output(
        [sys.executable, "-m", "crossconnect.cli.main", "env", "--data-dir", data_dir, "--json"]
    )
    return json.loads(out)


def client(env: dict, role: str, cls=NetworkManagementClient):
    p = env[role]
    cred = ClientSecretCredential(
        env["tenant_id"],
        p["client_id"],
        p["client_secret"],
        authority=env["authority_host"],
        disable_instance_discovery=True,
        connection_verify=env["ca_bundle"],
    )
    return cls(cred, p["subscription_id"], base_url=env["arm_endpoint"], connection_verify=env["ca_bundle"])


def customer_creates_circuit(env: dict) -> str:
    network = client(env, "customer")
    try:
        circuit = network.express_route_circuits.get(GROUP, CIRCUIT)
        print(f"customer: circuit {circuit.name} exists, service key {circuit.service_key}")
        return circuit.service_key
    except ResourceNotFoundError:
        pass
    client(env, "customer", ResourceManagementClient).resource_groups.create_or_update(GROUP, {"location": "westus"})
    circuit = network.express_route_circuits.begin_create_or_update(
        GROUP,
        CIRCUIT,
        {
            "location": "westus",
            "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
            "properties": {
                "serviceProviderProperties": {
                    "serviceProviderName": "Ibiza Test Provider",
                    "peeringLocation": "Area51",
                    "bandwidthInMbps": 200,
                }
            },
        },
    ).result()
    print(f"customer: created circuit {circuit.name}, service key {circuit.service_key}")
    return circuit.service_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--service-key", help="work on this existing circuit instead of creating one")
    args = parser.parse_args()
    env = load_env(args.data_dir)
    service_key = args.service_key or customer_creates_circuit(env)

    partner = client(env, "partner")
    # 1. Find the cross connection: it is named by the service key; its group is CrossConnection-<location>.
    xc = next(x for x in partner.express_route_cross_connections.list(filter=f"name eq '{service_key}'"))
    group = xc.id.split("/")[4]
    print(
        f"partner: found {xc.name} in {group}: {xc.bandwidth_in_mbps} Mbps at {xc.peering_location}, "
        f"ports {xc.primary_azure_port}/{xc.secondary_azure_port}, s-tag {xc.s_tag}"
    )

    # 2. Layer 2 is up: tell Azure (NotProvisioned -> Provisioning -> Provisioned), from where it is.
    current = xc.service_provider_provisioning_state
    if current not in LAYER2_STEPS:
        raise SystemExit(f"partner: serviceProviderProvisioningState is {current}; this script provisions only")
    for state in LAYER2_STEPS[LAYER2_STEPS.index(current) + 1 :]:
        xc.service_provider_provisioning_state = state
        xc.service_provider_notes = "VLAN handoff configured by partner automation"
        xc = partner.express_route_cross_connections.begin_create_or_update(group, xc.name, xc).result()
        print(f"partner: serviceProviderProvisioningState = {state}")
    if current == "Provisioned":
        print("partner: serviceProviderProvisioningState = Provisioned (already)")

    # 3. Layer 3: private peering on both links (a /29 is split into the two /30s).
    peering = partner.express_route_cross_connection_peerings.begin_create_or_update(
        group,
        xc.name,
        "AzurePrivatePeering",
        {
            "properties": {
                "peerASN": 65010,
                "vlanId": 100,
                "primaryPeerAddressPrefix": "192.168.100.128/29",
                "sharedKey": "s3cretMD5key",
            }
        },
    ).result()
    print(
        f"partner: {peering.name} provisioned, primary {peering.primary_peer_address_prefix}, "
        f"secondary {peering.secondary_peer_address_prefix}"
    )

    # 4. Troubleshoot both links.
    xcs = partner.express_route_cross_connections
    for link in ("primary", "secondary"):
        arp = xcs.begin_list_arp_table(group, xc.name, "AzurePrivatePeering", link).result()
        summary = xcs.begin_list_routes_table_summary(group, xc.name, "AzurePrivatePeering", link).result()
        routes = xcs.begin_list_routes_table(group, xc.name, "AzurePrivatePeering", link).result()
        print(f"{link}: ARP " + ", ".join(f"{e.interface} {e.ip_address} {e.mac_address}" for e in arp.value))
        print(
            f"{link}: BGP "
            + ", ".join(f"{s.neighbor} AS{s.asn} {s.state_or_prefixes_received} up {s.up_down}" for s in summary.value)
        )
        print(f"{link}: routes " + ", ".join(f"{r.network} via {r.next_hop} [{r.path}]" for r in routes.value))

    # 5. Microsoft peering (public addresses registered to the peer ASN in the routing registry)
    #    with a route filter: what Microsoft advertises over the peering.
    route_filter = partner.route_filters.begin_create_or_update(
        group,
        ROUTE_FILTER,
        {
            "location": "westus",
            "properties": {
                "rules": [
                    {
                        "name": "allow",
                        "properties": {
                            "access": "Allow",
                            "routeFilterRuleType": "Community",
                            "communities": COMMUNITIES,
                        },
                    }
                ]
            },
        },
    ).result()
    microsoft = partner.express_route_cross_connection_peerings.begin_create_or_update(
        group,
        xc.name,
        "MicrosoftPeering",
        {
            "properties": {
                "peerASN": 3598,
                "vlanId": 200,
                "primaryPeerAddressPrefix": "131.107.1.0/30",
                "secondaryPeerAddressPrefix": "131.107.1.4/30",
                "microsoftPeeringConfig": {
                    "advertisedPublicPrefixes": ["131.107.2.0/24"],
                    "customerASN": 3598,
                    "routingRegistryName": "ARIN",
                },
                "routeFilter": {"id": route_filter.id},
            }
        },
    ).result()
    print(
        f"partner: {microsoft.name} provisioned, primary {microsoft.primary_peer_address_prefix}, "
        f"route filter {route_filter.name} ({', '.join(COMMUNITIES)})"
    )
    data_dir = "" if args.data_dir == DEFAULT_DATA_DIR else f" --data-dir {args.data_dir}"
    print(f"next: python examples/route_filter_lookup.py{data_dir} --service-key {service_key}")


if __name__ == "__main__":
    main()
