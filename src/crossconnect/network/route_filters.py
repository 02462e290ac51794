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
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.bodies import ArmModel, TrackedResourceBody, parse
from crossconnect.arm.errors import BadRequest, Forbidden, invalid_content
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.locations import LOCATION_NAMES
from crossconnect.arm.resource_groups import normalize_location
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.network import bgp_service_communities as bgp
from crossconnect.network import peering_record
from crossconnect.network.common import NAMESPACE, versions
from crossconnect.store import Store

FILTER_TYPE = "microsoft.network/routefilters"
RULE_TYPE = "microsoft.network/routefilters/routefilterrules"
JOIN_ACTION = "Microsoft.Network/routeFilters/join/action"
_FILTER_ID = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Network/routeFilters/([^/]+)$", re.IGNORECASE
)
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")

# (filter id, tenant of the filter's subscription) -> may the caller link to it
Joiner = Callable[[str, str], bool]
# which of a Microsoft peering's BGP sessions a filter is attached to
Family = Literal["ipv4", "ipv6"]


class RuleProperties(ArmModel):
    access: str | None = None
    route_filter_rule_type: str | None = Field(default=None, alias="routeFilterRuleType")
    communities: list[str] | None = None
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class RuleBody(ArmModel):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    etag: str | None = None
    location: str | None = None
    properties: RuleProperties | None = None


class FilterProperties(ArmModel):
    rules: list[RuleBody] | None = None
    peerings: list[Any] | None = None
    ipv6_peerings: list[Any] | None = Field(default=None, alias="ipv6Peerings")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class FilterBody(TrackedResourceBody):
    properties: FilterProperties = Field(default_factory=FilterProperties)


# -- rules ------------------------------------------------------------------------------------------


def check_rule_name(name: str | None, target: str) -> str:
    if not name:
        raise invalid_content(f"Required property 'name' not found in JSON. Path '{target}'.", target)
    if not _NAME.match(name):
        raise BadRequest(
            f"The rule name '{name}' is invalid: use 1-80 letters, digits, underscores, periods or hyphens, starting "
            "with a letter or digit and ending with a letter, digit or underscore.",
            "InvalidResourceName",
            target=target,
        )
    return name


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


# -- attachments ------------------------------------------------------------------------------------


def filter_reference(props: dict[str, Any], family: Family = "ipv4") -> str | None:
    """The id of the route filter a peering's stored properties attach for one address family:
    ``routeFilter`` (IPv4) or ``ipv6PeeringConfig.routeFilter`` (IPv6)."""
    holder = props if family == "ipv4" else (props.get("ipv6PeeringConfig") or {})
    ref = (holder.get("routeFilter") or {}).get("id")
    return str(ref) if ref else None


def attached_peerings(
    store: Store, filter_key: str, conn: Connection | None = None, family: Family = "ipv4"
) -> list[Row]:
    """Every peering record attaching this filter for ``family`` (``routeFilter`` for IPv4,
    ``ipv6PeeringConfig.routeFilter`` for IPv6), from either view."""
    key = filter_key.lower()
    return [
        row
        for row in store.find_all("resources", conn, type_key=peering_record.PEERING_TYPE)
        if (filter_reference(row["body"].get("properties") or {}, family) or "").lower() == key
    ]


