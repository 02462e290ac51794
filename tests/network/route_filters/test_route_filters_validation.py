"""Every route-filter rule with a failing input: the status, the code, what it names, and that
nothing changed (the whole state is compared before and after)."""

from __future__ import annotations

import uuid

import pytest

from tests.support import Server
from tests.support.network import (
    MICROSOFT,
    circuit_peering,
    circuit_peering_path,
    provisioned_circuit,
    rejected,
    xc_peering_path,
)
from tests.support.route_filters import (
    FILTER_GROUP,
    PRIVATE_NO_SHARED_KEY,
    create_filter,
    ensure_group,
    filter_body,
    filter_path,
    microsoft_peering_of,
    raw,
    rule,
)

# -- rules ------------------------------------------------------------------------------------------


BAD_RULES = [
    # (rule properties, code, what the error names)
    (rule(["12076:5010"], access="Deny"), "InvalidRouteFilterRuleAccess", "Deny"),
    (rule(["12076:5010"], rule_type="Prefix"), "InvalidRouteFilterRuleType", "Prefix"),
    (rule([]), "InvalidRouteFilterRuleCommunities", "communities"),
    (rule(["12076-5010"]), "InvalidBgpCommunity", "12076-5010"),
    (rule(["exchange"]), "InvalidBgpCommunity", "exchange"),
    (rule(["12076:70000"]), "InvalidBgpCommunity", "12076:70000"),
    (rule(["12076:5010", "12076:"]), "InvalidBgpCommunity", "communities[1]"),
    (rule(["12076:9999"]), "UnknownBgpCommunity", "12076:9999"),
    (rule(["12076:50004"]), "UnknownBgpCommunity", "12076:50004"),  # a private-peering community
    (rule(["65000:5010"]), "UnknownBgpCommunity", "65000:5010"),
    (rule(["12076:5010", "12076:5010"]), "DuplicateBgpCommunity", "12076:5010"),
    (
        {"properties": {"routeFilterRuleType": "Community", "communities": ["12076:5010"]}},
        "InvalidRequestContent",
        "access",
    ),
    ({"properties": {"access": "Allow", "routeFilterRuleType": "Community"}}, "InvalidRequestContent", "communities"),
    (
        {"properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": "12076:5010"}},
        "InvalidRequestContent",
        "communities",
    ),
]
RULE_IDS = [f"{code}-{i}" for i, (_, code, _) in enumerate(BAD_RULES)]


@pytest.mark.parametrize(("body", "code", "named"), BAD_RULES, ids=RULE_IDS)
def test_bad_rule(server: Server, body: dict, code: str, named: str) -> None:
    create_filter(server, "filter1")
    rules = server.network("customer").route_filter_rules
    rejected(
        server, lambda: rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule1", body).result(), 400, code, named
    )


@pytest.mark.parametrize(("body", "code", "named"), BAD_RULES, ids=RULE_IDS)
def test_bad_inline_rule(server: Server, body: dict, code: str, named: str) -> None:
    """The same rules apply to a rule sent inside the filter; an existing filter keeps its rule."""
    create_filter(server, "filter1", ("rule1", ["12076:5050"]))
    filters = server.network("customer").route_filters
    bad = {"location": "westus", "properties": {"rules": [{"name": "rule1", **body}]}}
    rejected(server, lambda: filters.begin_create_or_update(FILTER_GROUP, "filter1", bad).result(), 400, code, named)
    rejected(server, lambda: filters.begin_create_or_update(FILTER_GROUP, "new-filter", bad).result(), 400, code, named)


def test_two_inline_rules(server: Server) -> None:
    ensure_group(server, "customer", FILTER_GROUP)
    filters = server.network("customer").route_filters
    body = filter_body(("a", ["12076:5010"]), ("b", ["12076:5020"]))
    rejected(
        server,
        lambda: filters.begin_create_or_update(FILTER_GROUP, "filter1", body).result(),
        400,
        "RouteFilterCanHaveOnlyOneRule",
        "properties.rules",
    )


def test_second_rule(server: Server) -> None:
    create_filter(server, "filter1", ("first", ["12076:5010"]))
    rules = server.network("customer").route_filter_rules
    rejected(
        server,
        lambda: rules.begin_create_or_update(FILTER_GROUP, "filter1", "second", rule(["12076:5020"])).result(),
        400,
        "RouteFilterCanHaveOnlyOneRule",
        "first",
    )


def test_inline_rule_without_name(server: Server) -> None:
    ensure_group(server, "customer", FILTER_GROUP)
    body = {"location": "westus", "properties": {"rules": [rule(["12076:5010"])]}}
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", filter_path(server), body),
        400,
        "InvalidRequestContent",
        "properties.rules[0].name",
    )


