"""What the Microsoft.Network types share: api-versions, the namespace, row helpers."""

from __future__ import annotations

from typing import Any

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.names import word_name_rule
from crossconnect.network.api_versions import NETWORK_VERSIONS
from crossconnect.resources.locations import LOCATION_NAMES
from crossconnect.resources.resource_groups import normalize_location

NAMESPACE = "Microsoft.Network"
# The Microsoft.Network resource provider's naming rule, declared by each of its types: 1-80 word
# characters, '.', '-', '_', beginning with a word character, ending with one or with '_'.
NAMES = word_name_rule(80)


def versions(provider_type: str, since: str = "2015-06-15") -> ApiVersions:
    return ApiVersions.of(NETWORK_VERSIONS, provider_type, since=since)


def props(row: dict[str, Any]) -> dict[str, Any]:
    return dict(row["body"].get("properties", {}))


def internal(row: dict[str, Any]) -> dict[str, Any]:
    """Server-side facts about a resource that are never rendered (placement, links)."""
    return dict(row["body"].get("internal", {}))


def with_props(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = dict(row["body"])
    body["properties"] = {**body.get("properties", {}), **changes}
    return {**row, "body": body}


def render_tracked(row: dict[str, Any], type_name: str, properties: dict[str, Any], **members: Any) -> dict[str, Any]:
    """A tracked resource as ARM shows it, in Azure's order: id, name, type, etag, location, tags
    (only when it has some), ``members`` (e.g. sku), then ``properties``."""
    body = row["body"]
    out: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "type": type_name,
        "etag": row["etag"],
        "location": body["location"],
    }
    if body.get("tags"):
        out["tags"] = body["tags"]
    out.update(members)
    out["properties"] = properties
    return out


def cross_connection_group(peering_location: str) -> str:
    """The partner's resource group for the cross connections at a peering location."""
    return "CrossConnection-" + peering_location.replace(" ", "")


def fixed_location(given: str | None, existing: dict[str, Any] | None, kind: str) -> str:
    """The Azure region of a tracked resource whose region never changes: required on create,
    kept when an update leaves it out, refused when it is no region or another one than before
    (``kind`` names the resource in the message, e.g. "a circuit")."""
    location = normalize_location(given or (existing["body"]["location"] if existing else ""))
    if not location:
        raise BadRequest("location is required.", "LocationRequired", target="location")
    if location not in LOCATION_NAMES:
        raise BadRequest(f"The location '{given}' is not a valid Azure region.", "InvalidLocation", target="location")
    if existing is not None and location != existing["body"]["location"]:
        raise BadRequest(
            f"The location of {kind} cannot be changed (it is '{existing['body']['location']}').",
            "CannotChangeLocation",
            target="location",
        )
    return location
