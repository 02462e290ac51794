"""IPv6 route filters: ``ipv6PeeringConfig.routeFilter`` on Microsoft peering, from the circuit and
from the cross connection, through the real azure-mgmt-network SDK; the filter's ``ipv6Peerings``;
every failing attachment with its error and a nothing-changed check; IPv4 attachments unaffected."""

from __future__ import annotations

import uuid

import pytest
from azure.mgmt.network import models

from tests.support import Server
from tests.support.network import (
    GROUP,
    MICROSOFT,
    MICROSOFT_IPV6,
    XC_GROUP,
    circuit_peering,
    circuit_peering_path,
    provisioned_circuit,
    rejected,
    xc_peering,
    xc_peering_path,
)
from tests.support.route_filters import (
    FILTER_GROUP,
    PRIVATE_NO_SHARED_KEY,
    advertised,
    create_filter,
    ensure_group,
    filter_path,
    microsoft_ipv6,
    microsoft_peering_of,
    raw,
    rule,
)

TARGET = "properties.ipv6PeeringConfig.routeFilter.id"


def filter_ids(server: Server, name: str, role: str = "customer") -> tuple[list[str], list[str]]:
    """(peerings, ipv6Peerings) of a filter, as ids."""
    got = server.network(role).route_filters.get(FILTER_GROUP, name)
    return [p.id for p in got.peerings], [p.id for p in got.ipv6_peerings]


# -- attaching ----------------------------------------------------------------------------------------


