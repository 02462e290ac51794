"""How route filters attach to Microsoft peerings: resolving a peering's ``routeFilter`` reference
(existence, join permission, rule checks), the peerings a filter is attached to, and the prefixes
Microsoft advertises on a peering through its filter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import Connection

from crossconnect.arm.errors import BadRequest, Forbidden, invalid_content
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import Row
from crossconnect.network.peerings import record as peering_record
from crossconnect.network.route_filters import communities as bgp
from crossconnect.network.route_filters.bodies import FILTER_ID, FILTER_TYPE, JOIN_ACTION, not_authorized, rules_of
from crossconnect.store import Store

# (filter id, tenant of the filter's subscription) -> may the caller link to it
Joiner = Callable[[str, str], bool]


# which of a Microsoft peering's BGP sessions a filter is attached to
Family = Literal["ipv4", "ipv6"]


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
    match = FILTER_ID.match(ref)
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
            if isinstance(ref, dict) and isinstance(ref.get("id"), str) and FILTER_ID.match(ref["id"]):
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
