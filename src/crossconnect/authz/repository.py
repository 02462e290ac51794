"""Role definitions and role assignments in the store.

Every change goes through here and writes a fresh generation token in the same transaction
(see ``schema.rbac_generation``): that is what lets every replica's ``AccessIndex`` notice the
change on its very next request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from crossconnect import clock
from crossconnect.authz import scopes
from crossconnect.authz.roles import BUILT_IN_ROLES, RoleDefinition
from crossconnect.store import Store

ASSIGNMENT_PATH = "/providers/Microsoft.Authorization/roleAssignments/"
_GENERATION_ROW = 1
RBAC_LOCK = "rbac"


@dataclass(frozen=True)
class RoleAssignment:
    name: str  # a GUID
    scope: str  # normalized, casing as given
    subscription_id: str
    tenant_id: str
    principal_id: str
    principal_type: str
    role_definition_id: str  # the role's GUID
    description: str | None = None
    condition: str | None = None
    condition_version: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    created_by: str = ""
    updated_by: str = ""

    @property
    def id(self) -> str:
        return f"{self.scope}{ASSIGNMENT_PATH}{self.name}"

    @property
    def key(self) -> str:
        return self.id.lower()

    @property
    def scope_key(self) -> str:
        return self.scope.lower()

    def to_row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "scope": self.scope,
            "scope_key": self.scope_key,
            "subscription_id": self.subscription_id,
            "tenant_id": self.tenant_id,
            "principal_id": self.principal_id,
            "principal_type": self.principal_type,
            "role_definition_id": self.role_definition_id,
            "description": self.description,
            "condition": self.condition,
            "condition_version": self.condition_version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RoleAssignment:
        fields = {k: row[k] for k in cls.__dataclass_fields__}
        return cls(**fields)


def assignment_id(scope: str, name: str) -> str:
    return f"{scopes.normalize(scope)}{ASSIGNMENT_PATH}{name}"


class RbacRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- the generation token ------------------------------------------------------------------
    def generation(self, conn: Connection | None = None) -> str | None:
        """The current token. Read on every authorized request: outside a transaction this is the
        store's hot path (PostgreSQL: one autocommit round trip on a held connection, so it sees
        every replica's latest commit; SQLite, owned by one process: served from memory until this
        process's next write transaction)."""
        row = self.store.find("rbac_generation", conn, id=_GENERATION_ROW)
        return str(row["token"]) if row else None

    def lock(self, conn: Connection) -> None:
        """Every change to role definitions or assignments holds this lock (``Store.lock``) from
        before its checks until it commits: changes from all replicas take turns, so "one
        assignment per principal, role and scope" and "no assignment of a deleted role" hold. (A
        unique index on assignments backs the first up.) RBAC changes are rare; taking turns
        costs nothing that matters."""
        self.store.lock(conn, RBAC_LOCK)

    def changed(self, conn: Connection) -> None:
        """A new generation token: every replica reloads access control on its next request."""
        # never seeded: a token repeated after a reset would let a cached access index pass as current
        token = str(uuid.uuid4())
        if not self.store.update_where("rbac_generation", {"token": token}, conn, id=_GENERATION_ROW):
            self.store.insert("rbac_generation", {"id": _GENERATION_ROW, "token": token}, conn)

    # -- role definitions ----------------------------------------------------------------------
    def find_role(self, guid: str, conn: Connection | None = None) -> RoleDefinition | None:
        guid = guid.lower()
        if guid in BUILT_IN_ROLES:
            return BUILT_IN_ROLES[guid]
        row = self.store.find("role_definitions", conn, id=guid)
        return RoleDefinition.from_row(row) if row else None

    def custom_roles(self, conn: Connection | None = None, **where: Any) -> list[RoleDefinition]:
        return [RoleDefinition.from_row(r) for r in self.store.find_all("role_definitions", conn, **where)]

    def role_named(self, tenant_id: str, role_name: str, conn: Connection | None = None) -> RoleDefinition | None:
        row = self.store.find("role_definitions", conn, tenant_id=tenant_id, role_name_key=role_name.lower())
        return RoleDefinition.from_row(row) if row else None

    def save_custom_role(self, role: RoleDefinition, by: str, conn: Connection) -> RoleDefinition:
        """Create or replace a custom role (``role.tenant_id`` is required)."""
        assert role.tenant_id is not None
        now = clock.now()
        values = {
            "tenant_id": role.tenant_id,
            "role_name": role.role_name,
            "role_name_key": role.role_name.lower(),
            "description": role.description,
            "permissions": [p.to_json() for p in role.permissions],
            "assignable_scopes": list(role.assignable_scopes),
            "updated_at": now,
            "updated_by": by,
        }
        if self.store.find("role_definitions", conn, id=role.id):
            self.store.update_where("role_definitions", values, conn, id=role.id)
        else:
            self.store.insert("role_definitions", {"id": role.id, "created_at": now, "created_by": by, **values}, conn)
        self.changed(conn)
        saved = self.find_role(role.id, conn)
        assert saved is not None
        return saved

    def delete_custom_role(self, guid: str, conn: Connection) -> bool:
        deleted = self.store.delete_where("role_definitions", conn, id=guid.lower()) > 0
        if deleted:
            self.changed(conn)
        return deleted

    # -- role assignments ----------------------------------------------------------------------
    def assignments(self, conn: Connection | None = None, **where: Any) -> list[RoleAssignment]:
        return [RoleAssignment.from_row(r) for r in self.store.find_all("role_assignments", conn, **where)]

    def find_assignment(self, assignment_key: str, conn: Connection | None = None) -> RoleAssignment | None:
        row = self.store.find("role_assignments", conn, key=assignment_key.lower())
        return RoleAssignment.from_row(row) if row else None

    def create_assignment(self, assignment: RoleAssignment, conn: Connection) -> RoleAssignment:
        self.store.insert("role_assignments", assignment.to_row(), conn)
        self.changed(conn)
        return assignment

    def delete_assignment(self, assignment_key: str, conn: Connection) -> bool:
        deleted = self.store.delete_where("role_assignments", conn, key=assignment_key.lower()) > 0
        if deleted:
            self.changed(conn)
        return deleted

    def grant(
        self,
        conn: Connection,
        *,
        principal_id: str,
        role: RoleDefinition,
        scope: str,
        tenant_id: str,
        principal_type: str = "ServicePrincipal",
        by: str = "",
    ) -> RoleAssignment:
        """Assign ``role`` (seeding). The name is derived from its inputs, so a reset re-creates
        the very same assignment ids."""
        scope = scopes.normalize(scope)
        subscription = scopes.subscription_of(scope.lower())
        assert subscription is not None
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{principal_id}|{role.id}|{scope.lower()}"))
        now = clock.now()
        return self.create_assignment(
            RoleAssignment(
                name=name,
                scope=scope,
                subscription_id=subscription,
                tenant_id=tenant_id,
                principal_id=principal_id.lower(),
                principal_type=principal_type,
                role_definition_id=role.id,
                created_at=now,
                updated_at=now,
                created_by=by,
                updated_by=by,
            ),
            conn,
        )
