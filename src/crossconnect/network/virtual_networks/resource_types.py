"""Microsoft.Network/virtualNetworks and their subnets.

A subnet is stored once, as a child row of its virtual network; the virtual network embeds its
subnets from those rows, and ``…/subnets/{name}`` reads and writes the same rows. A PUT of the
virtual network replaces its set of subnets as Azure does: a subnet left out of ``subnets`` is
deleted (refused while a gateway uses it).
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.network.common import NAMES, NAMESPACE, fixed_location, props, render_tracked, versions
from crossconnect.network.virtual_networks import bodies


def _in_use(subnet: Row) -> BadRequest:
    configs = bodies.used_by(subnet)
    return BadRequest(
        f"Subnet {subnet['name']} is in use by {configs[0]} and cannot be deleted. In order to delete the subnet, "
        "delete all the resources within the subnet.",
        "InUseSubnetCannotBeDeleted",
        target=subnet["name"],
    )


def _subnets(store: Any, vnet_key: str, conn: Connection | None) -> list[Row]:
    return store.find_all("resources", conn, parent_key=vnet_key, type_key=bodies.SUBNET_TYPE)


def _check_name(name: str, field: str) -> str:
    NAMES.check(name, target=field)
    return bodies.canonical_subnet_name(name)


class VirtualNetworks(ResourceType):
    type_name = "Microsoft.Network/virtualNetworks"
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "virtualNetworks/{virtualNetworkName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "virtualNetworks",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/virtualNetworks",
    )
    api_versions = versions("virtualNetworks")
    namespace = NAMESPACE
    name_rule = NAMES

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        body = row["body"]
        p = dict(body["properties"])
        p["subnets"] = [bodies.render_subnet(s) for s in _subnets(self.store, row["key"], conn)]
        p["virtualNetworkPeerings"] = []
        p["enableDdosProtection"] = False
        return render_tracked(row, self.type_name, p)

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(bodies.VirtualNetworkBody, body, "VirtualNetwork")
        name = self.name(request)
        location = fixed_location(model.location, existing, "a virtual network")
        tags = validate_tags(model.tags if model.tags is not None else {})
        space = bodies.address_space(model.properties.address_space, existing, name)
        key = self.key(request)
        vnet_id = existing["id"] if existing else self.new_row(request, {})["id"]
        current = {s["name"].lower(): s for s in (_subnets(self.store, key, conn) if existing else [])}
        sent = model.properties.subnets or []
        if len(sent) > bodies.MAX_SUBNETS:
            raise BadRequest(
                f"A virtual network has at most {bodies.MAX_SUBNETS} subnets ({len(sent)} sent).",
                "SubnetsLimitReached",
                target="properties.subnets",
            )
        used = bodies.Taken()
        rows: list[Row] = []  # new subnets: inserted together
        changed: list[Row] = []
        seen: set[str] = set()
        for i, subnet in enumerate(sent):
            field = f"properties.subnets[{i}]"
            if not subnet.name:
                raise BadRequest(f"The subnet at {field} has no name.", "InvalidRequestFormat", target=f"{field}.name")
            subnet_name = _check_name(subnet.name, f"{field}.name")
            if subnet_name.lower() in seen:
                raise BadRequest(
                    f"The virtual network '{name}' lists subnet '{subnet_name}' twice.",
                    "DuplicateResourceName",
                    target=f"{field}.name",
                )
            seen.add(subnet_name.lower())
            net = bodies.subnet_prefix(subnet_name, subnet.properties, field, name, space, used)
            old = current.get(subnet_name.lower())
            if old is not None and bodies.used_by(old) and old["body"]["properties"]["addressPrefix"] != str(net):
                raise BadRequest(
                    f"Subnet {old['name']} is in use by {bodies.used_by(old)[0]}: its address prefix cannot be "
                    "changed.",
                    "InUseSubnetCannotBeUpdated",
                    target=f"{field}.addressPrefix",
                )
            used.add(subnet_name, net)
            if old is None:
                rows.append(self._subnet_row(request, vnet_id, key, old, subnet_name, str(net)))
            elif old["body"]["properties"]["addressPrefix"] != str(net):  # unchanged subnets are not rewritten
                changed.append(self._subnet_row(request, vnet_id, key, old, subnet_name, str(net)))
        for old_key, old in current.items():
            if old_key not in seen:
                if bodies.used_by(old):
                    raise _in_use(old)
                self.store.delete_resource_tree(old["key"], conn)
        p = props(existing) if existing else {"resourceGuid": entropy.guid()}
        new_props = {
            "provisioningState": p.get("provisioningState", "Updating"),
            "resourceGuid": p["resourceGuid"],
            "addressSpace": {"addressPrefixes": [str(n) for n in space]},
        }
        new_body = {"location": location, "tags": tags, "properties": new_props}
        self.store.insert_resources(rows, conn)
        if existing is None:
            return Write(self.new_row(request, new_body), created=True, operation="put", extra_rows=changed)
        return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put", extra_rows=changed)

    def _subnet_row(
        self, request: ArmRequest, vnet_id: str, vnet_key: str, old: Row | None, name: str, prefix: str
    ) -> Row:
        body = {
            "properties": {"provisioningState": "Succeeded", "addressPrefix": prefix},
            "internal": dict(old["body"].get("internal", {})) if old else {},
        }
        if old is not None:
            return {**old, "body": body, "etag": new_etag()}
        subnet_id = f"{vnet_id}/subnets/{name}"
        return {
            "key": subnet_id.lower(),
            "id": subnet_id,
            "type_key": bodies.SUBNET_TYPE,
            "subscription_id": request.subscription_id,
            "group_key": request.params["resourceGroupName"].lower(),
            "parent_key": vnet_key,
            "name": name,
            "body": body,
            "etag": new_etag(),
        }

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        for subnet in _subnets(self.store, existing["key"], conn):
            if bodies.used_by(subnet):
                raise _in_use(subnet)
        return super().delete(request, existing, conn)


class Subnets(ResourceType):
    type_name = bodies.SUBNET_TYPE_NAME
    item_template = VirtualNetworks.item_template + "/subnets/{subnetName}"
    list_templates = (VirtualNetworks.item_template + "/subnets",)
    api_versions = versions("virtualNetworks/subnets")
    namespace = NAMESPACE
    name_rule = NAMES
    parent = VirtualNetworks
    methods: ClassVar[frozenset[str]] = frozenset({"GET", "PUT", "DELETE"})

    # a subnet is checked against its siblings and its virtual network's address space
    def lock_keys(self, request: ArmRequest) -> list[str]:
        return sorted({self.key(request), self.parent_key(request)})

    def operation_lock_keys(self, op: Row) -> list[str]:
        return sorted({op["resource_key"], op["resource_key"].rsplit("/subnets/", 1)[0]})

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        return bodies.render_subnet(row)

    def operation_location(self, row: Row) -> str:
        vnet = self.store.get_resource(row["parent_key"])
        return str(vnet["body"]["location"]) if vnet else "global"

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(bodies.SubnetBody, body, "Subnet")
        vnet = self.store.get_resource(self.parent_key(request), conn)
        if vnet is None:
            raise self.registry.get(VirtualNetworks).not_found(request)
        name = _check_name(self.name(request), "subnetName")
        space = [ipaddress.IPv4Network(p) for p in vnet["body"]["properties"]["addressSpace"]["addressPrefixes"]]
        siblings = [s for s in _subnets(self.store, vnet["key"], conn) if s["key"] != self.key(request)]
        if existing is None and len(siblings) >= bodies.MAX_SUBNETS:
            raise BadRequest(
                f"The virtual network '{vnet['name']}' already has {bodies.MAX_SUBNETS} subnets, the most it can have.",
                "SubnetsLimitReached",
                target="subnetName",
            )
        used = bodies.Taken(
            [(s["name"], ipaddress.IPv4Network(s["body"]["properties"]["addressPrefix"])) for s in siblings]
        )
        net = bodies.subnet_prefix(name, model.properties, "properties", vnet["name"], space, used)
        if (
            existing is not None
            and bodies.used_by(existing)
            and existing["body"]["properties"]["addressPrefix"] != str(net)
        ):
            raise BadRequest(
                f"Subnet {existing['name']} is in use by {bodies.used_by(existing)[0]}: its address prefix cannot be "
                "changed.",
                "InUseSubnetCannotBeUpdated",
                target="properties.addressPrefix",
            )
        internal = dict(existing["body"].get("internal", {})) if existing else {}
        new_body = {"properties": {"provisioningState": "Updating", "addressPrefix": str(net)}, "internal": internal}
        if existing is not None:
            return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put")
        row = self.new_row(request, new_body)
        row["name"] = name
        row["id"] = f"{vnet['id']}/subnets/{name}"
        return Write(row, created=True, operation="put", extra_rows=[{**vnet, "etag": new_etag()}])

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        if bodies.used_by(existing):
            raise _in_use(existing)
        return super().delete(request, existing, conn)