def resolve_attachment(
    store: Store,
    *,
    sent: dict[str, Any] | None,
    sent_null: bool,
    old: dict[str, Any] | None,
    peering_type: str,
    can_join: Joiner | None = None,
    field: str = "routeFilter",
) -> dict[str, Any] | None:
    """The ``routeFilter`` a peering write leaves on the record: left out keeps the current one,
    ``null``/``{}``/``{"id": null}`` detaches, an id attaches (validated). ``field`` is where it
    was sent (``routeFilter``, or ``ipv6PeeringConfig.routeFilter`` for the IPv6 session): the
    rules are the same, errors name it."""
    target = f"properties.{field}.id"
    if sent is None:
        return None if sent_null else old
    ref = sent.get("id")
    if ref is None or ref == "":
        return None
    if not isinstance(ref, str):
        raise invalid_content(f"Error converting value {ref!r} to type 'String'. Path '{target}'.", target)
    if old and str(old.get("id", "")).lower() == ref.lower():
        return old
    if peering_type != "MicrosoftPeering":
        raise BadRequest(
            f"A route filter can only be attached to MicrosoftPeering, not to {peering_type}. Route filters select "
            "the Microsoft services advertised over Microsoft peering.",
            "RouteFilterOnlyOnMicrosoftPeering",
            target=target,
        )
    match = _FILTER_ID.match(ref)
    if match is None:
        raise BadRequest(
            f"The route filter id '{ref}' is not a route filter resource id (expected /subscriptions/<id>/"
            "resourceGroups/<group>/providers/Microsoft.Network/routeFilters/<name>).",
            "InvalidRouteFilterId",
            target=target,
        )
    missing = BadRequest(
        f"Resource {ref} referenced by the peering was not found. Please make sure that the referenced route filter "
        "exists.",
        "InvalidResourceReference",
        target=target,
    )
    subscription = store.find("subscriptions", id=match.group(1).lower())
    if subscription is None:
        raise missing
    if can_join is not None and not can_join(ref, subscription["tenant_id"]):
        raise Forbidden(
            f"The client does not have permission to perform action '{JOIN_ACTION}' on the linked scope '{ref}', "
            "or the linked scope is invalid.",
            "LinkedAuthorizationFailed",
            target=target,
        )
    row = store.get_resource(ref.lower())
    if (
        row is None
        or row["type_key"] != FILTER_TYPE
        or row["body"]["properties"].get("provisioningState") == "Deleting"
    ):
        raise missing
    held = [
        c
        for rule in rules_of(store, row["key"])
        for c in (bgp.find(v) for v in rule["body"]["properties"].get("communities", []))
        if c is not None and not bgp.may_use(store, c, row["subscription_id"])
    ]
    if held:
        raise not_authorized(row["subscription_id"], held, target)
    return {"id": row["id"]}


def lock_referenced(store: Store, conn: Connection, peerings: list[Any]) -> None:
    """Lock the route filters that peering bodies about to be validated name (``routeFilter``
    and ``ipv6PeeringConfig.routeFilter``), before the validation reads them: a filter's DELETE
    locks it too, so a peering cannot attach a filter between the delete's "in use?" check and
    its commit (a filter being deleted is refused)."""
    keys = []
    for body in peerings:
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            continue
        ipv6 = props.get("ipv6PeeringConfig")
        for holder in (props, ipv6 if isinstance(ipv6, dict) else {}):
            ref = holder.get("routeFilter")
            if isinstance(ref, dict) and isinstance(ref.get("id"), str) and _FILTER_ID.match(ref["id"]):
                keys.append(ref["id"].lower())
    if keys:
        store.lock(conn, *keys)


def join_checker(request: ArmRequest) -> Joiner:
    """May the caller of this request link a peering to a given route filter (its join action)."""

    def can_join(filter_id: str, tenant_id: str) -> bool:
        return request.services.authorizer.check(request.principal, JOIN_ACTION, filter_id, tenant_id).allowed

    return can_join


def advertised_prefixes(store: Store, peering_row: Row, conn: Connection | None = None) -> list[tuple[str, str]]:
    """What Microsoft advertises on a peering's IPv4 session: ``(prefix, community)`` for every
    prefix of every community its route filter (``routeFilter``; never the IPv6 session's
    ``ipv6PeeringConfig.routeFilter``) allows. Only Microsoft peering has a filter; no filter (or
    an empty one) means nothing is advertised. Office 365 communities count only while the
    filter's subscription stays authorized. The peering's own state (Disabled, BGP down) is the
    caller's to apply."""
    props = peering_row["body"].get("properties") or {}
    if props.get("peeringType") != "MicrosoftPeering":
        return []
    ref = (props.get("routeFilter") or {}).get("id")
    filter_row = store.get_resource(str(ref), conn) if ref else None
    if filter_row is None or filter_row["type_key"] != FILTER_TYPE:
        return []
    out: list[tuple[str, str]] = []
    for rule in rules_of(store, filter_row["key"], conn):
        p = rule["body"]["properties"]
        if p.get("access") != "Allow":
            continue
        for value in p.get("communities", []):
            community = bgp.find(value)
            if community is None or not bgp.may_use(store, community, filter_row["subscription_id"], conn):
                continue
            out.extend((prefix, value) for prefix in community.prefixes)
    return out


# -- the resource type --------------------------------------------------------------------------


