"""The bodies of expressRouteCircuits and their authorizations: what a PUT may send (Pydantic
models), the rules that check it, and how an authorization is rendered."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.bodies import ArmModel, ChildResourceBody, TrackedResourceBody
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import Row, new_etag
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.common import props
from crossconnect.resources.features import TEST_LOCATIONS, is_feature_registered

SKU_TIERS = ("Standard", "Premium", "Basic", "Local")


SKU_FAMILIES = ("MeteredData", "UnlimitedData")


class Sku(ArmModel):
    name: str | None = None
    tier: str | None = None
    family: str | None = None


class ServiceProviderProperties(ArmModel):
    service_provider_name: str | None = Field(default=None, alias="serviceProviderName")
    peering_location: str | None = Field(default=None, alias="peeringLocation")
    bandwidth_in_mbps: int | None = Field(default=None, alias="bandwidthInMbps")


class CircuitProperties(ArmModel):
    allow_classic_operations: bool | None = Field(default=None, alias="allowClassicOperations")
    circuit_provisioning_state: str | None = Field(default=None, alias="circuitProvisioningState")
    service_provider_provisioning_state: str | None = Field(default=None, alias="serviceProviderProvisioningState")
    authorizations: list[Any] | None = None
    peerings: list[Any] | None = None
    service_key: str | None = Field(default=None, alias="serviceKey")
    service_provider_notes: str | None = Field(default=None, alias="serviceProviderNotes")
    service_provider_properties: ServiceProviderProperties | None = Field(
        default=None, alias="serviceProviderProperties"
    )
    express_route_port: dict[str, Any] | None = Field(default=None, alias="expressRoutePort")
    bandwidth_in_gbps: float | None = Field(default=None, alias="bandwidthInGbps")
    stag: int | None = None
    provisioning_state: str | None = Field(default=None, alias="provisioningState")
    gateway_manager_etag: str | None = Field(default=None, alias="gatewayManagerEtag")
    global_reach_enabled: bool | None = Field(default=None, alias="globalReachEnabled")
    authorization_key: str | None = Field(default=None, alias="authorizationKey")
    authorization_status: str | None = Field(default=None, alias="authorizationStatus")
    enable_direct_port_rate_limit: bool | None = Field(default=None, alias="enableDirectPortRateLimit")


class CircuitBody(TrackedResourceBody):
    sku: Sku | None = None
    properties: CircuitProperties = Field(default_factory=CircuitProperties)


def _sku(sku: Sku | None, existing: dict[str, Any] | None) -> dict[str, str]:
    if sku is None:
        if existing is not None:
            return dict(existing["body"]["sku"])
        raise BadRequest("sku is required (name, tier and family).", "MissingSku", target="sku")
    tier, family = sku.tier, sku.family
    if sku.name and (tier is None or family is None) and "_" in sku.name:
        tier, family = tier or sku.name.split("_", 1)[0], family or sku.name.split("_", 1)[1]
    if tier not in SKU_TIERS:
        raise BadRequest(
            f"sku.tier '{tier}' is invalid; use one of {', '.join(SKU_TIERS)}.", "InvalidSkuTier", target="sku.tier"
        )
    if family not in SKU_FAMILIES:
        raise BadRequest(
            f"sku.family '{family}' is invalid; use one of {', '.join(SKU_FAMILIES)}.",
            "InvalidSkuFamily",
            target="sku.family",
        )
    expected = f"{tier}_{family}"
    if sku.name is not None and sku.name != expected:
        raise BadRequest(
            f"sku.name '{sku.name}' does not match sku.tier '{tier}' and sku.family '{family}'; it must be "
            f"'{expected}'.",
            "InvalidSkuName",
            target="sku.name",
        )
    return {"name": expected, "tier": tier, "family": family}


def _provider_properties(
    request: ArmRequest, spp: ServiceProviderProperties | None, existing: dict[str, Any] | None, conn: Connection
) -> tuple[catalog.Provider, str, int]:
    store = request.services.store
    old = props(existing)["serviceProviderProperties"] if existing else {}
    name = (
        spp.service_provider_name if spp and spp.service_provider_name is not None else old.get("serviceProviderName")
    )
    location = spp.peering_location if spp and spp.peering_location is not None else old.get("peeringLocation")
    bandwidth = spp.bandwidth_in_mbps if spp and spp.bandwidth_in_mbps is not None else old.get("bandwidthInMbps")
    field = "properties.serviceProviderProperties"
    if spp is None and existing is None:
        raise BadRequest(
            "serviceProviderProperties is required (serviceProviderName, peeringLocation, bandwidthInMbps), or, for a "
            "circuit on an ExpressRoute Direct port, expressRoutePort and bandwidthInGbps.",
            "MissingServiceProviderProperties",
            target=field,
        )
    if not name:
        raise BadRequest(
            "serviceProviderName is required.", "MissingServiceProviderName", target=f"{field}.serviceProviderName"
        )
    if not location:
        raise BadRequest("peeringLocation is required.", "MissingPeeringLocation", target=f"{field}.peeringLocation")
    if bandwidth is None:
        raise BadRequest("bandwidthInMbps is required.", "MissingBandwidth", target=f"{field}.bandwidthInMbps")
    if existing is not None:
        if name != old["serviceProviderName"]:
            raise BadRequest(
                f"The service provider of a circuit cannot be changed (it is '{old['serviceProviderName']}'). "
                "Create a new circuit instead.",
                "CannotChangeServiceProvider",
                target=f"{field}.serviceProviderName",
            )
        if location != old["peeringLocation"]:
            raise BadRequest(
                f"The peering location of a circuit cannot be changed (it is '{old['peeringLocation']}'). "
                "Create a new circuit instead.",
                "CannotChangePeeringLocation",
                target=f"{field}.peeringLocation",
            )
    show_test = is_feature_registered(store, request.subscription_id, TEST_LOCATIONS)
    provider = catalog.find_provider(store, name, conn)
    if provider is None or (provider.test and not show_test):
        raise BadRequest(
            f"The service provider '{name}' is not available. The name must match a provider returned by "
            "expressRouteServiceProviders exactly.",
            "InvalidServiceProviderName",
            target=f"{field}.serviceProviderName",
        )
    if provider.find_location(location) is None:
        raise BadRequest(
            f"The peering location '{location}' is not offered by '{provider.name}'. Offered locations: "
            f"{', '.join(provider.peering_locations)}.",
            "InvalidPeeringLocation",
            target=f"{field}.peeringLocation",
        )
    if bandwidth not in provider.bandwidths:
        raise BadRequest(
            f"The bandwidth {bandwidth} Mbps is not offered by '{provider.name}'. Offered bandwidths (Mbps): "
            f"{', '.join(str(b) for b in provider.bandwidths)}.",
            "InvalidBandwidth",
            target=f"{field}.bandwidthInMbps",
        )
    if existing is not None and bandwidth < old["bandwidthInMbps"]:
        raise BadRequest(
            f"The bandwidth of a circuit can only be increased (from {old['bandwidthInMbps']} Mbps); to lower it, "
            "create a new circuit.",
            "CannotDecreaseBandwidth",
            target=f"{field}.bandwidthInMbps",
        )
    return provider, location, bandwidth


class AuthorizationProperties(ArmModel):
    authorization_key: str | None = Field(default=None, alias="authorizationKey")
    authorization_use_status: str | None = Field(default=None, alias="authorizationUseStatus")
    connection_resource_uri: str | None = Field(default=None, alias="connectionResourceUri")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class AuthorizationBody(ChildResourceBody):
    properties: AuthorizationProperties = Field(default_factory=AuthorizationProperties)


# authorizationUseStatus of a redeemed authorization: Azure's "InUse" (its enum is Available, InUse).
# Databases written before this was fixed hold "Used"; it means the same and renders as "InUse".
REDEEMED = ("InUse", "Used")


def render_authorization(row: Row, circuit_id: str) -> dict[str, Any]:
    p = row["body"]["properties"]
    use_status = p.get("authorizationUseStatus", "Available")
    return {
        "name": row["name"],
        "id": f"{circuit_id}/authorizations/{row['name']}",
        "etag": row["etag"],
        "type": "Microsoft.Network/expressRouteCircuits/authorizations",
        "properties": {
            "authorizationKey": p["authorizationKey"],
            "authorizationUseStatus": "InUse" if use_status in REDEEMED else use_status,
            "provisioningState": p.get("provisioningState", "Succeeded"),
        },
    }


AUTHORIZATION_TYPE = "microsoft.network/expressroutecircuits/authorizations"


def redeem_authorization(store: Any, conn: Connection, circuit: Row, key: str, target: str) -> Row:
    """The authorization of ``circuit`` whose key is ``key``, marked InUse (the caller stores it in
    its own write): how a connection from another subscription (Global Reach, a virtual network
    gateway's connection) is allowed to use the circuit. An unknown key or one already redeemed is
    refused, naming ``target``."""
    auth = next(
        (
            a
            for a in store.find_all("resources", conn, parent_key=circuit["key"], type_key=AUTHORIZATION_TYPE)
            if a["body"]["properties"].get("authorizationKey") == key
        ),
        None,
    )
    if auth is not None:
        # its own writes lock only the authorization (a leaf): take it, then read it again
        store.lock(conn, auth["key"])
        auth = store.get_resource(auth["key"], conn)
    if auth is None:
        raise BadRequest(
            f"The authorizationKey is not an authorization of the circuit '{circuit['name']}'.",
            "InvalidAuthorizationKey",
            target=target,
        )
    if auth["body"]["properties"].get("authorizationUseStatus") in REDEEMED:
        raise BadRequest(
            f"The authorization '{auth['name']}' of the circuit '{circuit['name']}' has already been redeemed "
            "(authorizationUseStatus InUse); create a new authorization.",
            "AuthorizationKeyAlreadyUsed",
            target=target,
        )
    auth_props = {**auth["body"]["properties"], "authorizationUseStatus": "InUse"}
    return {**auth, "body": {**auth["body"], "properties": auth_props}, "etag": new_etag()}


def release_authorization(store: Any, conn: Connection, authorization_key: str) -> None:
    """A redeemed authorization is Available again once the connection that used it is deleted."""
    auth = store.get_resource(authorization_key, conn) if authorization_key else None
    if auth is not None:
        auth_props = {**auth["body"]["properties"], "authorizationUseStatus": "Available"}
        store.put_resource({**auth, "body": {**auth["body"], "properties": auth_props}, "etag": new_etag()}, conn)
