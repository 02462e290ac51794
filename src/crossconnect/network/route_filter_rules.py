"""Microsoft.Network/routeFilters/routeFilterRules: the (single) rule of a route filter. The
rules themselves are validated in route_filters.py, shared with rules sent inline in a filter PUT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.bodies import parse
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag
from crossconnect.network import route_filters
from crossconnect.network.common import NAMESPACE, versions
from crossconnect.network.route_filters import RouteFilters


class RouteFilterRules(ResourceType):
    type_name = "Microsoft.Network/routeFilters/routeFilterRules"
    item_template = RouteFilters.item_template + "/routeFilterRules/{ruleName}"
    list_templates = (RouteFilters.item_template + "/routeFilterRules",)
    api_versions = versions("routeFilters/routeFilterRules", since="2016-12-01")
    namespace = NAMESPACE
    parent = RouteFilters

    def render(self, request: ArmRequest, row: Row) -> dict[str, Any]:
        return route_filters.render_rule(row)

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
        name = route_filters.check_rule_name(self.name(request), "name")
        model = parse(route_filters.RuleBody, body, "RouteFilterRule")
        others = [
            r for r in route_filters.rules_of(self.store, route_filter["key"], conn) if r["key"] != self.key(request)
        ]
        if others:
            raise route_filters.only_one_rule(route_filter["name"], others[0]["name"], "name")
        props = route_filters.validate_rule(self.store, model.properties, request.subscription_id, "properties.", conn)
        row = route_filters.rule_row(route_filter, name, props, existing)
        # the filter shows its rules, so it changed too
        touched = {**route_filter, "etag": new_etag()}
        return Write(row, created=existing is None, operation="put", extra_rows=[touched])

    def on_delete(self, row: Row, conn: Connection) -> None:
        route_filter = self.store.get_resource(row["parent_key"], conn)
        if route_filter is not None:
            self.store.put_resource({**route_filter, "etag": new_etag()}, conn)
