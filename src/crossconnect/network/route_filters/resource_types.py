"""The route-filter resource types: Microsoft.Network/routeFilters and routeFilters/routeFilterRules
(the single rule of a filter). Rules are validated in ``bodies``, shared by rules sent inline in a
filter PUT and rules PUT on their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.network.common import NAMES, NAMESPACE, versions
from crossconnect.network.peerings import record as peering_record
from crossconnect.network.route_filters import bodies as filter_rules
from crossconnect.network.route_filters.attachment import Family, attached_peerings
from crossconnect.network.route_filters.bodies import (
    FilterBody,
    check_rule_name,
    only_one_rule,
    render_rule,
    rule_row,
    rules_of,
    validate_rule,
)
from crossconnect.resources.locations import LOCATION_NAMES
from crossconnect.resources.resource_groups import normalize_location
from crossconnect.store import Store


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
    name_rule = NAMES

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        return render_filter(self.store, row, expand=bool(request.query.get("$expand")), conn=conn)

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(FilterBody, body, "RouteFilter")
        name = self.name(request)
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


def render_filter(store: Store, row: Row, *, expand: bool = False, conn: Connection | None = None) -> dict[str, Any]:
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
        "rules": [render_rule(r) for r in rules_of(store, row["key"], conn)],
        "peerings": _back_references(store, row, "ipv4", expand, conn),
        "ipv6Peerings": _back_references(store, row, "ipv6", expand, conn),
    }
    return out


def _back_references(
    store: Store, row: Row, family: Family, expand: bool, conn: Connection | None = None
) -> list[dict[str, Any]]:
    """The peerings attaching the filter for ``family``: ids, or whole peerings with ``$expand``."""
    out = []
    for peering in attached_peerings(store, row["key"], conn, family=family):
        if expand:
            circuit = store.get_resource(peering["parent_key"], conn)
            circuit_id = circuit["id"] if circuit else peering["id"].rsplit("/peerings/", 1)[0]
            out.append(peering_record.render(peering, "circuit", circuit_id, circuit))
        else:
            out.append({"id": peering["id"]})
    return out


class RouteFilterRules(ResourceType):
    type_name = "Microsoft.Network/routeFilters/routeFilterRules"
    item_template = RouteFilters.item_template + "/routeFilterRules/{ruleName}"
    list_templates = (RouteFilters.item_template + "/routeFilterRules",)
    api_versions = versions("routeFilters/routeFilterRules", since="2016-12-01")
    namespace = NAMESPACE
    parent = RouteFilters
    name_rule = NAMES

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        return filter_rules.render_rule(row)

    # A filter holds at most one rule: a rule's write is checked against the filter's other rules
    # and changes the filter (its ETag), so it locks the filter too.
    def lock_keys(self, request: ArmRequest) -> list[str]:
        return [self.key(request), self.parent_key(request)]

    def operation_lock_keys(self, op: Row) -> list[str]:
        return [op["resource_key"], op["resource_key"].rsplit("/routefilterrules/", 1)[0]]

    def operation_location(self, row: Row) -> str:
        route_filter = self.store.get_resource(row["parent_key"])
        return str(route_filter["body"]["location"]) if route_filter else "global"

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        route_filter = self.store.get_resource(self.parent_key(request), conn)
        if route_filter is None:
            raise self.registry.get(RouteFilters).not_found(request)
        name = filter_rules.check_rule_name(self.name(request), "name")
        model = parse(filter_rules.RuleBody, body, "RouteFilterRule")
        others = [
            r for r in filter_rules.rules_of(self.store, route_filter["key"], conn) if r["key"] != self.key(request)
        ]
        if others:
            raise filter_rules.only_one_rule(route_filter["name"], others[0]["name"], "name")
        props = filter_rules.validate_rule(self.store, model.properties, request.subscription_id, "properties.", conn)
        row = filter_rules.rule_row(route_filter, name, props, existing)
        # the filter shows its rules, so it changed too
        touched = {**route_filter, "etag": new_etag()}
        return Write(row, created=existing is None, operation="put", extra_rows=[touched])

    def on_delete(self, row: Row, conn: Connection) -> None:
        route_filter = self.store.get_resource(row["parent_key"], conn)
        if route_filter is not None:
            self.store.put_resource({**route_filter, "etag": new_etag()}, conn)