def test_attach_ipv6_from_the_circuit(server: Server) -> None:
    _, xc = provisioned_circuit(server)
    customer = server.network("customer")
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:5010", "12076:51004"]))
    ms = circuit_peering(server, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    assert ms.ipv6_peering_config.route_filter.id == route_filter.id
    assert ms.route_filter is None, "the IPv6 filter is not the IPv4 one"
    peering_id = circuit_peering_path(server, "MicrosoftPeering")

    # the filter lists the peering among its IPv6 peerings only; $expand gives the whole peering
    assert filter_ids(server, "filter6") == ([], [peering_id])
    expanded = customer.route_filters.get(FILTER_GROUP, "filter6", expand="peerings")
    assert expanded.peerings == []
    assert expanded.ipv6_peerings[0].ipv6_peering_config.route_filter.id == route_filter.id
    assert expanded.ipv6_peerings[0].ipv6_peering_config.primary_peer_address_prefix == "2001:67c:2e8:1::/126"
    raw_filter = raw(server, "customer", "GET", filter_path(server, "filter6")).json()
    assert raw_filter["properties"]["ipv6Peerings"] == [{"id": peering_id}]

    # the partner sees the same record under the cross connection, and in the cross connection itself
    partner = server.network("partner")
    partner_view = partner.express_route_cross_connection_peerings.get(XC_GROUP, xc.name, "MicrosoftPeering")
    assert partner_view.ipv6_peering_config.route_filter.id == route_filter.id
    embedded = partner.express_route_cross_connections.get(XC_GROUP, xc.name).peerings
    assert [p.ipv6_peering_config.route_filter.id for p in embedded] == [route_filter.id]

    # the IPv4 session advertises nothing: it has no filter of its own
    assert advertised(server, peering_id) == []

    # an ipv6PeeringConfig without routeFilter keeps it, and so does leaving ipv6PeeringConfig out
    kept = circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "ipv6PeeringConfig": MICROSOFT_IPV6})
    assert kept.ipv6_peering_config.route_filter.id == route_filter.id
    kept = circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "vlanId": 201})
    assert kept.ipv6_peering_config.route_filter.id == route_filter.id
    assert kept.ipv6_peering_config.primary_peer_address_prefix == "2001:67c:2e8:1::/126"

    # null detaches (the IPv6 session stays)
    detached = circuit_peering(server, "MicrosoftPeering", microsoft_ipv6(None))
    assert detached.ipv6_peering_config.route_filter is None
    assert detached.ipv6_peering_config.secondary_peer_address_prefix == "2001:67c:2e8:1::4/126"
    assert filter_ids(server, "filter6") == ([], [])

    # {} detaches too
    circuit_peering(server, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    assert filter_ids(server, "filter6") == ([], [peering_id])
    detached = circuit_peering(server, "MicrosoftPeering", microsoft_ipv6({}))
    assert detached.ipv6_peering_config.route_filter is None
    assert filter_ids(server, "filter6") == ([], [])

    # detached, the filter can go
    customer.route_filters.begin_delete(FILTER_GROUP, "filter6").result()


def test_attach_ipv6_from_the_cross_connection(server: Server) -> None:
    """A partner managing Microsoft peering for its customer attaches a filter of its own to the
    IPv6 session."""
    _, xc = provisioned_circuit(server)
    partner = server.network("partner")
    route_filter = create_filter(server, "partner-filter", ("allow-azure", ["12076:51006"]), role="partner")
    ms = xc_peering(server, xc.name, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    assert ms.ipv6_peering_config.route_filter.id == route_filter.id
    assert ms.last_modified_by == "ServiceProvider"

    peering_id = circuit_peering_path(server, "MicrosoftPeering")
    assert filter_ids(server, "partner-filter", "partner") == ([], [peering_id])
    # the customer sees the filter on its circuit's peering
    mine = server.network("customer").express_route_circuit_peerings.get(GROUP, "er1", "MicrosoftPeering")
    assert mine.ipv6_peering_config.route_filter.id == route_filter.id
    assert mine.route_filter is None

    # a second circuit's Microsoft peering may use the same filter: ipv6Peerings lists both
    _, xc2 = provisioned_circuit(server, "er2")
    xc_peering(server, xc2.name, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    peering2_id = circuit_peering_path(server, "MicrosoftPeering", "er2")
    peerings, ipv6_peerings = filter_ids(server, "partner-filter", "partner")
    assert peerings == [] and set(ipv6_peerings) == {peering_id, peering2_id}

    # detaching from the cross connection
    detached = xc_peering(server, xc2.name, "MicrosoftPeering", microsoft_ipv6(None))
    assert detached.ipv6_peering_config.route_filter is None
    assert filter_ids(server, "partner-filter", "partner") == ([], [peering_id])

    # deleting the peering detaches it
    partner.express_route_cross_connection_peerings.begin_delete(XC_GROUP, xc.name, "MicrosoftPeering").result()
    assert filter_ids(server, "partner-filter", "partner") == ([], [])
    partner.route_filters.begin_delete(FILTER_GROUP, "partner-filter").result()


def test_ipv4_and_ipv6_filters_are_independent(server: Server) -> None:
    """The IPv4 attachment behaves as before: its own filter, its own back-reference, and the only
    one the IPv4 session advertises."""
    provisioned_circuit(server)
    v4 = create_filter(server, "filter4", ("rule1", ["12076:5050"]))
    v6 = create_filter(server, "filter6", ("rule1", ["12076:5060"]))
    both = circuit_peering(server, "MicrosoftPeering", microsoft_ipv6({"id": v6.id}, routeFilter={"id": v4.id}))
    assert both.route_filter.id == v4.id and both.ipv6_peering_config.route_filter.id == v6.id
    peering_id = circuit_peering_path(server, "MicrosoftPeering")
    assert filter_ids(server, "filter4") == ([peering_id], [])
    assert filter_ids(server, "filter6") == ([], [peering_id])
    assert {c for _, c in advertised(server, peering_id)} == {"12076:5050"}

    # detaching the IPv4 filter keeps the IPv6 one, and the other way round
    only6 = circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": None})
    assert only6.route_filter is None and only6.ipv6_peering_config.route_filter.id == v6.id
    assert advertised(server, peering_id) == []
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": v4.id}})
    only4 = circuit_peering(server, "MicrosoftPeering", microsoft_ipv6(None))
    assert only4.route_filter.id == v4.id and only4.ipv6_peering_config.route_filter is None
    assert filter_ids(server, "filter4") == ([peering_id], [])
    assert filter_ids(server, "filter6") == ([], [])
    assert {c for _, c in advertised(server, peering_id)} == {"12076:5050"}

    # one filter may serve both sessions; deleting the peering detaches both
    circuit_peering(server, "MicrosoftPeering", microsoft_ipv6({"id": v4.id}))
    assert filter_ids(server, "filter4") == ([peering_id], [peering_id])
    server.network("customer").express_route_circuit_peerings.begin_delete(GROUP, "er1", "MicrosoftPeering").result()
    assert filter_ids(server, "filter4") == ([], [])
    server.network("customer").route_filters.begin_delete(FILTER_GROUP, "filter4").result()


# -- deleting the filter ------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["circuit", "crossConnection"])
def test_delete_a_filter_in_use_by_ipv6(server: Server, view: str) -> None:
    _, xc = provisioned_circuit(server)
    role = "customer" if view == "circuit" else "partner"
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:51004"]), role=role)
    put = circuit_peering if view == "circuit" else (lambda s, n, p: xc_peering(s, xc.name, n, p))
    put(server, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    filters = server.network(role).route_filters
    error = rejected(
        server,
        lambda: filters.begin_delete(FILTER_GROUP, "filter6").result(),
        400,
        "InUseRouteFilterCannotBeDeleted",
        "filter6",
    )
    assert circuit_peering_path(server, "MicrosoftPeering") in error["message"]
    put(server, "MicrosoftPeering", microsoft_ipv6(None))
    filters.begin_delete(FILTER_GROUP, "filter6").result()


def test_delete_a_filter_in_use_both_ways(server: Server) -> None:
    """Attached to the IPv4 and the IPv6 session of one peering: named once, kept until both go."""
    provisioned_circuit(server)
    route_filter = create_filter(server, "filter1", ("rule1", ["12076:5010"]))
    ref = {"id": route_filter.id}
    circuit_peering(server, "MicrosoftPeering", microsoft_ipv6(ref, routeFilter=ref))
    filters = server.network("customer").route_filters
    peering_id = circuit_peering_path(server, "MicrosoftPeering")
    error = rejected(
        server, lambda: filters.begin_delete(FILTER_GROUP, "filter1").result(), 400, "InUseRouteFilterCannotBeDeleted"
    )
    assert error["message"].count(peering_id) == 1
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": None})
    rejected(
        server, lambda: filters.begin_delete(FILTER_GROUP, "filter1").result(), 400, "InUseRouteFilterCannotBeDeleted"
    )
    circuit_peering(server, "MicrosoftPeering", microsoft_ipv6(None))
    filters.begin_delete(FILTER_GROUP, "filter1").result()


# -- failing attachments ------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["circuit", "crossConnection"])
def test_ipv6_attach_a_missing_filter(server: Server, view: str) -> None:
    _, xc = provisioned_circuit(server)
    role, path = microsoft_peering_of(server, view, xc.name)
    ensure_group(server, role, FILTER_GROUP)
    missing = filter_path(server, "nope", role=role)
    unknown_sub = missing.replace(server.subscription(role), str(uuid.uuid4()))
    not_a_filter = (
        f"/subscriptions/{server.subscription('customer')}/resourceGroups/customer-rg/providers/"
        "Microsoft.Network/expressRouteCircuits/er1"
    )
    cases = [
        ({"id": missing}, "InvalidResourceReference", missing),
        ({"id": unknown_sub}, "InvalidResourceReference", unknown_sub),
        ({"id": not_a_filter}, "InvalidRouteFilterId", not_a_filter),
        ({"id": 5}, "InvalidRequestContent", "ipv6PeeringConfig.routeFilter"),
    ]

    def attempt() -> None:
        for ref, code, named in cases:
            body = {"properties": microsoft_ipv6(ref)}
            error = rejected(server, lambda b=body: raw(server, role, "PUT", path, b), 400, code, named)
            assert error["target"] == TARGET, error

    attempt()  # creating the peering: nothing is created
    # on a peering whose IPv6 session has a filter: it stays attached
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:51004"]), role=role)
    put = circuit_peering if view == "circuit" else (lambda s, n, p: xc_peering(s, xc.name, n, p))
    put(server, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    attempt()
    assert filter_ids(server, "filter6", role)[1] == [circuit_peering_path(server, "MicrosoftPeering")]


def test_ipv6_attach_a_filter_the_caller_cannot_reach(server: Server) -> None:
    """A filter in a subscription of another tenant, or the customer's filter for the partner: the
    caller may not link to it (403 before any lookup)."""
    _, xc = provisioned_circuit(server)
    operator_tenant = server.env["operator"]["tenant_id"]
    r = server.operator("POST", "/subscriptions", {"tenantId": operator_tenant, "displayName": "elsewhere"})
    assert r.status_code == 201, r.text
    foreign = (
        f"/subscriptions/{r.json()['subscriptionId']}/resourceGroups/rg/providers/Microsoft.Network/routeFilters/theirs"
    )
    body = {"properties": microsoft_ipv6({"id": foreign})}
    error = rejected(
        server,
        lambda: raw(server, "customer", "PUT", circuit_peering_path(server, "MicrosoftPeering"), body),
        403,
        "LinkedAuthorizationFailed",
        foreign,
    )
    assert error["target"] == TARGET
    customers = create_filter(server, "filter6", ("rule1", ["12076:51004"]))
    body = {"properties": microsoft_ipv6({"id": customers.id})}
    rejected(
        server,
        lambda: raw(server, "partner", "PUT", xc_peering_path(server, xc.name, "MicrosoftPeering"), body),
        403,
        "LinkedAuthorizationFailed",
        customers.id,
    )


def test_ipv6_attach_to_private_peering(server: Server) -> None:
    _, xc = provisioned_circuit(server)
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:5010"]))
    v6 = {
        "primaryPeerAddressPrefix": "2001:db8:100::/126",
        "secondaryPeerAddressPrefix": "2001:db8:100::4/126",
        "routeFilter": {"id": route_filter.id},
    }
    body = {"properties": {**PRIVATE_NO_SHARED_KEY, "ipv6PeeringConfig": v6}}
    peerings = server.network("customer").express_route_circuit_peerings
    error = rejected(
        server,
        lambda: peerings.begin_create_or_update(GROUP, "er1", "AzurePrivatePeering", body).result(),
        400,
        "RouteFilterOnlyOnMicrosoftPeering",
        "AzurePrivatePeering",
    )
    assert error["target"] == TARGET
    rejected(
        server,
        lambda: raw(server, "partner", "PUT", xc_peering_path(server, xc.name, "AzurePrivatePeering"), body),
        400,
        "RouteFilterOnlyOnMicrosoftPeering",
        TARGET,
    )


def test_ipv6_attach_office365_filter_after_revocation(server: Server) -> None:
    provisioned_circuit(server)
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:5030"]))
    r = server.operator("DELETE", f"/route-filter-authorizations/{server.subscription('customer')}")
    assert r.status_code == 200, r.text
    body = {"properties": microsoft_ipv6({"id": route_filter.id})}
    error = rejected(
        server,
        lambda: raw(server, "customer", "PUT", circuit_peering_path(server, "MicrosoftPeering"), body),
        400,
        "SubscriptionNotAuthorizedForO365RouteFilter",
        "12076:5030",
    )
    assert error["target"] == TARGET


@pytest.mark.parametrize("view", ["circuit", "crossConnection"])
def test_ipv6_filter_needs_the_ipv6_session(server: Server, view: str) -> None:
    """An ipv6PeeringConfig without subnets would remove the IPv6 session it is meant to filter."""
    _, xc = provisioned_circuit(server)
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:51004"]))
    role, path = microsoft_peering_of(server, view, xc.name)
    body = {"properties": {**MICROSOFT, "ipv6PeeringConfig": {"routeFilter": {"id": route_filter.id}}}}
    field = "properties.ipv6PeeringConfig.primaryPeerAddressPrefix"
    rejected(server, lambda: raw(server, role, "PUT", path, body), 400, "MissingPeerAddressPrefix", field)
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "ipv6PeeringConfig": MICROSOFT_IPV6})
    rejected(server, lambda: raw(server, role, "PUT", path, body), 400, "MissingPeerAddressPrefix", field)


def test_ipv4_errors_still_name_routefilter(server: Server) -> None:
    """IPv4 attachment errors are unchanged: they name properties.routeFilter.id."""
    provisioned_circuit(server)
    ensure_group(server, "customer", FILTER_GROUP)
    missing = filter_path(server, "nope")
    body = {"properties": {**MICROSOFT, "ipv6PeeringConfig": MICROSOFT_IPV6, "routeFilter": {"id": missing}}}
    error = rejected(
        server,
        lambda: raw(server, "customer", "PUT", circuit_peering_path(server, "MicrosoftPeering"), body),
        400,
        "InvalidResourceReference",
        missing,
    )
    assert error["target"] == "properties.routeFilter.id"
    # and a rule change still reaches the IPv4 session only
    route_filter = create_filter(server, "filter4", ("rule1", ["12076:5050"]))
    circuit_peering(server, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": route_filter.id}})
    server.network("customer").route_filter_rules.begin_create_or_update(
        FILTER_GROUP, "filter4", "rule1", rule(["12076:5060"])
    ).result()
    assert {c for _, c in advertised(server, circuit_peering_path(server, "MicrosoftPeering"))} == {"12076:5060"}


def test_cross_connection_round_trip_keeps_the_ipv6_filter(server: Server) -> None:
    """The partner's usual GET → modify → PUT of the cross connection sends the peering back with
    its ipv6PeeringConfig (its microsoftPeeringConfig without the read-only
    advertisedPublicPrefixesState) and routeFilter: the peering record is left as it was."""
    _, xc = provisioned_circuit(server)
    route_filter = create_filter(server, "filter6", ("rule1", ["12076:51004"]))
    circuit_peering(server, "MicrosoftPeering", microsoft_ipv6({"id": route_filter.id}))
    customer_peerings = server.network("customer").express_route_circuit_peerings
    before = customer_peerings.get(GROUP, "er1", "MicrosoftPeering")
    partner = server.network("partner").express_route_cross_connections
    got = partner.get(XC_GROUP, xc.name)
    got.service_provider_notes = "round trip"
    partner.begin_create_or_update(XC_GROUP, xc.name, got).result()
    after = customer_peerings.get(GROUP, "er1", "MicrosoftPeering")
    assert after.etag == before.etag
    assert after.ipv6_peering_config.route_filter.id == route_filter.id
    assert filter_ids(server, "filter6")[1] == [circuit_peering_path(server, "MicrosoftPeering")]

    # another filter set on the embedded peering is applied like a peering PUT
    other = create_filter(server, "other6", ("rule1", ["12076:51006"]), role="partner")
    got = partner.get(XC_GROUP, xc.name)
    got.peerings[0].ipv6_peering_config.route_filter = models.SubResource(id=other.id)
    partner.begin_create_or_update(XC_GROUP, xc.name, got).result()
    moved = customer_peerings.get(GROUP, "er1", "MicrosoftPeering")
    assert moved.ipv6_peering_config.route_filter.id == other.id
    assert moved.last_modified_by == "ServiceProvider"
    assert filter_ids(server, "filter6") == ([], [])
    assert filter_ids(server, "other6", "partner") == ([], [circuit_peering_path(server, "MicrosoftPeering")])
