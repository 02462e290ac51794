"""Role definitions: Azure's built-in roles (real ids, names and actions) and custom roles.

Built-in roles live in code (they are the same in every tenant and can never change); custom
roles live in the store and are turned into the same ``RoleDefinition`` when loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crossconnect.authz import scopes
from crossconnect.authz.actions import Permission

BUILT_IN = "BuiltInRole"
CUSTOM = "CustomRole"


def iso_time(epoch: float) -> str:
    """ARM's timestamp format: ``2024-01-31T12:00:00.1234567Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RoleDefinition:
    id: str  # the GUID (the role definition's ``name``), lowercase
    role_name: str
    description: str
    role_type: str  # BuiltInRole | CustomRole
    permissions: tuple[Permission, ...]
    assignable_scopes: tuple[str, ...]
    tenant_id: str | None = None  # custom roles belong to one tenant
    created_on: str | None = None
    updated_on: str | None = None
    created_by: str | None = None
    updated_by: str | None = None

    @property
    def is_built_in(self) -> bool:
        return self.role_type == BUILT_IN

    def allows(self, action: str) -> bool:
        return any(p.allows(action) for p in self.permissions)

    def assignable_at(self, scope_key: str) -> bool:
        """One of the assignable scopes is at or above ``scope_key`` (from ``scopes.key``)."""
        return any(scopes.covers(scopes.key(s), scope_key) for s in self.assignable_scopes)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RoleDefinition:
        """A custom role from its ``role_definitions`` row."""
        return cls(
            id=row["id"],
            role_name=row["role_name"],
            description=row["description"],
            role_type=CUSTOM,
            permissions=tuple(Permission.from_json(p) for p in row["permissions"]),
            assignable_scopes=tuple(row["assignable_scopes"]),
            tenant_id=row["tenant_id"],
            created_on=iso_time(row["created_at"]),
            updated_on=iso_time(row["updated_at"]),
            created_by=row["created_by"] or None,
            updated_by=row["updated_by"] or None,
        )


def _built_in(guid: str, name: str, description: str, actions: list[str], not_actions: list[str]) -> RoleDefinition:
    return RoleDefinition(guid, name, description, BUILT_IN, (Permission(tuple(actions), tuple(not_actions)),), ("/",))


OWNER = _built_in(
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Owner",
    "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
    ["*"],
    [],
)
CONTRIBUTOR = _built_in(
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Contributor",
    "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage "
    "assignments in Azure Blueprints, or share image galleries.",
    ["*"],
    [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
        "Microsoft.Blueprint/blueprintAssignments/write",
        "Microsoft.Blueprint/blueprintAssignments/delete",
        "Microsoft.Compute/galleries/share/action",
        "Microsoft.Purview/consents/write",
        "Microsoft.Purview/consents/delete",
        "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
        "Microsoft.Subscription/cancel/action",
        "Microsoft.Subscription/enable/action",
    ],
)
READER = _built_in(
    "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Reader",
    "View all resources, but does not allow you to make any changes.",
    ["*/read"],
    [],
)
NETWORK_CONTRIBUTOR = _built_in(
    "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Network Contributor",
    "Lets you manage networks, but not access to them.",
    [
        "Microsoft.Authorization/*/read",
        "Microsoft.Insights/alertRules/*",
        "Microsoft.Network/*",
        "Microsoft.ResourceHealth/availabilityStatuses/read",
        "Microsoft.Resources/deployments/*",
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        "Microsoft.Support/*",
    ],
    [],
)
USER_ACCESS_ADMINISTRATOR = _built_in(
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "User Access Administrator",
    "Lets you manage user access to Azure resources.",
    ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
    [],
)

BUILT_IN_ROLES: dict[str, RoleDefinition] = {
    r.id: r for r in (OWNER, CONTRIBUTOR, READER, NETWORK_CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR)
}
