"""The single enforcement point for access control on ARM requests.

Today a principal may use exactly the subscriptions of its own tenant; role assignments and
role definitions (the access-control issue) plug in here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossconnect.identity.tokens import Principal


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer:
    def can_see_subscription(self, principal: Principal, subscription_tenant_id: str) -> bool:
        return principal.tenant_id == subscription_tenant_id

    def check(self, principal: Principal, action: str, scope: str, subscription_tenant_id: str) -> Decision:
        if principal.tenant_id != subscription_tenant_id:
            return Decision(False, "tenant")
        return Decision(True)
