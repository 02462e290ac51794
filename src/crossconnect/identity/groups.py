"""Security groups of the directory and their members (users, service principals, other groups).

Group membership decides access: a role assigned to a group applies to all its direct and nested
members. So every change of membership (and deleting a group or one of its members) calls
``access_changed`` in the same transaction; the application wires that to the RBAC generation
bump, which makes every replica's access index reload on its next request (no stale decision).
The callback is injected because ``authz`` sits above ``identity``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from crossconnect import clock, entropy
from crossconnect.store import Store

Row = dict[str, Any]
USER, SERVICE_PRINCIPAL, GROUP = "user", "servicePrincipal", "group"


def transitive_groups(edges: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """member id → every group it belongs to, directly or through nesting, from (group, member)
    edges. Nesting is acyclic (refused when added), but a walk never revisits a group anyway."""
    parents: dict[str, set[str]] = {}
    for group_id, member_id in edges:
        parents.setdefault(member_id, set()).add(group_id)
    closure: dict[str, frozenset[str]] = {}
    for member in parents:
        seen: set[str] = set()
        todo = list(parents[member])
        while todo:
            group = todo.pop()
            if group not in seen:
                seen.add(group)
                todo.extend(parents.get(group, ()))
        closure[member] = frozenset(seen)
    return closure


class GroupDirectory:
    def __init__(self, store: Store, access_changed: Callable[[Any], None] | None = None) -> None:
        self.store = store
        self._access_changed = access_changed or (lambda conn: None)

    # -- groups --------------------------------------------------------------------------------
    def create(
        self,
        tenant_id: str,
        display_name: str,
        mail_nickname: str,
        *,
        description: str | None = None,
        data: dict[str, Any] | None = None,
        object_id: str | None = None,
        conn: Any = None,
    ) -> Row:
        row = {
            "object_id": (object_id or entropy.guid()).lower(),
            "tenant_id": tenant_id,
            "display_name": display_name,
            "mail_nickname": mail_nickname,
            "description": description,
            "data": data or {},
            "created_at": clock.now(),
        }
        self.store.insert("groups", row, conn)
        return row

    def find(self, tenant_id: str, object_id: str, conn: Any = None) -> Row | None:
        return self.store.find("groups", conn, tenant_id=tenant_id, object_id=object_id.lower())

    def all(self, tenant_id: str, conn: Any = None) -> list[Row]:
        return self.store.find_all("groups", conn, tenant_id=tenant_id)

    def update(self, object_id: str, values: dict[str, Any], conn: Any = None) -> None:
        self.store.update_where("groups", values, conn, object_id=object_id)

    def delete(self, group: Row, conn: Any) -> None:
        """The group and every membership edge touching it. Role assignments to it stay (as on
        Azure, where they then show an unknown principal) but grant nobody anything."""
        self.store.delete_where("group_members", conn, group_id=group["object_id"])
        self.store.delete_where("group_members", conn, member_id=group["object_id"])
        self.store.delete_where("groups", conn, object_id=group["object_id"])
        self._access_changed(conn)

    # -- members -------------------------------------------------------------------------------
    def members(self, group_id: str, conn: Any = None) -> list[Row]:
        return self.store.find_all("group_members", conn, group_id=group_id)

    def is_member(self, group_id: str, member_id: str, conn: Any = None) -> bool:
        return self.store.find("group_members", conn, group_id=group_id, member_id=member_id) is not None

    def add_member(self, group: Row, member_id: str, member_type: str, conn: Any) -> bool:
        """False when ``member_id`` is already a direct member (nothing changes)."""
        added = self.store.insert_if_absent(
            "group_members",
            {
                "group_id": group["object_id"],
                "member_id": member_id,
                "member_type": member_type,
                "tenant_id": group["tenant_id"],
                "created_at": clock.now(),
            },
            conn,
        )
        if added:
            self._access_changed(conn)
        return added

    def remove_member(self, group_id: str, member_id: str, conn: Any) -> bool:
        removed = self.store.delete_where("group_members", conn, group_id=group_id, member_id=member_id) > 0
        if removed:
            self._access_changed(conn)
        return removed

    def serialize_membership_writes(self, conn: Any) -> None:
        """Called first in a transaction that checks memberships before adding one (the cycle
        check): writing the generation row locks it until commit, so two such transactions on any
        replicas run one after the other, and the second sees what the first added."""
        self._access_changed(conn)

    def forget_member(self, member_id: str, conn: Any) -> None:
        """A deleted user or service principal leaves every group it was in."""
        if self.store.delete_where("group_members", conn, member_id=member_id.lower()) > 0:
            self._access_changed(conn)

    # -- transitive views ----------------------------------------------------------------------
    def edges(self, tenant_id: str, conn: Any = None) -> list[tuple[str, str]]:
        return [
            (r["group_id"], r["member_id"]) for r in self.store.find_all("group_members", conn, tenant_id=tenant_id)
        ]

    def member_of(self, tenant_id: str, object_id: str, conn: Any = None) -> frozenset[str]:
        """Every group ``object_id`` belongs to, directly or through nesting."""
        return transitive_groups(self.edges(tenant_id, conn)).get(object_id.lower(), frozenset())

    def transitive_members(self, tenant_id: str, group_id: str, conn: Any = None) -> list[Row]:
        """Every direct and nested member edge below ``group_id`` (each member once)."""
        by_group: dict[str, list[Row]] = {}
        for row in self.store.find_all("group_members", conn, tenant_id=tenant_id):
            by_group.setdefault(row["group_id"], []).append(row)
        found: dict[str, Row] = {}
        todo = [group_id]
        visited: set[str] = set()
        while todo:
            current = todo.pop()
            if current in visited:
                continue
            visited.add(current)
            for row in by_group.get(current, []):
                found.setdefault(row["member_id"], row)
                if row["member_type"] == GROUP:
                    todo.append(row["member_id"])
        return list(found.values())
