"""The resolved view of who holds which role where, cached per generation.

Authorization runs on every ARM request, so it must not scan role assignments each time. The
index holds, per principal, its grants (scope + compiled role). Before each use it reads the
generation token (one primary-key lookup) and reloads only when the token differs from the one
its cache was loaded under. Writers change the token in the same transaction as the change, so
a change committed by any replica is seen by every replica's next request; nothing is stale.

Order matters for that guarantee: the token is read *before* the rows. Rows read afterwards
are at least as new as the token, so the worst case is a spurious reload, never a stale cache.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from crossconnect.authz import scopes
from crossconnect.authz.repository import RbacRepository
from crossconnect.authz.roles import RoleDefinition
from crossconnect.identity.groups import transitive_groups


@dataclass(frozen=True)
class Grant:
    scope_key: str
    subscription_id: str | None
    role: RoleDefinition


@dataclass(frozen=True)
class AccessSnapshot:
    token: str | None
    grants: dict[str, tuple[Grant, ...]] = field(default_factory=dict)  # principal object id → grants
    # Decisions already made under this snapshot, (principal, action, scope) → allowed: a client
    # repeats the same requests, and a new snapshot starts empty, so none outlives a role change.
    decisions: dict[tuple[str, str, str], Any] = field(default_factory=dict, compare=False)
    # member object id → every group it belongs to, directly or nested (for assignedTo()).
    groups: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)

    def grants_for(self, principal_id: str) -> tuple[Grant, ...]:
        """Its own grants and those of every group it belongs to (resolved when loaded, so a
        decision costs the same with or without groups)."""
        return self.grants.get(principal_id.lower(), ())

    def groups_of(self, principal_id: str) -> frozenset[str]:
        return self.groups.get(principal_id.lower(), frozenset())


class AccessIndex:
    def __init__(self, repository: RbacRepository) -> None:
        self.repository = repository
        self._snapshot: AccessSnapshot | None = None
        self._lock = threading.Lock()
        self.loads = 0  # how often the cache was (re)built: tests and the benchmark watch it

    def current(self) -> AccessSnapshot:
        store = self.repository.store
        token = store.remembered("rbac-generation", self.repository.generation, "rbac_generation")
        snapshot = self._snapshot
        # No token (an emptied store, mid-reset) is never trusted: reload until one is written.
        if snapshot is not None and token is not None and snapshot.token == token:
            return snapshot
        store.needs_database()  # (the lock is held by whoever loads: not to be waited for in memory_only)
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and token is not None and snapshot.token == token:
                return snapshot
            snapshot = self._load(token)
            self._snapshot = snapshot
            return snapshot

    def _load(self, token: str | None) -> AccessSnapshot:
        repo = self.repository
        with repo.store.tx() as conn:
            custom = {r.id: r for r in repo.custom_roles(conn)}
            assignments = repo.assignments(conn)
            edges = [(m["group_id"], m["member_id"]) for m in repo.store.find_all("group_members", conn)]
        grants: dict[str, list[Grant]] = {}
        for a in assignments:
            role = custom.get(a.role_definition_id) or repo.find_role(a.role_definition_id)
            if role is None:  # its custom role was deleted: the assignment grants nothing
                continue
            # A custom role applies only inside its assignable scopes, wherever it is assigned: an
            # assignment left outside them (a snapshot, two writers racing) grants no more than that.
            for scope_key in scopes.within(a.scope_key, role.assignable_scopes):
                grant = Grant(scope_key, scopes.subscription_of(scope_key), role)
                grants.setdefault(a.principal_id.lower(), []).append(grant)
        # A group's grants apply to each direct and nested member. Group membership changes write a
        # new generation token too, so this expansion is never older than the memberships.
        member_of = transitive_groups(edges)
        own = {p: tuple(g) for p, g in grants.items()}
        for member, groups in member_of.items():
            inherited = [g for group in sorted(groups) for g in own.get(group, ())]
            if inherited:
                grants[member] = [*own.get(member, ()), *inherited]
        self.loads += 1
        return AccessSnapshot(token, {p: tuple(g) for p, g in grants.items()}, groups=member_of)
