"""What the Microsoft.Network types share: api-versions, the namespace, row helpers."""

from __future__ import annotations

from typing import Any

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.network.api_versions import NETWORK_VERSIONS

NAMESPACE = "Microsoft.Network"


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
