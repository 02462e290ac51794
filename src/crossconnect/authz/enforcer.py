"""The single enforcement point for access control on ARM requests.

A request is allowed when the caller belongs to the subscription's tenant and holds a role,
assigned at the request's scope or at a scope above it, whose permissions grant the action.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossconnect.authz import scopes
from crossconnect.authz.index import AccessIndex, Grant
from crossconnect.identity.tokens import Principal

# Reading a subscription itself and its metadata (regions, resource providers) needs only some
# role somewhere within the subscription, as on Azure: a principal whose only role is on one
# resource group still sees the subscription in `az login`, and the SDK's automatic provider
# registration (register, then GET the provider until Registered) works for Network Contributor.
_SUBSCRIPTION_METADATA_READS = frozenset(
    a.lower()
    for a in (
        "Microsoft.Resources/subscriptions/read",
        "Microsoft.Resources/subscriptions/locations/read",
        "Microsoft.Resources/subscriptions/providers/read",
    )
)


# The generic resource lists (``az resource list``) answer anyone with a role within the
# subscription, as on Azure: the handler lists only the resources the caller may read
# (``arm.generic_resources``), so a Network Contributor sees its network resources.
_FILTERED_COLLECTION_READS = frozenset(
    a.lower()
    for a in (
        "Microsoft.Resources/subscriptions/resources/read",
        "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
    )
)


# Long-running operation status (``{ns}/locations/operations|operationResults/{id}``) authorized at
# the subscription itself: the operation's record lives in another subscription (see
# ``arm.assembly._operation_scope``); its id is known only to whoever started it.
_OPERATION_READ_SUFFIXES = ("/locations/operations/read", "/locations/operationresults/read")


_MAX_REMEMBERED = 4_096  # decisions kept per snapshot (bounded memory under scans of many ids)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer:
    def __init__(self, index: AccessIndex) -> None:
        self.index = index

    def can_see_subscription(self, principal: Principal, subscription_id: str, subscription_tenant_id: str) -> bool:
        """The subscription shows in ``GET /subscriptions``: some role within it."""
        if principal.tenant_id != subscription_tenant_id:
            return False
        return _has_role_within(self.index.current().grants_for(principal.object_id), subscription_id.lower())

    def check(self, principal: Principal, action: str, scope: str, subscription_tenant_id: str) -> Decision:
        if principal.tenant_id != subscription_tenant_id:
            return Decision(False, "tenant")
        snapshot = self.index.current()
        remembered = (principal.object_id, action, scope)
        decision = snapshot.decisions.get(remembered)
        if decision is None:
            decision = self._decide(snapshot.grants_for(principal.object_id), action, scope)
            if len(snapshot.decisions) >= _MAX_REMEMBERED:
                snapshot.decisions.clear()  # start again: the requests being repeated now come back first
            snapshot.decisions[remembered] = decision
        return decision

    def _decide(self, grants: tuple[Grant, ...], action: str, scope: str) -> Decision:
        scope_key = scopes.key(scope)
        for grant in grants:
            if scopes.covers(grant.scope_key, scope_key) and grant.role.allows(action):
                return Decision(True, f"{grant.role.role_name} at {grant.scope_key}")
        subscription = scopes.subscription_of(scope_key)
        if subscription is not None and _has_role_within(grants, subscription):
            lowered = action.lower()
            if lowered in _SUBSCRIPTION_METADATA_READS:
                return Decision(True, "subscription metadata")
            if lowered in _FILTERED_COLLECTION_READS:
                return Decision(True, "a list filtered by what the caller may read")
            if lowered.endswith(_OPERATION_READ_SUFFIXES) and scope_key == f"/subscriptions/{subscription}":
                return Decision(True, "operation of a record in another subscription")
        return Decision(False, "no role assignment grants the action at this scope")


def _has_role_within(grants: tuple[Grant, ...], subscription_id: str) -> bool:
    return any(g.subscription_id == subscription_id or g.scope_key == scopes.ROOT for g in grants)
