"""Route filters, their rule, BGP service communities and attaching filters to Microsoft peering,
through the real azure-mgmt-network SDK."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from azure.mgmt.network import models

from tests.support import Server
from tests.support.network import (
    MICROSOFT,
    XC_GROUP,
    circuit_peering,
    circuit_peering_path,
    cross_connection_path,
    provisioned_circuit,
    xc_peering,
)
from tests.support.route_filters import (
    FILTER_GROUP,
    advertised,
    create_filter,
    ensure_group,
    filter_body,
    filter_path,
    raw,
    rule,
)

SERVICES = {
    "12076:5010": "Exchange Online",
    "12076:5020": "SharePoint Online",
    "12076:5030": "Skype For Business Online",
    "12076:5040": "CRM Online",
    "12076:5050": "Azure Global Services",
    "12076:5060": "Azure Active Directory",
    "12076:5070": "Azure Resource Manager",
    "12076:5100": "Other Office 365 Services",
    "12076:5220": "Microsoft Defender for Identity",
    "12076:5250": "Microsoft PSTN Services",
}
O365 = {"12076:5010", "12076:5020", "12076:5030", "12076:5100"}
REGIONAL = {
    "12076:51002": "Azure West Europe",
    "12076:51004": "Azure East US",
    "12076:51006": "Azure West US",
    "12076:51017": "Azure Central India",
    "12076:51026": "Azure West US 2",
    "12076:51043": "Azure Norway West",
}


def communities_by_value(server: Server, role: str) -> dict[str, dict[str, Any]]:
    out = {}
    for item in server.network(role).bgp_service_communities.list():
        assert item.type == "Microsoft.Network/bgpServiceCommunities"
        assert (
            item.id == f"/subscriptions/{server.subscription(role)}/providers/Microsoft.Network/"
            f"bgpServiceCommunities/{item.name}"
        )
        assert item.service_name == item.name
        for c in item.bgp_communities:
            out[c.community_value] = {
                "service": item.name,
                "community_name": c.community_name,
                "community_prefixes": c.community_prefixes,
                "service_supported_region": c.service_supported_region,
                "service_group": c.service_group,
                "is_authorized_to_use": c.is_authorized_to_use,
            }
    return out


# -- bgpServiceCommunities ----------------------------------------------------------------------------


def test_bgp_service_communities(server: Server) -> None:
    seen = communities_by_value(server, "customer")
    for value, name in {**SERVICES, **REGIONAL}.items():
        assert seen[value]["community_name"] == name, value
    assert seen["12076:5010"]["service"] == "Exchange"
    assert seen["12076:5010"]["service_supported_region"] == "Global"
    assert seen["12076:5030"]["service_group"] == "O365"
    assert seen["12076:51004"]["service_supported_region"] == "East US"
    assert len([v for v in seen if re.fullmatch(r"12076:510\d\d", v)]) == 40
    for value, c in seen.items():
        assert c["community_prefixes"], value
        for prefix in c["community_prefixes"]:
            network = ipaddress.ip_network(prefix)
            assert network.is_global, (value, prefix)
    # the seeded customer subscription is authorized for the Office 365 communities
    assert all(c["is_authorized_to_use"] for c in seen.values())


def test_office365_communities_need_the_operators_authorization(server: Server) -> None:
    partner = server.subscription("partner")
    seen = communities_by_value(server, "partner")
    assert {v for v, c in seen.items() if not c["is_authorized_to_use"]} == O365

    r = server.operator("POST", "/route-filter-authorizations", {"subscriptionId": partner})
    assert r.status_code == 201, r.text
    assert server.operator("POST", "/route-filter-authorizations", {"subscriptionId": partner}).status_code == 200
    listed = server.operator("GET", "/route-filter-authorizations").json()["value"]
    assert {"subscriptionId": partner} in listed
    assert all(c["is_authorized_to_use"] for c in communities_by_value(server, "partner").values())
    create_filter(server, "o365", ("rule1", ["12076:5010"]), role="partner")

    r = server.operator("DELETE", f"/route-filter-authorizations/{partner}")
    assert r.status_code == 200, r.text
    assert {v for v, c in communities_by_value(server, "partner").items() if not c["is_authorized_to_use"]} == O365


def test_bgp_service_communities_api_versions(server: Server) -> None:
    for version in ("2016-12-01", "2020-06-01", "2024-07-01"):
        r = raw(
            server,
            "customer",
            "GET",
            f"/subscriptions/{server.subscription('customer')}/providers/Microsoft.Network/bgpServiceCommunities",
            **{"api-version": version},
        )
        assert r.status_code == 200, r.text
        assert {"id", "name", "type", "properties"} <= set(r.json()["value"][0])


# -- the route filter lifecycle ----------------------------------------------------------------------


def test_route_filter_lifecycle(server: Server) -> None:
    net = server.network("customer")
    ensure_group(server, "customer", FILTER_GROUP)
    body = models.RouteFilter(
        location="westus",
        tags={"key1": "value1"},
        rules=[
            models.RouteFilterRule(
                name="rule1",
                access="Allow",
                route_filter_rule_type="Community",
                communities=["12076:5030", "12076:5040"],
            )
        ],
    )
    created = net.route_filters.begin_create_or_update(FILTER_GROUP, "filter1", body).result()
    assert created.provisioning_state == "Succeeded"
    assert created.location == "westus" and created.tags == {"key1": "value1"}
    assert created.type == "Microsoft.Network/routeFilters"
    assert [r.name for r in created.rules] == ["rule1"]
    assert created.rules[0].communities == ["12076:5030", "12076:5040"]
    assert created.rules[0].provisioning_state == "Succeeded"
    assert created.rules[0].id == created.id + "/routeFilterRules/rule1"
    assert created.peerings == []

    got = net.route_filters.get(FILTER_GROUP, "filter1")
    assert got.etag == created.etag
    assert [f.name for f in net.route_filters.list_by_resource_group(FILTER_GROUP)] == ["filter1"]
    assert [f.name for f in net.route_filters.list()] == ["filter1"]

    tagged = net.route_filters.update_tags(FILTER_GROUP, "filter1", {"tags": {"env": "test"}})
    assert tagged.tags == {"env": "test"} and tagged.rules[0].communities == ["12076:5030", "12076:5040"]

    rules = net.route_filter_rules
    assert [r.name for r in rules.list_by_route_filter(FILTER_GROUP, "filter1")] == ["rule1"]
    changed = rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule1", rule(["12076:51004"])).result()
    assert changed.communities == ["12076:51004"] and changed.provisioning_state == "Succeeded"
    assert rules.get(FILTER_GROUP, "filter1", "rule1").communities == ["12076:51004"]
    after_rule = net.route_filters.get(FILTER_GROUP, "filter1")
    assert after_rule.etag != tagged.etag, "the filter shows its rule, so a rule change changes the filter"

    rules.begin_delete(FILTER_GROUP, "filter1", "rule1").result()
    assert list(rules.list_by_route_filter(FILTER_GROUP, "filter1")) == []
    assert net.route_filters.get(FILTER_GROUP, "filter1").rules == []
    rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule2", rule(["12076:5050"])).result()

    # a filter PUT replaces the rule set; leaving "rules" out keeps it
    kept = net.route_filters.begin_create_or_update(FILTER_GROUP, "filter1", {"location": "westus"}).result()
    assert [r.name for r in kept.rules] == ["rule2"]
    replaced = net.route_filters.begin_create_or_update(
        FILTER_GROUP, "filter1", filter_body(("rule3", ["12076:5060"]))
    ).result()
    assert [(r.name, r.communities) for r in replaced.rules] == [("rule3", ["12076:5060"])]
    emptied = net.route_filters.begin_create_or_update(
        FILTER_GROUP, "filter1", {"location": "westus", "properties": {"rules": []}}
    ).result()
    assert emptied.rules == []

    net.route_filters.begin_delete(FILTER_GROUP, "filter1").result()
    assert list(net.route_filters.list()) == []
    r = raw(server, "customer", "GET", filter_path(server))
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"


def test_route_filter_http_shape(server: Server) -> None:
    """The long-running protocol as the spec and the recorded traffic show it."""
    ensure_group(server, "customer", FILTER_GROUP)
    path = filter_path(server)
    r = raw(server, "customer", "PUT", path, filter_body(("ruleName", ["12076:5030"]), tags={"key1": "value1"}))
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["provisioningState"] == "Updating"
    assert r.headers["Azure-AsyncOperation"].startswith(server.base_url)
    assert "api-version=" in r.headers["Azure-AsyncOperation"]
    with server.http("customer") as client:
        status = client.get(r.headers["Azure-AsyncOperation"])
    assert status.json()["status"] == "Succeeded"
    again = raw(server, "customer", "PUT", path, filter_body(("ruleName", ["12076:5030"])))
    assert again.status_code == 200, again.text

    rule_path = f"{path}/routeFilterRules/ruleName"
    got = raw(server, "customer", "GET", rule_path).json()
    assert got["type"] == "Microsoft.Network/routeFilters/routeFilterRules"
    assert got["properties"] == {
        "provisioningState": "Succeeded",
        "access": "Allow",
        "routeFilterRuleType": "Community",
        "communities": ["12076:5030"],
    }
    new_rule = raw(server, "customer", "PUT", f"{path}/routeFilterRules/other", rule(["12076:5040"]))
    assert (
        new_rule.status_code == 400
    )  # one rule per filter (tests/network/route_filters/test_route_filters_validation.py)
    assert raw(server, "customer", "PUT", rule_path, rule(["12076:5040"])).status_code == 200

    d = raw(server, "customer", "DELETE", rule_path)
    assert d.status_code == 202 and "Location" in d.headers and "Azure-AsyncOperation" in d.headers
    assert raw(server, "customer", "DELETE", rule_path).status_code in (200, 204)
    d = raw(server, "customer", "DELETE", path)
    assert d.status_code == 202, d.text
    assert raw(server, "customer", "GET", path).status_code == 404
    assert raw(server, "customer", "DELETE", path).status_code == 204


# -- attaching to Microsoft peering -------------------------------------------------------------------


def test_attach_from_the_circuit(server: Server) -> None:
    circuit, xc = provisioned_circuit(server)
    customer = server.network("customer")
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5010", "12076:51004"]))
    ms = circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    assert ms.route_filter.id == route_filter.id
    peering_id = circuit_peering_path(server, "MicrosoftPeering")

    # the filter lists the peering; $expand gives the whole peering
    assert [p.id for p in customer.route_filters.get(FILTER_GROUP, "filter1").peerings] == [peering_id]
    expanded = customer.route_filters.get(FILTER_GROUP, "filter1", expand="peerings").peerings
    assert expanded[0].peering_type == "MicrosoftPeering" and expanded[0].route_filter.id == route_filter.id
    assert expanded[0].vlan_id == 200

    # the partner sees the same record under the cross connection
    partner_view = server.network("partner").express_route_cross_connection_peerings.get(
        XC_GROUP, xc.name, "MicrosoftPeering"
    )
    assert partner_view.as_dict()["properties"]["routeFilter"]["id"] == route_filter.id

    # what Microsoft advertises follows the rule
    prefixes = advertised(server, peering_id)
    assert ("13.107.128.0/22", "12076:5010") in prefixes
    assert {c for _, c in prefixes} == {"12076:5010", "12076:51004"}
    customer.route_filter_rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule1", rule(["12076:5060"])).result()
    assert {c for _, c in advertised(server, peering_id)} == {"12076:5060"}
    customer.route_filter_rules.begin_delete(FILTER_GROUP, "filter1", "rule1").result()
    assert advertised(server, peering_id) == []
    customer.route_filter_rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule1", rule(["12076:5070"])).result()
    assert {c for _, c in advertised(server, peering_id)} == {"12076:5070"}

    # a peering PUT without routeFilter keeps it; routeFilter null detaches
    kept = circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "vlanId": 201})
    assert kept.route_filter.id == route_filter.id
    detached = circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": None})
    assert detached.route_filter is None
    assert customer.route_filters.get(FILTER_GROUP, "filter1").peerings == []
    assert advertised(server, peering_id) == []

    # detached, the filter can go
    customer.route_filters.begin_delete(FILTER_GROUP, "filter1").result()


def test_attach_from_the_cross_connection(server: Server) -> None:
    """A partner managing Microsoft peering for its customer attaches a filter of its own."""
    circuit, xc = provisioned_circuit(server)
    partner = server.network("partner")
    route_filter = create_filter(server, "partner-filter", ("allow-azure", ["12076:51006"]), role="partner")
    ms = xc_peering(server, xc.name, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    assert ms.as_dict()["properties"]["routeFilter"]["id"] == route_filter.id
    assert ms.last_modified_by == "ServiceProvider"

    peering_id = circuit_peering_path(server, "MicrosoftPeering")
    assert [p.id for p in partner.route_filters.get(FILTER_GROUP, "partner-filter").peerings] == [peering_id]
    # the customer sees the filter on its circuit's peering
    mine = server.network("customer").express_route_circuit_peerings.get("customer-rg", "er1", "MicrosoftPeering")
    assert mine.route_filter.id == route_filter.id
    assert {c for _, c in advertised(server, peering_id)} == {"12076:51006"}

    # a second circuit's Microsoft peering may use the same filter: peerings lists both
    circuit2, xc2 = provisioned_circuit(server, "er2")
    xc_peering(server, xc2.name, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    ids = {p.id for p in partner.route_filters.get(FILTER_GROUP, "partner-filter").peerings}
    peering2_id = circuit_peering_path(server, "MicrosoftPeering", "er2")
    assert ids == {peering_id, peering2_id}

    # one rule change changes what both peerings advertise
    partner.route_filter_rules.begin_create_or_update(
        FILTER_GROUP, "partner-filter", "allow-azure", rule(["12076:51002", "12076:51003"])
    ).result()
    for pid in (peering_id, peering2_id):
        assert {c for _, c in advertised(server, pid)} == {"12076:51002", "12076:51003"}

    # deleting the peering detaches it
    partner.express_route_cross_connection_peerings.begin_delete(XC_GROUP, xc.name, "MicrosoftPeering").result()
    ids = {p.id for p in partner.route_filters.get(FILTER_GROUP, "partner-filter").peerings}
    assert ids == {peering2_id}


def test_no_filter_advertises_nothing(server: Server) -> None:
    provisioned_circuit(server)
    circuit_peering(server, "MicrosoftPeering", MICROSOFT)
    assert advertised(server, circuit_peering_path(server, "MicrosoftPeering")) == []


def test_revoked_office365_authorization_stops_advertising(server: Server) -> None:
    provisioned_circuit(server)
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5010", "12076:5050"]))
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    peering_id = circuit_peering_path(server, "MicrosoftPeering")
    assert {c for _, c in advertised(server, peering_id)} == {"12076:5010", "12076:5050"}
    r = server.operator("DELETE", f"/route-filter-authorizations/{server.subscription('customer')}")
    assert r.status_code == 200, r.text
    assert {c for _, c in advertised(server, peering_id)} == {"12076:5050"}


def test_provider_lists_the_new_types(server: Server) -> None:
    provider = server.resources("customer").providers.get("Microsoft.Network")
    types = {t.resource_type: t for t in provider.resource_types}
    for name in ("routeFilters", "routeFilters/routeFilterRules", "bgpServiceCommunities"):
        assert name in types, name
        assert "2024-07-01" in types[name].api_versions


def test_cross_connection_put_moves_an_embedded_peerings_filter(server: Server) -> None:
    """The SDK's cross-connection peering model has no routeFilter, but a raw cross-connection PUT
    may carry one inside a peering: sent back unchanged it changes nothing, another id moves the
    peering to that filter (as ipv6PeeringConfig.routeFilter does)."""
    _, xc = provisioned_circuit(server)
    first = create_filter(server, "first", ("rule1", ["12076:51004"]))
    other = create_filter(server, "other", ("rule1", ["12076:51006"]), role="partner")
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": first.id}})
    path = cross_connection_path(server, xc.name)
    peerings = server.network("customer").express_route_circuit_peerings
    before = peerings.get("customer-rg", "er1", "MicrosoftPeering")

    body = raw(server, "partner", "GET", path).json()
    assert raw(server, "partner", "PUT", path, body).status_code == 200
    assert peerings.get("customer-rg", "er1", "MicrosoftPeering").etag == before.etag

    (embedded,) = [p for p in body["properties"]["peerings"] if p["name"] == "MicrosoftPeering"]
    assert embedded["properties"]["routeFilter"]["id"] == first.id
    embedded["properties"]["routeFilter"] = {"id": other.id.upper()}
    r = raw(server, "partner", "PUT", path, body)
    assert r.status_code == 200, r.text
    moved = peerings.get("customer-rg", "er1", "MicrosoftPeering")
    assert moved.route_filter.id.lower() == other.id.lower()
    assert moved.last_modified_by == "ServiceProvider"
    peering_id = circuit_peering_path(server, "MicrosoftPeering")
    assert server.network("customer").route_filters.get(FILTER_GROUP, "first").peerings == []
    assert [p.id for p in server.network("partner").route_filters.get(FILTER_GROUP, "other").peerings] == [peering_id]
