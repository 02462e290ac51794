"""Which Microsoft services does a circuit's Microsoft peering receive? The partner's look-up,
scripted with the unmodified Azure SDK against crossconnect.

    crossconnect serve                                            # in another terminal
    python examples/route_filter_lookup.py --service-key <key>    # add --json for machine output
    python examples/route_filter_lookup.py                        # every cross connection of the partner

examples/partner_workflow.py sets up a case worth looking at (Microsoft peering with a route filter).
Given a cross connection (found by its service key), the script reads its Microsoft peering's
``routeFilter`` id, GETs that route filter with ``$expand`` (its rule and every peering it is
attached to), and resolves the rule's communities against ``bgpServiceCommunities`` to service
names and the prefixes Microsoft advertises for them. No route filter means Microsoft advertises
nothing on the peering.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

NetworkFor = Callable[[str], NetworkManagementClient]  # subscription id -> client (the partner's credential)


def load_env(data_dir: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "crossconnect.cli.main", "env", "--data-dir", data_dir, "--json"]
    return dict(json.loads(subprocess.check_output(cmd)))


def partner_clients(env: dict[str, Any]) -> NetworkFor:
    p = env["partner"]
    credential = ClientSecretCredential(
        env["tenant_id"],
        p["client_id"],
        p["client_secret"],
        authority=env["authority_host"],
        disable_instance_discovery=True,
        connection_verify=env["ca_bundle"],
    )

    def network(subscription_id: str) -> NetworkManagementClient:
        return NetworkManagementClient(
            credential, subscription_id, base_url=env["arm_endpoint"], connection_verify=env["ca_bundle"]
        )

    return network


def lookup(network_for: NetworkFor, partner_subscription: str, service_key: str) -> dict[str, Any]:
    """The route filter on a cross connection's Microsoft peering, resolved to services and prefixes."""
    partner = network_for(partner_subscription)
    xc = next(iter(partner.express_route_cross_connections.list(filter=f"name eq '{service_key}'")), None)
    if xc is None:
        raise SystemExit(f"no cross connection with service key {service_key}")
    group = xc.id.split("/")[4]
    out: dict[str, Any] = {"crossConnection": xc.id, "peering": None, "routeFilter": None, "communities": []}
    try:
        peering = partner.express_route_cross_connection_peerings.get(group, xc.name, "MicrosoftPeering")
    except HttpResponseError as e:
        if e.status_code == 404:
            return out  # no Microsoft peering: nothing is advertised
        raise
    out["peering"] = peering.id
    # the cross-connection peering model has no route_filter attribute: read the JSON as sent
    ref = (peering.as_dict().get("properties") or {}).get("routeFilter") or {}
    if not ref.get("id"):
        return out  # no route filter: Microsoft advertises nothing on this peering
    parts = ref["id"].split("/")
    subscription, filter_group, filter_name = parts[2], parts[4], parts[8]
    network = network_for(subscription)
    route_filter = network.route_filters.get(filter_group, filter_name, expand="peerings")
    out["routeFilter"] = {
        "id": route_filter.id,
        "provisioningState": str(getattr(route_filter.provisioning_state, "value", route_filter.provisioning_state)),
        "rules": [
            {"name": r.name, "access": r.access, "communities": list(r.communities or [])}
            for r in route_filter.rules or []
        ],
        "peerings": [p.id for p in route_filter.peerings or []],
    }
    known = {
        c.community_value: (service.name, c)
        for service in network.bgp_service_communities.list()
        for c in service.bgp_communities or []
    }
    for rule in route_filter.rules or []:
        for value in rule.communities or []:
            service, community = known.get(value, (None, None))
            out["communities"].append(
                {
                    "value": value,
                    "service": service,
                    "name": community.community_name if community else None,
                    "region": community.service_supported_region if community else None,
                    "prefixes": list(community.community_prefixes or []) if community else [],
                }
            )
    return out


def show(result: dict[str, Any]) -> None:
    print(f"cross connection {result['crossConnection']}")
    if result["peering"] is None:
        print("  no Microsoft peering: Microsoft advertises nothing")
        return
    if result["routeFilter"] is None:
        print("  Microsoft peering has no route filter: Microsoft advertises nothing")
        return
    rf = result["routeFilter"]
    print(f"  route filter {rf['id']} ({rf['provisioningState']}), attached to {len(rf['peerings'])} peering(s)")
    if not result["communities"]:
        print("  the filter has no rule: Microsoft advertises nothing")
    for c in result["communities"]:
        print(
            f"  {c['value']:<12} {c['name'] or '(unknown community)'} [{c['service']}]: "
            f"{', '.join(c['prefixes']) or '-'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=".crossconnect")
    parser.add_argument(
        "--service-key", help="the circuit's service key (the cross connection's name); default: every one"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON (a list without --service-key)")
    args = parser.parse_args()
    env = load_env(args.data_dir)
    network_for = partner_clients(env)
    partner_subscription = env["partner"]["subscription_id"]
    try:
        if args.service_key:
            keys = [args.service_key]
        else:
            keys = [xc.name for xc in network_for(partner_subscription).express_route_cross_connections.list()]
        results = [lookup(network_for, partner_subscription, key) for key in keys]
    except HttpResponseError as e:
        if e.status_code == 403:
            raise SystemExit(f"the route filter is in a subscription this principal cannot read: {e.message}") from None
        raise
    if args.json:
        print(json.dumps(results[0] if args.service_key else results, indent=2))
        return
    if not results:
        print("no cross connections yet: run examples/partner_workflow.py first")
    for result in results:
        show(result)


if __name__ == "__main__":
    main()