def test_bad_rule_name(server: Server) -> None:
    create_filter(server, "filter1")
    rejected(
        server,
        lambda: raw(
            server, "customer", "PUT", f"{filter_path(server)}/routeFilterRules/bad name!", rule(["12076:5010"])
        ),
        400,
        "InvalidResourceName",
        "bad name!",
    )


def test_rule_on_a_missing_filter(server: Server) -> None:
    ensure_group(server, "customer", FILTER_GROUP)
    rules = server.network("customer").route_filter_rules
    rejected(
        server,
        lambda: rules.begin_create_or_update(FILTER_GROUP, "nope", "rule1", rule(["12076:5010"])).result(),
        404,
        "ResourceNotFound",
        "nope",
    )
    rejected(server, lambda: rules.get(FILTER_GROUP, "nope", "rule1"), 404, "ResourceNotFound", "nope")


def test_office365_communities_without_authorization(server: Server) -> None:
    """The partner subscription is not authorized (the seeded customer subscription is)."""
    create_filter(server, "filter1", role="partner")
    rules = server.network("partner").route_filter_rules
    for communities in (["12076:5010"], ["12076:51004", "12076:5100"]):
        rejected(
            server,
            lambda c=communities: rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule1", rule(c)).result(),
            400,
            "SubscriptionNotAuthorizedForO365RouteFilter",
            server.subscription("partner"),
        )
    filters = server.network("partner").route_filters
    rejected(
        server,
        lambda: filters.begin_create_or_update(FILTER_GROUP, "filter2", filter_body(("r", ["12076:5020"]))).result(),
        400,
        "SubscriptionNotAuthorizedForO365RouteFilter",
        "12076:5020",
    )
    # Azure's communities need no authorization
    rules.begin_create_or_update(FILTER_GROUP, "filter1", "rule1", rule(["12076:5060", "12076:51004"])).result()


# -- the filter itself ----------------------------------------------------------------------------


def test_filter_without_location(server: Server) -> None:
    ensure_group(server, "customer", FILTER_GROUP)
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", filter_path(server), {"properties": {}}),
        400,
        "LocationRequired",
        "location",
    )
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", filter_path(server), {"location": "mars"}),
        400,
        "InvalidLocation",
        "location",
    )


def test_filter_location_cannot_change(server: Server) -> None:
    create_filter(server, "filter1")
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", filter_path(server), {"location": "eastus"}),
        400,
        "InvalidResourceLocation",
        "location",
    )


def test_filter_unknown_member(server: Server) -> None:
    ensure_group(server, "customer", FILTER_GROUP)
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", filter_path(server), {"location": "westus", "properties": {"bogus": 1}}),
        400,
        "InvalidRequestContent",
        "bogus",
    )


def test_bad_filter_name(server: Server) -> None:
    ensure_group(server, "customer", FILTER_GROUP)
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", filter_path(server, "-bad"), filter_body()),
        400,
        "InvalidResourceName",
        "-bad",
    )


def test_filter_in_a_missing_group(server: Server) -> None:
    filters = server.network("customer").route_filters
    rejected(
        server,
        lambda: filters.begin_create_or_update("no-such-group", "f", filter_body()).result(),
        404,
        "ResourceGroupNotFound",
        "no-such-group",
    )


def test_delete_a_filter_in_use(server: Server) -> None:
    provisioned_circuit(server)
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5010"]))
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    filters = server.network("customer").route_filters
    error = rejected(
        server,
        lambda: filters.begin_delete(FILTER_GROUP, "filter1").result(),
        400,
        "InUseRouteFilterCannotBeDeleted",
        "filter1",
    )
    assert circuit_peering_path(server, "MicrosoftPeering") in error["message"]
    # its rule may still change or go: the peering then advertises nothing
    server.network("customer").route_filter_rules.begin_delete(FILTER_GROUP, "filter1", "rule1").result()


# -- attaching ----------------------------------------------------------------------------------------


def test_attach_to_private_peering(server: Server) -> None:
    _, xc = provisioned_circuit(server)
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5010"]))
    peerings = server.network("customer").express_route_circuit_peerings
    body = {"properties": {**PRIVATE_NO_SHARED_KEY, "routeFilter": {"id": route_filter.id}}}
    rejected(
        server,
        lambda: peerings.begin_create_or_update("customer-rg", "er1", "AzurePrivatePeering", body).result(),
        400,
        "RouteFilterOnlyOnMicrosoftPeering",
        "AzurePrivatePeering",
    )
    # also from the cross connection, and on an existing private peering
    rejected(
        server,
        lambda: raw(server, "partner", "PUT", xc_peering_path(server, xc.name, "AzurePrivatePeering"), body),
        400,
        "RouteFilterOnlyOnMicrosoftPeering",
        "properties.routeFilter.id",
    )
    circuit_peering(server, "AzurePrivatePeering", PRIVATE_NO_SHARED_KEY)
    rejected(
        server,
        lambda: peerings.begin_create_or_update("customer-rg", "er1", "AzurePrivatePeering", body).result(),
        400,
        "RouteFilterOnlyOnMicrosoftPeering",
        "AzurePrivatePeering",
    )


