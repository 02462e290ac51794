"""The partner's route-filter look-up (examples/route_filter_lookup.py) against a real server:
as a function with the test's SDK clients, and as the script a partner runs."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.support import REPO, Server
from tests.support.network import MICROSOFT, circuit_peering, circuit_peering_path, provisioned_circuit, xc_peering
from tests.support.route_filters import create_filter, rule

sys.path.insert(0, str(REPO / "examples"))
import route_filter_lookup  # noqa: E402


def lookup(server: Server, service_key: str) -> dict[str, Any]:
    return route_filter_lookup.lookup(
        lambda sub: server.network("partner", sub), server.subscription("partner"), service_key
    )


def test_lookup_resolves_services_and_prefixes(server: Server) -> None:
    _, xc = provisioned_circuit(server)
    assert lookup(server, xc.name)["peering"] is None

    xc_peering(server, xc.name, "MicrosoftPeering", MICROSOFT)
    result = lookup(server, xc.name)
    assert result["peering"] is not None and result["routeFilter"] is None and result["communities"] == []

    route_filter = create_filter(server, "partner-filter", ("allow", ["12076:51004", "12076:5060"]), role="partner")
    xc_peering(server, xc.name, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    result = lookup(server, xc.name)
    assert result["routeFilter"]["id"] == route_filter.id
    assert result["routeFilter"]["peerings"] == [circuit_peering_path(server, "MicrosoftPeering")]
    by_value = {c["value"]: c for c in result["communities"]}
    assert by_value["12076:51004"]["service"] == "AzureEastUS"
    assert by_value["12076:51004"]["name"] == "Azure East US"
    assert by_value["12076:5060"]["name"] == "Azure Active Directory"
    assert by_value["12076:5060"]["prefixes"] == ["20.190.128.0/18", "40.126.0.0/18"]

    # the partner changes the rule: the next look-up shows it
    server.network("partner").route_filter_rules.begin_create_or_update(
        "filters-rg", "partner-filter", "allow", rule(["12076:5050"])
    ).result()
    assert [c["service"] for c in lookup(server, xc.name)["communities"]] == ["AzureGlobalServices"]


def test_lookup_script(server: Server) -> None:
    """The example as a partner runs it: credentials from `crossconnect env --json`."""
    _, xc = provisioned_circuit(server)
    # the customer configured Microsoft peering; the partner attaches a filter of its own
    circuit_peering(server, "MicrosoftPeering", MICROSOFT)
    server.operator("POST", "/route-filter-authorizations", {"subscriptionId": server.subscription("partner")})
    route_filter = create_filter(server, "partner-filter", ("rule1", ["12076:5010"]), role="partner")
    xc_peering(server, xc.name, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    script = REPO / "examples" / "route_filter_lookup.py"
    run = subprocess.run(
        [sys.executable, str(script), "--data-dir", str(server.data_dir), "--service-key", xc.name, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["routeFilter"]["id"] == route_filter.id
    assert [(c["value"], c["name"]) for c in result["communities"]] == [("12076:5010", "Exchange Online")]

    text = subprocess.run(
        [sys.executable, str(script), "--data-dir", str(server.data_dir), "--service-key", xc.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Exchange Online" in text and "13.107.128.0/22" in text
