"""Microsoft.Network/routeFilters: which BGP service communities Microsoft advertises on the
Microsoft peerings a filter is attached to.

A filter holds at most one rule (access ``Allow``, type ``Community``) naming communities from
bgpServiceCommunities. A Microsoft peering points at a filter with ``routeFilter: {id}`` for its
IPv4 session and ``ipv6PeeringConfig.routeFilter: {id}`` for its IPv6 session (set from the
circuit or from the cross connection: it is one peering record); the filter's ``peerings`` and
``ipv6Peerings`` lists are computed from those references, never stored twice. A filter in use
(either way) cannot be deleted.
What a peering advertises follows from the filter's rule at the time it is asked
(``advertised_prefixes``), so changing the rule changes every attached peering at once.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.bodies import ArmModel, ChildResourceBody, TrackedResourceBody
from crossconnect.arm.errors import BadRequest, invalid_content
from crossconnect.arm.resource_type import Row, new_etag
from crossconnect.network.common import NAMES
from crossconnect.network.route_filters import communities as bgp
from crossconnect.store import Store

FILTER_TYPE = "microsoft.network/routefilters"


RULE_TYPE = "microsoft.network/routefilters/routefilterrules"


JOIN_ACTION = "Microsoft.Network/routeFilters/join/action"


FILTER_ID = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Network/routeFilters/([^/]+)$", re.IGNORECASE
)


class RuleProperties(ArmModel):
    access: str | None = None
    route_filter_rule_type: str | None = Field(default=None, alias="routeFilterRuleType")
    communities: list[str] | None = None
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class RuleBody(ChildResourceBody):
    location: str | None = None
    properties: RuleProperties | None = None


class FilterProperties(ArmModel):
    rules: list[RuleBody] | None = None
    peerings: list[Any] | None = None
    ipv6_peerings: list[Any] | None = Field(default=None, alias="ipv6Peerings")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class FilterBody(TrackedResourceBody):
    properties: FilterProperties = Field(default_factory=FilterProperties)


def check_rule_name(name: str | None, target: str) -> str:
    if not name:
        raise invalid_content(f"Required property 'name' not found in JSON. Path '{target}'.", target)
    if not isinstance(name, str):
        raise invalid_content(f"Error converting value {name!r} to type 'String'. Path '{target}'.", target)
    return NAMES.check(name, target)


def validate_rule(
    store: Store, rule: RuleProperties | None, subscription_id: str, prefix: str, conn: Connection | None = None
) -> dict[str, Any]:
    """Validate a rule's properties (Azure: one Allow rule of type Community naming known communities;
    Office 365 communities only for authorized subscriptions) and return them to store."""
    rule = rule or RuleProperties()
    for field, value in (
        ("access", rule.access),
        ("routeFilterRuleType", rule.route_filter_rule_type),
        ("communities", rule.communities),
    ):
        if value is None:
            raise invalid_content(
                f"Required property '{field}' not found in JSON. Path '{prefix}{field}'.", f"{prefix}{field}"
            )
    assert rule.access is not None and rule.route_filter_rule_type is not None and rule.communities is not None
    if rule.access.lower() != "allow":
        raise BadRequest(
            f"The route filter rule access '{rule.access}' is not supported: a route filter rule can only 'Allow' "
            "communities (Microsoft advertises nothing that no rule allows).",
            "InvalidRouteFilterRuleAccess",
            target=f"{prefix}access",
        )
    if rule.route_filter_rule_type.lower() != "community":
        raise BadRequest(
            f"The routeFilterRuleType '{rule.route_filter_rule_type}' is not supported; the only type is 'Community'.",
            "InvalidRouteFilterRuleType",
            target=f"{prefix}routeFilterRuleType",
        )
    if not rule.communities:
        raise BadRequest(
            "A route filter rule needs at least one community value (see bgpServiceCommunities).",
            "InvalidRouteFilterRuleCommunities",
            target=f"{prefix}communities",
        )
    seen: set[str] = set()
    needs_authorization: list[bgp.Community] = []
    for i, value in enumerate(rule.communities):
        target = f"{prefix}communities[{i}]"
        if not bgp.is_well_formed(value):
            raise BadRequest(
                f"The community value '{value}' is malformed: a BGP community is written '<asn>:<value>' with two "
                "numbers from 0 to 65535, for example '12076:5010'.",
                "InvalidBgpCommunity",
                target=target,
            )
        community = bgp.find(value)
        if community is None:
            raise BadRequest(
                f"The community value '{value}' is not a BGP service community offered on Microsoft peering. "
                "Use a communityValue listed by bgpServiceCommunities (for example 12076:5010 for Exchange Online or "
                "12076:51004 for Azure East US).",
                "UnknownBgpCommunity",
                target=target,
            )
        if value in seen:
            raise BadRequest(
                f"The community value '{value}' is listed more than once.", "DuplicateBgpCommunity", target=target
            )
        seen.add(value)
        if not bgp.may_use(store, community, subscription_id, conn):
            needs_authorization.append(community)
    if needs_authorization:
        raise not_authorized(subscription_id, needs_authorization, f"{prefix}communities")
    return {"access": "Allow", "routeFilterRuleType": "Community", "communities": list(rule.communities)}


def not_authorized(subscription_id: str, communities: list[bgp.Community], target: str) -> BadRequest:
    names = ", ".join(f"{c.value} ({c.name})" for c in communities)
    return BadRequest(
        f"The subscription with id '{subscription_id}' is not authorized for creating route filters for O365 "
        f"services: {names} need authorization from Microsoft (the operator authorizes a subscription with "
        "POST /_crossconnect/route-filter-authorizations).",
        "SubscriptionNotAuthorizedForO365RouteFilter",
        target=target,
    )


def rules_of(store: Store, filter_key: str, conn: Connection | None = None) -> list[Row]:
    return store.find_all("resources", conn, parent_key=filter_key.lower(), type_key=RULE_TYPE)


def render_rule(row: Row) -> dict[str, Any]:
    p = row["body"]["properties"]
    return {
        "name": row["name"],
        "id": row["id"],
        "etag": row["etag"],
        "type": "Microsoft.Network/routeFilters/routeFilterRules",
        "properties": {
            "provisioningState": p.get("provisioningState", "Succeeded"),
            "access": p["access"],
            "routeFilterRuleType": p["routeFilterRuleType"],
            "communities": list(p["communities"]),
        },
    }


def rule_row(filter_row: Row, name: str, props: dict[str, Any], existing: Row | None) -> Row:
    if existing is not None:
        return {**existing, "body": {**existing["body"], "properties": props}, "etag": new_etag()}
    return {
        "key": f"{filter_row['key']}/routefilterrules/{name.lower()}",
        "id": f"{filter_row['id']}/routeFilterRules/{name}",
        "type_key": RULE_TYPE,
        "subscription_id": filter_row["subscription_id"],
        "group_key": filter_row["group_key"],
        "parent_key": filter_row["key"],
        "name": name,
        "body": {"properties": props},
        "etag": new_etag(),
    }


def only_one_rule(filter_name: str, existing_rule: str, target: str) -> BadRequest:
    return BadRequest(
        f"Route filter '{filter_name}' already has the rule '{existing_rule}'; a route filter can have only one rule. "
        "Put all the communities to allow into that rule.",
        "RouteFilterCanHaveOnlyOneRule",
        target=target,
    )
