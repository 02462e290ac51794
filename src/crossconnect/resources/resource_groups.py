"""Microsoft.Resources/resourceGroups: PUT/GET/HEAD/PATCH/list; DELETE is long-running and
removes everything the group contains."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.bodies import ArmModel, parse
from crossconnect.arm.errors import ArmError, BadRequest, Conflict, resource_group_not_found
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.names import RESOURCE_GROUP
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.resources.api_versions import RESOURCES_VERSIONS


class ResourceGroupBody(ArmModel):
    location: str
    tags: dict[str, Any] | None = None
    managed_by: str | None = Field(default=None, alias="managedBy")
    properties: dict[str, Any] | None = None
    id: str | None = None
    name: str | None = None
    type: str | None = None


class ResourceGroupPatch(ArmModel):
    tags: dict[str, Any] | None = None
    managed_by: str | None = Field(default=None, alias="managedBy")
    properties: dict[str, Any] | None = None
    name: str | None = None
    location: str | None = None


def normalize_location(location: str) -> str:
    return location.replace(" ", "").lower()


def ensure_group(store: Any, subscription_id: str, name: str, location: str, conn: Connection) -> Row:
    """Create a resource group if it does not exist (used when Microsoft creates groups such as
    ``CrossConnection-<PeeringLocation>`` on a partner's behalf)."""
    key = f"/subscriptions/{subscription_id}/resourcegroups/{name}".lower()
    existing = store.get_resource(key, conn)
    if existing is not None:
        return existing
    row = {
        "key": key,
        "id": f"/subscriptions/{subscription_id}/resourceGroups/{name}",
        "type_key": ResourceGroups.type_name.lower(),
        "subscription_id": subscription_id,
        "group_key": name.lower(),
        "parent_key": "",
        "name": name,
        "body": {"location": normalize_location(location), "properties": {"provisioningState": "Succeeded"}},
        "etag": new_etag(),
    }
    store.put_resource(row, conn)
    return row


class ResourceGroups(ResourceType):
    type_name = "Microsoft.Resources/resourceGroups"
    item_template = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    list_templates = ("/subscriptions/{subscriptionId}/resourceGroups",)
    api_versions = ApiVersions.of(RESOURCES_VERSIONS)
    put_is_long_running = False
    delete_missing_is_not_found = True  # ARM answers 404 ResourceGroupNotFound, never 204
    finished_delete_status = 200  # ResourceGroups_Delete lists 200 and 202 only

    name_rule = RESOURCE_GROUP

    def action(self, verb: str) -> str:
        return f"Microsoft.Resources/subscriptions/resourceGroups/{verb}"

    def not_found(self, request: ArmRequest) -> ArmError:
        return resource_group_not_found(request.params["resourceGroupName"])

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        body = row["body"]
        out: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "type": self.type_name,
            "location": body["location"],
        }
        if body.get("managedBy"):
            out["managedBy"] = body["managedBy"]
        if body.get("tags"):
            out["tags"] = body["tags"]
        out["properties"] = {"provisioningState": body.get("properties", {}).get("provisioningState", "Succeeded")}
        return out

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(ResourceGroupBody, body, "ResourceGroup")
        name = request.params["resourceGroupName"]
        location = normalize_location(model.location)
        if not location:
            raise BadRequest(
                "The provided location '' is not available for resource group.",
                "LocationNotAvailableForResourceGroup",
                target="location",
            )
        tags = validate_tags(model.tags)
        if existing is not None and existing["body"]["location"] != location:
            raise Conflict(
                f"Invalid resource group location '{model.location}'. The Resource group already exists in location "
                f"'{existing['body']['location']}'.",
                "InvalidResourceGroupLocation",
                target="location",
            )
        if existing is not None and existing["body"].get("properties", {}).get("provisioningState") == "Deleting":
            raise Conflict(
                f"The resource group '{name}' is in deprovisioning state and cannot perform this operation.",
                "ResourceGroupBeingDeleted",
            )
        new_body = {"location": location, "tags": tags, "properties": {"provisioningState": "Succeeded"}}
        if model.managed_by:
            new_body["managedBy"] = model.managed_by
        if existing is None:
            return Write(self.new_row(request, new_body), created=True)
        return Write({**existing, "body": new_body, "etag": new_etag()})

    def update_tags(self, request: ArmRequest, body: Any, existing: Row, conn: Connection) -> Write:
        model = parse(ResourceGroupPatch, body, "ResourceGroupPatchable")
        new_body = dict(existing["body"])
        if model.tags is not None:
            new_body["tags"] = validate_tags(model.tags)
        if model.managed_by is not None:
            new_body["managedBy"] = model.managed_by
        return Write({**existing, "body": new_body, "etag": new_etag()})

    def operation_location(self, row: Row) -> str:
        return str(row["body"]["location"])

    def complete_operation(self, op: Row, conn: Connection) -> Any:
        if op["kind"] != "delete":
            return None
        group = self.store.get_resource(op["resource_key"], conn)
        if group is None:
            return None
        for contained in self.store.find_all(
            "resources", conn, subscription_id=group["subscription_id"], group_key=group["group_key"]
        ):
            if contained["key"] == group["key"]:
                continue
            rtype = self.registry.by_key.get(contained["type_key"])
            if rtype is not None and not contained["parent_key"]:
                rtype.on_delete(contained, conn)
        self.store.delete_group_resources(group["subscription_id"], group["group_key"], conn)
        # the group's deployment history goes with it, as on Azure
        self.store.delete_where(
            "deployments", conn, subscription_id=group["subscription_id"], group_key=group["group_key"]
        )
        return None
