"""Scopes: the tree RBAC inherits down (subscription ⊃ resource group ⊃ resource ⊃ child).

A role assigned at a scope applies to that scope and to everything below it; "below" is a
segment-wise prefix of the resource id, compared case-insensitively (ARM ids are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ROOT = "/"

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_ROLE_DEFINITION_ID = re.compile(
    r"^(?:/subscriptions/(?P<subscription>[^/]+)(?:/resourceGroups/[^/]+)?)?"
    r"/providers/Microsoft\.Authorization/roleDefinitions/(?P<guid>[^/]+)$",
    re.IGNORECASE,
)


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def normalize(scope: str) -> str:
    """``/subscriptions/X/resourceGroups/G/`` → ``/subscriptions/X/resourceGroups/G`` (casing kept)."""
    segments = [s for s in scope.strip().split("/") if s]
    return "/" + "/".join(segments)


def key(scope: str) -> str:
    """The comparable form of a scope (normalized, lowercase)."""
    return normalize(scope).lower()


def covers(ancestor_key: str, scope_key: str) -> bool:
    """A role at ``ancestor_key`` applies at ``scope_key`` (both from ``key()``)."""
    if ancestor_key == ROOT:
        return True
    return scope_key == ancestor_key or scope_key.startswith(ancestor_key + "/")


def related(a_key: str, b_key: str) -> bool:
    """One scope is at, above or below the other."""
    return covers(a_key, b_key) or covers(b_key, a_key)


def within(scope_key: str, bounds: Iterable[str]) -> tuple[str, ...]:
    """Where a role assigned at ``scope_key`` applies when it may apply only inside ``bounds`` (a
    role definition's assignable scopes, any casing): the whole assigned scope when a bound
    covers it, else the bounds below it, else nowhere. A role's reach never exceeds its bounds."""
    below: list[str] = []
    for bound in bounds:
        bound_key = key(bound)
        if covers(bound_key, scope_key):
            return (scope_key,)
        if covers(scope_key, bound_key) and bound_key not in below:
            below.append(bound_key)
    return tuple(below)


@dataclass(frozen=True)
class Scope:
    """A parsed scope inside a subscription."""

    text: str  # normalized, casing as given
    subscription_id: str  # lowercase
    resource_group: str | None  # as given
    resource_path: str | None  # "providers/{ns}/{type}/{name}[/{type}/{name}...]" below the group

    @property
    def key(self) -> str:
        return self.text.lower()

    @property
    def kind(self) -> str:
        if self.resource_path:
            return "resource"
        return "resourceGroup" if self.resource_group else "subscription"

    @property
    def group_id(self) -> str | None:
        if self.resource_group is None:
            return None
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


def parse(scope: str) -> Scope | None:
    """Parse ``/subscriptions/{s}[/resourceGroups/{g}[/providers/{ns}/{type}/{name}[/{type}/{name}...]]]``;
    None when ``scope`` has another shape."""
    segments = [s for s in scope.strip().split("/") if s]
    if len(segments) < 2 or segments[0].lower() != "subscriptions":
        return None
    subscription = segments[1].lower()
    rest = segments[2:]
    text = "/" + "/".join(segments)
    if not rest:
        return Scope(text, subscription, None, None)
    if rest[0].lower() != "resourcegroups" or len(rest) < 2:
        return None
    group = rest[1]
    below = rest[2:]
    if not below:
        return Scope(text, subscription, group, None)
    # providers/{namespace}/{type}/{name} then any number of {childType}/{childName} pairs
    if below[0].lower() != "providers" or len(below) < 4 or (len(below) - 2) % 2 != 0:
        return None
    if any(s.lower() == "providers" for s in below[1:]):
        return None  # an extension resource (…/providers/Microsoft.X/…) is not a scope we assign at
    return Scope(text, subscription, group, "/".join(below))


def subscription_of(scope_key: str) -> str | None:
    segments = [s for s in scope_key.split("/") if s]
    if len(segments) >= 2 and segments[0].lower() == "subscriptions":
        return segments[1].lower()
    return None


def role_definition_guid(role_definition_id: str) -> str | None:
    """The GUID in ``[/subscriptions/{s}[/resourceGroups/{g}]]/providers/Microsoft.Authorization/
    roleDefinitions/{guid}``; None for any other shape."""
    match = _ROLE_DEFINITION_ID.match(role_definition_id.strip())
    if match is None or not is_guid(match.group("guid")):
        return None
    return match.group("guid").lower()


def role_definition_id(guid: str, subscription_id: str | None) -> str:
    """The id ARM shows for a role definition: below the subscription it is read in, else at the root."""
    if subscription_id:
        return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    return f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"