@pytest.mark.parametrize("view", ["circuit", "crossConnection"])
def test_attach_a_missing_filter(server: Server, view: str) -> None:
    _, xc = provisioned_circuit(server)
    role, path = microsoft_peering_of(server, view, xc.name)
    # the missing filter is in the caller's own subscription: elsewhere the partner may not even
    # link to it (403 LinkedAuthorizationFailed comes before the lookup, as on Azure)
    ensure_group(server, role, FILTER_GROUP)
    missing = filter_path(server, "nope", role=role)
    rejected(
        server,
        lambda: raw(server, role, "PUT", path, {"properties": {**MICROSOFT, "routeFilter": {"id": missing}}}),
        400,
        "InvalidResourceReference",
        missing,
    )
    unknown_sub = missing.replace(server.subscription(role), str(uuid.uuid4()))
    rejected(
        server,
        lambda: raw(server, role, "PUT", path, {"properties": {**MICROSOFT, "routeFilter": {"id": unknown_sub}}}),
        400,
        "InvalidResourceReference",
        unknown_sub,
    )
    not_a_filter = (
        f"/subscriptions/{server.subscription('customer')}/resourceGroups/customer-rg/providers/"
        "Microsoft.Network/expressRouteCircuits/er1"
    )
    rejected(
        server,
        lambda: raw(server, role, "PUT", path, {"properties": {**MICROSOFT, "routeFilter": {"id": not_a_filter}}}),
        400,
        "InvalidRouteFilterId",
        not_a_filter,
    )
    rejected(
        server,
        lambda: raw(server, role, "PUT", path, {"properties": {**MICROSOFT, "routeFilter": {"id": 5}}}),
        400,
        "InvalidRequestContent",
        "routeFilter",
    )


def test_attach_a_filter_the_caller_cannot_reach(server: Server) -> None:
    """A filter in a subscription of another tenant: the caller may not link to it."""
    provisioned_circuit(server)
    operator_tenant = server.env["operator"]["tenant_id"]
    r = server.operator("POST", "/subscriptions", {"tenantId": operator_tenant, "displayName": "elsewhere"})
    assert r.status_code == 201, r.text
    foreign = (
        f"/subscriptions/{r.json()['subscriptionId']}/resourceGroups/rg/providers/Microsoft.Network/routeFilters/theirs"
    )
    body = {"properties": {**MICROSOFT, "routeFilter": {"id": foreign}}}
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", circuit_peering_path(server, "MicrosoftPeering"), body),
        403,
        "LinkedAuthorizationFailed",
        foreign,
    )


def test_attach_office365_filter_after_revocation(server: Server) -> None:
    provisioned_circuit(server)
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5030"]))
    r = server.operator("DELETE", f"/route-filter-authorizations/{server.subscription('customer')}")
    assert r.status_code == 200, r.text
    body = {"properties": {**MICROSOFT, "routeFilter": {"id": route_filter.id}}}
    rejected(
        server,
        lambda: raw(server, "customer", "PUT", circuit_peering_path(server, "MicrosoftPeering"), body),
        400,
        "SubscriptionNotAuthorizedForO365RouteFilter",
        "12076:5030",
    )


# -- the operator endpoint ----------------------------------------------------------------------------


def test_operator_authorization_inputs(server: Server) -> None:
    rejected(
        server,
        lambda: server.operator("POST", "/route-filter-authorizations", {}),
        400,
        "InvalidRequestContent",
        "subscriptionId",
    )
    unknown = str(uuid.uuid4())
    rejected(
        server,
        lambda: server.operator("POST", "/route-filter-authorizations", {"subscriptionId": unknown}),
        404,
        "SubscriptionNotFound",
        unknown,
    )
    partner = server.subscription("partner")
    rejected(
        server,
        lambda: server.operator("DELETE", f"/route-filter-authorizations/{partner}"),
        404,
        "RouteFilterAuthorizationNotFound",
        partner,
    )
    with server.http("partner") as client:
        r = client.post("/_crossconnect/route-filter-authorizations", json={"subscriptionId": partner})
    assert r.status_code == 403 and r.json()["error"]["code"] == "OperatorOnly"
