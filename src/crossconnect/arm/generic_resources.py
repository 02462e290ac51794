"""The generic resource listing (``Resources_List``, ``Resources_ListByResourceGroup``): every
top-level resource of every registered type in one list, as ``az resource list``, Terraform's
data sources and inventory scripts read it.

The typed strategies stay in charge of what their resources are: a row is listed under the type
name and read action its ``ResourceType`` declares, and only when the caller may read it there
(``<type>/read`` at the resource's id, the same check as the typed GET). Items are rendered as
ARM's ``GenericResourceExpanded``: the envelope (id, name, type, location, tags, sku, kind,
managedBy), never the type's own ``properties``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import BadRequest, resource_group_not_found
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.operations import iso_time
from crossconnect.arm.paging import page
from crossconnect.arm.resource_type import Row, TypeRegistry

GROUP_TYPE = "microsoft.resources/resourcegroups"
_ENVELOPE = ("sku", "kind", "managedBy", "plan", "identity")
_EXPANDABLE = {"createdtime", "changedtime", "provisioningstate"}
_SCAN_BATCH = 500  # rows read per store query while filtering a page

# One $filter clause: `field eq|ne 'value'`, `substringof('value', field)`, `startswith(field, 'value')`.
_COMPARISON = re.compile(r"^\s*(?P<field>[A-Za-z/]+)\s+(?P<op>eq|ne)\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
_SUBSTRINGOF = re.compile(r"^\s*substringof\(\s*'(?P<value>(?:[^']|'')*)'\s*,\s*(?P<field>\w+)\s*\)\s*$", re.IGNORECASE)
_STARTSWITH = re.compile(r"^\s*startswith\(\s*(?P<field>\w+)\s*,\s*'(?P<value>(?:[^']|'')*)'\s*\)\s*$", re.IGNORECASE)
_COMPARABLE = {"resourcetype", "name", "location", "resourcegroup", "tagname", "tagvalue"}
_SUBSTRING_FIELDS = {"name", "resourcegroup"}

Predicate = Callable[[Row, str], bool]  # (row, canonical type name) -> keep


@dataclass
class ResourceFilter:
    predicates: list[Predicate]
    by_tag: bool  # filtered on tags: Azure leaves the tags out of the results

    def keep(self, row: Row, type_name: str) -> bool:
        return all(p(row, type_name) for p in self.predicates)


def _invalid_filter(text: str, why: str) -> BadRequest:
    return BadRequest(f"Invalid $filter '{text}' specified in the query string: {why}", "InvalidFilterInQueryString",
                      target="$filter")  # fmt: skip


def _field_value(row: Row, type_name: str, name: str) -> str:
    if name == "resourcetype":
        return type_name
    if name == "name":
        return str(row["name"])
    if name == "location":
        return str(row["body"].get("location") or "")
    return _group_name(row)


def _group_name(row: Row) -> str:
    # the id keeps the group's casing; group_key is lowercased
    parts = str(row["id"]).split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""


def _tags(row: Row) -> dict[str, str]:
    return dict(row["body"].get("tags") or {})


def parse_filter(text: str) -> ResourceFilter:
    """ARM's resource $filter: clauses joined by ``and`` (``or`` only between ``substringof``
    clauses, as Azure allows). Names and values compare case-insensitively, as on Azure."""
    predicates: list[Predicate] = []
    by_tag = False
    tag_name: str | None = None
    if not text.strip():
        return ResourceFilter([], False)
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        alternatives = re.split(r"\s+or\s+", clause, flags=re.IGNORECASE)
        if len(alternatives) > 1:
            subs = [_SUBSTRINGOF.match(a) for a in alternatives]
            if not all(subs):
                raise _invalid_filter(text, "'or' combines substringof() clauses only.")
            predicates.append(_any_substring([(m.group("field"), m.group("value")) for m in subs if m], text))
            continue
        if m := _SUBSTRINGOF.match(clause):
            predicates.append(_any_substring([(m.group("field"), m.group("value"))], text))
            continue
        if m := _STARTSWITH.match(clause):
            if m.group("field").lower() != "tagname":
                raise _invalid_filter(text, "startswith() applies to tagName only.")
            predicates.append(_tag_name_starts(m.group("value").replace("''", "'")))
            by_tag = True
            continue
        m = _COMPARISON.match(clause)
        if m is None or m.group("field").lower() not in _COMPARABLE:
            raise _invalid_filter(text, f"the clause '{clause.strip()}' is not supported.")
        name, negate = m.group("field").lower(), m.group("op").lower() == "ne"
        value = m.group("value").replace("''", "'")
        if name == "tagname":
            if negate:
                raise _invalid_filter(text, "tagName supports 'eq' only.")
            tag_name = value
            by_tag = True
            predicates.append(_tag_pair(value, None))
        elif name == "tagvalue":
            if negate or tag_name is None:
                raise _invalid_filter(text, "tagValue must follow tagName eq '<name>' and supports 'eq' only.")
            predicates.append(_tag_pair(tag_name, value))
        else:
            predicates.append(_compare(name, value, negate))
    return ResourceFilter(predicates, by_tag)


def _tag_name_starts(prefix: str) -> Predicate:
    lowered = prefix.lower()
    return lambda row, _type: any(n.lower().startswith(lowered) for n in _tags(row))


def _tag_pair(name: str, value: str | None) -> Predicate:
    """A tag of this name (names are case-insensitive), with this exact value when one is given."""
    lowered = name.lower()
    return lambda row, _type: any(k.lower() == lowered and value in (None, v) for k, v in _tags(row).items())


def _compare(field: str, value: str, negate: bool) -> Predicate:
    lowered = value.lower()
    return lambda row, type_name: (_field_value(row, type_name, field).lower() == lowered) != negate


def _any_substring(pairs: list[tuple[str, str]], text: str) -> Predicate:
    for field, _ in pairs:
        if field.lower() not in _SUBSTRING_FIELDS:
            raise _invalid_filter(text, "substringof() applies to name and resourceGroup only.")
    wanted = [(f.lower(), v.replace("''", "'").lower()) for f, v in pairs]
    return lambda row, t: any(v in _field_value(row, t, f).lower() for f, v in wanted)


def parse_expand(text: str) -> set[str]:
    wanted = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = wanted - _EXPANDABLE
    if unknown:
        raise BadRequest(
            f"The $expand value '{text}' is invalid. The supported values are 'createdTime', 'changedTime' "
            "and 'provisioningState'.",
            "InvalidExpandQueryParameter",
            target="$expand",
        )
    return wanted


def parse_top(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise BadRequest(
            f"The $top query parameter value '{text}' is invalid. It must be a positive integer.",
            "InvalidTopQueryParameter",
            target="$top",
        )
    return int(text)


class ResourceIndex:
    """Lists the rows of the registered types the caller may read."""

    def __init__(self, registry: TypeRegistry) -> None:
        self.registry = registry

    def type_name(self, row: Row) -> str | None:
        rtype = self.registry.by_key.get(row["type_key"])
        return rtype.type_name if rtype is not None else None

    def readable(self, request: ArmRequest, row: Row) -> bool:
        rtype = self.registry.by_key.get(row["type_key"])
        if rtype is None:
            return False
        # the protocol has checked that the caller belongs to the subscription's tenant
        principal = request.principal
        return request.services.authorizer.check(
            principal, rtype.action("read"), row["id"], principal.tenant_id
        ).allowed

    def listed(self, request: ArmRequest, row: Row, wanted: ResourceFilter) -> bool:
        """Top-level resources of a served type (groups and child resources are not listed, as
        on Azure), matching the filter, that the caller may read."""
        if row["parent_key"] or row["type_key"] == GROUP_TYPE:
            return False
        type_name = self.type_name(row)
        return type_name is not None and wanted.keep(row, type_name) and self.readable(request, row)

    def fetch(
        self, request: ArmRequest, wanted: ResourceFilter, group_key: str | None
    ) -> Callable[[int, int], list[Row]]:
        store = request.services.store
        where: dict[str, Any] = {"subscription_id": request.subscription_id}
        if group_key is not None:
            where["group_key"] = group_key

        def rows(after: int, limit: int) -> list[Row]:
            found: list[Row] = []
            while len(found) < limit:
                batch = store.find_all("resources", after_seq=after, limit=_SCAN_BATCH, **where)
                found.extend(r for r in batch if self.listed(request, r, wanted))
                if len(batch) < _SCAN_BATCH:
                    break
                after = batch[-1]["seq"]
            return found[:limit]

        return rows

    def render(self, row: Row, expand: set[str], wanted: ResourceFilter) -> dict[str, Any]:
        body = row["body"]
        out: dict[str, Any] = {"id": row["id"], "name": row["name"], "type": self.type_name(row)}
        for key in _ENVELOPE:
            if body.get(key) is not None:
                out[key] = body[key]
        if body.get("location"):
            out["location"] = body["location"]
        if not wanted.by_tag and body.get("tags"):
            out["tags"] = body["tags"]
        if "createdtime" in expand:
            out["createdTime"] = iso_time(row.get("created_at"))
        if "changedtime" in expand:
            out["changedTime"] = iso_time(row.get("updated_at"))
        if "provisioningstate" in expand:
            state = (body.get("properties") or {}).get("provisioningState")
            if state is not None:
                out["provisioningState"] = state
        return out

    async def list(self, request: ArmRequest) -> ArmResponse:
        group = request.params.get("resourceGroupName")
        group_key: str | None = None
        if group is not None:
            group_key = group.lower()
            key = f"/subscriptions/{request.subscription_id}/resourcegroups/{group_key}"
            if request.services.store.get_resource(key) is None:
                raise resource_group_not_found(group)
        wanted = parse_filter(request.query.get("$filter", ""))
        expand = parse_expand(request.query.get("$expand", ""))
        top = parse_top(request.query.get("$top"))
        fetch = self.fetch(request, wanted, group_key)
        if top is not None:
            # $top caps the whole answer: the first `top` resources and no nextLink beyond them
            rows = fetch(0, top)
            return ArmResponse(200, {"value": [self.render(r, expand, wanted) for r in rows]})
        return page(request, fetch, lambda row: self.render(row, expand, wanted))


def endpoints(registry: TypeRegistry, versions: ApiVersions) -> list[Endpoint]:
    index = ResourceIndex(registry)
    # The list itself is open to anyone with a role within the subscription (authz lets these
    # collection reads through); what each caller sees is filtered item by item above.
    return [
        Endpoint("GET", "/subscriptions/{subscriptionId}/resources", index.list, versions,
                 "Microsoft.Resources/subscriptions/resources/read"),
        Endpoint("GET", "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources", index.list,
                 versions, "Microsoft.Resources/subscriptions/resourceGroups/resources/read"),
    ]  # fmt: skip
