"""``GET .../providers/Microsoft.Network/bgpServiceCommunities``: the BGP communities Microsoft
tags its Microsoft-peering routes with — the service communities (Exchange 12076:5010 ...) and
one regional community per Azure region (12076:510xx) — with sample prefixes for each.

Route-filter rules may only name these values. Communities marked ``requiresAuthorization``
(the Office 365 services) may only be used by subscriptions the operator has authorized
(``POST /_crossconnect/route-filter-authorizations``); ``isAuthorizedToUse`` tells each
subscription where it stands.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from crossconnect.store import Store

_DATA = Path(__file__).parent / "data" / "bgp_communities.json"


_AUTHORIZED = "routeFilters.authorizedSubscriptions"  # meta key: subscriptions cleared for Office 365 communities


_FORMAT = re.compile(r"^(\d{1,10}):(\d{1,10})$")


@dataclass(frozen=True)
class Community:
    service_name: str  # the bgpServiceCommunities item it belongs to, e.g. "Exchange"
    name: str  # e.g. "Exchange Online"
    value: str  # e.g. "12076:5010"
    region: str  # serviceSupportedRegion: "Global" or a region's display name
    group: str  # serviceGroup: "O365", "Azure", ...
    prefixes: tuple[str, ...]
    requires_authorization: bool


@cache
def service_groups() -> tuple[tuple[str, tuple[Community, ...]], ...]:
    data = json.loads(_DATA.read_text())
    out = []
    for service in data["services"]:
        communities = tuple(
            Community(
                service_name=service["name"],
                name=c["communityName"],
                value=c["communityValue"],
                region=c["serviceSupportedRegion"],
                group=c["serviceGroup"],
                prefixes=tuple(c["communityPrefixes"]),
                requires_authorization=bool(c.get("requiresAuthorization", False)),
            )
            for c in service["bgpCommunities"]
        )
        out.append((service["name"], communities))
    return tuple(out)


@cache
def _by_value() -> dict[str, Community]:
    return {c.value: c for _, communities in service_groups() for c in communities}


def communities() -> list[Community]:
    return list(_by_value().values())


def find(value: str) -> Community | None:
    return _by_value().get(value)


def is_well_formed(value: str) -> bool:
    """``<asn>:<value>``, both 16-bit numbers (a standard BGP community)."""
    match = _FORMAT.match(value)
    return match is not None and all(int(part) <= 65535 for part in match.groups())


def authorized_subscriptions(store: Store, conn: Connection | None = None) -> list[str]:
    return list(store.get_meta(_AUTHORIZED, conn) or [])


def is_authorized(store: Store, subscription_id: str, conn: Connection | None = None) -> bool:
    return subscription_id.lower() in authorized_subscriptions(store, conn)


def set_authorized(store: Store, subscription_id: str, authorized: bool, conn: Connection | None = None) -> bool:
    """Authorize (or revoke) a subscription; returns whether anything changed."""
    sub = subscription_id.lower()
    before: list[list[str]] = []

    def toggle(stored: list[str] | None) -> list[str]:
        current = list(stored or [])
        before.append(current)
        if authorized == (sub in current):
            return current
        return [*current, sub] if authorized else [s for s in current if s != sub]

    after = store.update_meta(_AUTHORIZED, toggle, conn)  # one step: concurrent changes all stay
    return after != before[0]


def may_use(store: Store, community: Community, subscription_id: str, conn: Connection | None = None) -> bool:
    return not community.requires_authorization or is_authorized(store, subscription_id, conn)


def render(subscription_id: str, service_name: str, items: tuple[Community, ...], authorized: bool) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}/providers/Microsoft.Network/bgpServiceCommunities/{service_name}",
        "name": service_name,
        "type": "Microsoft.Network/bgpServiceCommunities",
        "properties": {
            "serviceName": service_name,
            "bgpCommunities": [
                {
                    "serviceSupportedRegion": c.region,
                    "communityName": c.name,
                    "communityValue": c.value,
                    "communityPrefixes": list(c.prefixes),
                    "isAuthorizedToUse": authorized or not c.requires_authorization,
                    "serviceGroup": c.group,
                }
                for c in items
            ],
        },
    }
