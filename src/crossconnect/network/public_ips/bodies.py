"""The body of publicIPAddresses — only what an ExpressRoute gateway needs: Standard SKU, static
allocation, IPv4 — and the pool the addresses come from."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.bodies import LenientModel, LenientTrackedResourceBody
from crossconnect.arm.errors import BadRequest
from crossconnect.store import Store

PUBLIC_IP_TYPE = "microsoft.network/publicipaddresses"
# A documentation-only block (RFC 5737, TEST-NET-3) no other part of the fabric hands out: the
# addresses never collide with a real network a partner's lab might route.
POOL = ipaddress.IPv4Network("203.0.113.0/24")
# The pool's allocations: {address: public IP resource key}. Read, changed and written back under
# the store's lock on this value (``Store.update_meta``), so two replicas never hand out one
# address twice.
POOL_KEY = "network.publicIpPool"


class Sku(LenientModel):
    name: str | None = None
    tier: str | None = None


class PublicIpProperties(LenientModel):
    public_ip_allocation_method: str | None = Field(default=None, alias="publicIPAllocationMethod")
    public_ip_address_version: str | None = Field(default=None, alias="publicIPAddressVersion")
    idle_timeout_in_minutes: int | None = Field(default=None, alias="idleTimeoutInMinutes")
    ip_address: str | None = Field(default=None, alias="ipAddress")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class PublicIpBody(LenientTrackedResourceBody):
    sku: Sku | None = None
    zones: list[str] | None = None
    properties: PublicIpProperties = Field(default_factory=PublicIpProperties)


def check(model: PublicIpBody, existing: dict[str, Any] | None) -> tuple[dict[str, str], int]:
    """The SKU and idle timeout a PUT sets; Standard, static and IPv4 only."""
    sku_name = (model.sku.name if model.sku and model.sku.name else None) or (
        existing["body"]["sku"]["name"] if existing else "Standard"
    )
    if sku_name != "Standard":
        raise BadRequest(
            f"The public IP address SKU '{sku_name}' is not supported: Basic SKU public IP addresses are retired and "
            "ExpressRoute gateways need a Standard one.",
            "PublicIPSkuNotSupported",
            target="sku.name",
        )
    tier = model.sku.tier if model.sku and model.sku.tier else "Regional"
    if tier != "Regional":
        raise BadRequest(
            f"The public IP address SKU tier '{tier}' is not supported; use Regional.",
            "PublicIPSkuTierNotSupported",
            target="sku.tier",
        )
    p = model.properties
    method = p.public_ip_allocation_method or "Static"
    if method != "Static":
        raise BadRequest(
            f"Standard sku publicIp must have AllocationMethod set to Static (got '{method}').",
            "StandardSkuPublicIPAddressMustBeStatic",
            target="properties.publicIPAllocationMethod",
        )
    version = p.public_ip_address_version or "IPv4"
    if version != "IPv4":
        raise BadRequest(
            f"publicIPAddressVersion '{version}' is not supported; an ExpressRoute gateway needs an IPv4 address.",
            "PublicIPAddressVersionNotSupported",
            target="properties.publicIPAddressVersion",
        )
    timeout = p.idle_timeout_in_minutes
    if timeout is None:
        timeout = int(existing["body"]["properties"].get("idleTimeoutInMinutes", 4)) if existing else 4
    if not 4 <= timeout <= 30:
        raise BadRequest(
            f"The idle timeout of a public IP address is 4 to 30 minutes, not {timeout}.",
            "PublicIPIdleTimeoutIsOutOfRange",
            target="properties.idleTimeoutInMinutes",
        )
    if existing is not None and p.ip_address and p.ip_address != existing["body"]["properties"]["ipAddress"]:
        raise BadRequest(
            "ipAddress is assigned by Azure and cannot be changed.",
            "CannotChangePublicIPAddress",
            target="properties.ipAddress",
        )
    return {"name": "Standard", "tier": tier}, timeout


def allocate(store: Store, conn: Connection, resource_key: str) -> str:
    """The lowest free address of the pool, recorded as this resource's."""
    chosen: list[str] = []

    def take(current: Any) -> dict[str, Any]:
        used = dict((current or {}).get("used", {}))
        for host in POOL.hosts():
            if str(host) not in used:
                used[str(host)] = resource_key
                chosen.append(str(host))
                break
        return {"used": used}

    store.update_meta(POOL_KEY, take, conn)
    if not chosen:
        raise BadRequest(
            f"Every address of the public IP pool {POOL} is allocated; delete an unused public IP address.",
            "PublicIPAddressPoolExhausted",
        )
    return chosen[0]


def release(store: Store, conn: Connection, address: str, resource_key: str) -> None:
    def free(current: Any) -> dict[str, Any]:
        used = dict((current or {}).get("used", {}))
        if used.get(address) == resource_key:
            del used[address]
        return {"used": used}

    store.update_meta(POOL_KEY, free, conn)