class RouteFilters(ResourceType):
    type_name = "Microsoft.Network/routeFilters"
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "routeFilters/{routeFilterName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/routeFilters",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/routeFilters",
    )
    api_versions = versions("routeFilters", since="2016-12-01")
    namespace = NAMESPACE

    def render(self, request: ArmRequest, row: Row) -> dict[str, Any]:
        return render_filter(self.store, row, expand=bool(request.query.get("$expand")))

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(FilterBody, body, "RouteFilter")
        name = self.name(request)
        if existing is None and not _NAME.match(name):
            raise BadRequest(f"The route filter name '{name}' is invalid.", "InvalidResourceName", target="name")
        location = normalize_location(model.location or "")
        if not location:
            if existing is None:
                raise BadRequest("location is required.", "LocationRequired", target="location")
            location = existing["body"]["location"]
        if location not in LOCATION_NAMES:
            raise BadRequest(
                f"The location '{model.location}' is not a valid Azure region.", "InvalidLocation", target="location"
            )
        if existing is not None and location != existing["body"]["location"]:
            raise BadRequest(
                f"The resource '{name}' already exists in location '{existing['body']['location']}'; a resource with "
                f"the same name cannot be created in location '{location}'.",
                "InvalidResourceLocation",
                target="location",
            )
        tags = validate_tags(
            model.tags if model.tags is not None else (existing["body"].get("tags") if existing else {})
        )
        new_body = {
            "location": location,
            "tags": tags,
            "properties": dict(existing["body"]["properties"]) if existing else {},
        }
        row = {**existing, "body": new_body, "etag": new_etag()} if existing else self.new_row(request, new_body)
        extra: list[Row] = []
        rules = model.properties.rules
        if rules is not None:
            if len(rules) > 1:
                raise only_one_rule(name, str(rules[0].name), "properties.rules")
            current = {r["name"].lower(): r for r in rules_of(self.store, row["key"], conn)}
            for i, rule in enumerate(rules):
                prefix = f"properties.rules[{i}]"
                rule_name = check_rule_name(rule.name, f"{prefix}.name")
                props = validate_rule(
                    self.store, rule.properties, request.subscription_id, f"{prefix}.properties.", conn
                )
                props["provisioningState"] = "Updating"
                extra.append(rule_row(row, rule_name, props, current.pop(rule_name.lower(), None)))
            for stale in current.values():
                self.store.delete_resource_tree(stale["key"], conn)
        return Write(row, created=existing is None, operation="put", extra_rows=extra)

    def complete_operation(self, op: Row, conn: Connection) -> Any:
        if op["kind"] == "put":
            for rule in rules_of(self.store, op["resource_key"], conn):
                if rule["body"]["properties"].get("provisioningState") == "Updating":
                    self.set_state(rule, "Succeeded", conn)
        return super().complete_operation(op, conn)

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        in_use = attached_peerings(self.store, existing["key"], conn)
        ipv4_ids = {p["id"] for p in in_use}
        in_use += [p for p in attached_peerings(self.store, existing["key"], conn, "ipv6") if p["id"] not in ipv4_ids]
        if in_use:
            users = ", ".join(p["id"] for p in in_use)
            raise BadRequest(
                f"RouteFilter {existing['name']} is in use by ExpressRouteBgpPeering {users} and cannot be deleted. "
                "Detach it from the peering first (set the peering's routeFilter to null).",
                "InUseRouteFilterCannotBeDeleted",
                details=[
                    {
                        "code": "InUseRouteFilterCannotBeDeleted",
                        "target": p["id"],
                        "message": f"RouteFilter {existing['name']} is in use by {p['id']}.",
                    }
                    for p in in_use
                ],
            )
        return super().delete(request, existing, conn)


def render_filter(store: Store, row: Row, *, expand: bool = False) -> dict[str, Any]:
    body = row["body"]
    out: dict[str, Any] = {
        "name": row["name"],
        "id": row["id"],
        "etag": row["etag"],
        "type": "Microsoft.Network/routeFilters",
        "location": body["location"],
    }
    if body.get("tags"):
        out["tags"] = body["tags"]
    out["properties"] = {
        "provisioningState": body["properties"].get("provisioningState", "Succeeded"),
        "rules": [render_rule(r) for r in rules_of(store, row["key"])],
        "peerings": _back_references(store, row, "ipv4", expand),
        "ipv6Peerings": _back_references(store, row, "ipv6", expand),
    }
    return out


def _back_references(store: Store, row: Row, family: Family, expand: bool) -> list[dict[str, Any]]:
    """The peerings attaching the filter for ``family``: ids, or whole peerings with ``$expand``."""
    out = []
    for peering in attached_peerings(store, row["key"], family=family):
        if expand:
            circuit = store.get_resource(peering["parent_key"])
            circuit_id = circuit["id"] if circuit else peering["id"].rsplit("/peerings/", 1)[0]
            out.append(peering_record.render(peering, "circuit", circuit_id, circuit))
        else:
            out.append({"id": peering["id"]})
    return out
