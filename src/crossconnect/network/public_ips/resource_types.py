"""Microsoft.Network/publicIPAddresses: an address from the pool, given at create (the PUT's answer
already shows it, as Azure's does for a static address) and returned to the pool on delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.network.common import NAMES, NAMESPACE, fixed_location, internal, render_tracked, versions
from crossconnect.network.public_ips import bodies


def used_by(row: Row) -> str | None:
    """The id of the ipConfiguration the address is assigned to (a gateway's), if any."""
    value = internal(row).get("ipConfiguration")
    return str(value) if value else None


class PublicIpAddresses(ResourceType):
    type_name = "Microsoft.Network/publicIPAddresses"
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "publicIPAddresses/{publicIpAddressName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "publicIPAddresses",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/publicIPAddresses",
    )
    api_versions = versions("publicIPAddresses")
    namespace = NAMESPACE
    name_rule = NAMES

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        body = row["body"]
        p = dict(body["properties"])
        config = used_by(row)
        if config:
            p["ipConfiguration"] = {"id": config}
        return render_tracked(row, self.type_name, p, sku=body["sku"])

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(bodies.PublicIpBody, body, "PublicIPAddress")
        location = fixed_location(model.location, existing, "a public IP address")
        sku, timeout = bodies.check(model, existing)
        tags = validate_tags(model.tags if model.tags is not None else {})
        if existing is not None:
            old = existing["body"]["properties"]
            new_props = {**old, "idleTimeoutInMinutes": timeout}
            new_body = {**existing["body"], "location": location, "tags": tags, "sku": sku, "properties": new_props}
            return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put")
        address = bodies.allocate(self.store, conn, self.key(request))
        new_props = {
            "provisioningState": "Updating",
            "resourceGuid": entropy.guid(),
            "ipAddress": address,
            "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Static",
            "idleTimeoutInMinutes": timeout,
            "ipTags": [],
        }
        new_body = {"location": location, "tags": tags, "sku": sku, "properties": new_props, "internal": {}}
        return Write(self.new_row(request, new_body), created=True, operation="put")

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        config = used_by(existing)
        if config:
            raise BadRequest(
                f"Public IP address {existing['id']} can not be deleted since it is still allocated to resource "
                f"{config}. In order to delete the public IP, disassociate/detach the Public IP address from the "
                "resource.",
                "PublicIPAddressCannotBeDeleted",
                target=existing["name"],
            )
        return super().delete(request, existing, conn)

    def on_delete(self, row: Row, conn: Connection) -> None:
        bodies.release(self.store, conn, row["body"]["properties"]["ipAddress"], row["key"])
