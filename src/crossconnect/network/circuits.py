"""Microsoft.Network/expressRouteCircuits: the customer's view of a circuit.

Creating a circuit places it on a port pair, gives it a service key and an s-tag, and makes its
shadow cross connection appear in the provider's ExpressRoute management subscription (resource
group ``CrossConnection-<PeeringLocation>``, named by the service key). The cross connection is
a second view of this same record: see cross_connections.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from crossconnect.arm.bodies import ArmModel, TrackedResourceBody, parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.features import TEST_LOCATIONS, is_feature_registered
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.locations import LOCATION_NAMES
from crossconnect.arm.resource_groups import ensure_group, normalize_location
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.fabric import placement as fabric
from crossconnect.network import catalog, peering_record
from crossconnect.network.common import NAMES, NAMESPACE, internal, props, versions

SKU_TIERS = ("Standard", "Premium", "Basic", "Local")
SKU_FAMILIES = ("MeteredData", "UnlimitedData")
CIRCUIT_TYPE = "microsoft.network/expressroutecircuits"
XC_TYPE = "microsoft.network/expressroutecrossconnections"


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
            "serviceProviderProperties is required (serviceProviderName, peeringLocation, bandwidthInMbps); "
            "ExpressRoute Direct (expressRoutePort) circuits are not supported here.",
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


def cross_connection_group(peering_location: str) -> str:
    return "CrossConnection-" + peering_location.replace(" ", "")


class ExpressRouteCircuits(ResourceType):
    type_name = "Microsoft.Network/expressRouteCircuits"
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "expressRouteCircuits/{circuitName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "expressRouteCircuits",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRouteCircuits",
    )
    api_versions = versions("expressRouteCircuits")
    namespace = NAMESPACE
    name_rule = NAMES

    # -- rendering -------------------------------------------------------------------------
    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        body = row["body"]
        p = dict(body["properties"])
        children = self.store.find_all("resources", conn, parent_key=row["key"])
        peerings = [c for c in children if c["type_key"].endswith("/peerings")]
        authorizations = [c for c in children if c["type_key"].endswith("/authorizations")]
        from crossconnect.network.authorizations import render_authorization

        p["peerings"] = [peering_record.render(c, "circuit", row["id"], row) for c in peerings]
        p["authorizations"] = [render_authorization(c, row["id"]) for c in authorizations]
        p["stag"] = internal(row).get("placement", {}).get("sTag", 0)
        out: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "type": self.type_name,
            "etag": row["etag"],
            "location": body["location"],
        }
        if body.get("tags"):
            out["tags"] = body["tags"]
        out["properties"] = p
        out["sku"] = body["sku"]
        return out

    # -- writes ----------------------------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(CircuitBody, body, "ExpressRouteCircuit")
        store = request.services.store
        location = normalize_location(model.location or (existing["body"]["location"] if existing else ""))
        if not location:
            raise BadRequest("location is required.", "LocationRequired", target="location")
        if location not in LOCATION_NAMES:
            raise BadRequest(
                f"The location '{model.location}' is not a valid Azure region.", "InvalidLocation", target="location"
            )
        if existing is not None and location != existing["body"]["location"]:
            raise BadRequest(
                f"The location of a circuit cannot be changed (it is '{existing['body']['location']}').",
                "CannotChangeLocation",
                target="location",
            )
        if model.properties.express_route_port is not None:
            raise BadRequest(
                "ExpressRoute Direct circuits (expressRoutePort) are not supported; use serviceProviderProperties.",
                "ExpressRouteDirectNotSupported",
                target="properties.expressRoutePort",
            )
        sku = _sku(model.sku, existing)
        if (
            existing is not None
            and existing["body"]["sku"]["family"] == "UnlimitedData"
            and sku["family"] == "MeteredData"
        ):
            raise BadRequest(
                "The SKU family can change from MeteredData to UnlimitedData only, not back.",
                "CannotChangeSkuFamily",
                target="sku.family",
            )
        tags = validate_tags(
            model.tags if model.tags is not None else (existing["body"].get("tags") if existing else {})
        )
        provider, peering_location, bandwidth = _provider_properties(
            request, model.properties.service_provider_properties, existing, conn
        )
        p = model.properties
        if existing is None:
            try:
                place = fabric.place(store, conn, peering_location, provider.name, bandwidth)
            except fabric.CapacityExhausted as exc:
                raise BadRequest(exc.message, exc.code, target=exc.target) from None
            service_key = str(uuid.uuid4())
            placement = {
                "portPair": place.port_pair,
                "primaryAzurePort": place.primary_port,
                "secondaryAzurePort": place.secondary_port,
                "sTag": place.s_tag,
            }
            old_props: dict[str, Any] = {
                "serviceProviderProvisioningState": "NotProvisioned",
                "circuitProvisioningState": "Enabled",
                "serviceKey": service_key,
            }
            extra = self._shadow(request, conn, service_key, provider, peering_location, location)
            link = {"placement": placement, **extra}
        else:
            old_props = props(existing)
            link = internal(existing)
            old_bw = old_props["serviceProviderProperties"]["bandwidthInMbps"]
            if bandwidth != old_bw:
                try:
                    fabric.resize(store, conn, link["placement"], peering_location, provider.name, old_bw, bandwidth)
                except fabric.CapacityExhausted as exc:
                    raise BadRequest(exc.message, exc.code, target=exc.target) from None
        new_props = {
            "provisioningState": old_props.get("provisioningState", "Updating"),
            "serviceProviderProperties": {
                "serviceProviderName": provider.name,
                "peeringLocation": peering_location,
                "bandwidthInMbps": bandwidth,
            },
            "circuitProvisioningState": old_props["circuitProvisioningState"],
            "serviceProviderProvisioningState": old_props["serviceProviderProvisioningState"],
            "serviceKey": old_props["serviceKey"],
            "serviceProviderNotes": old_props.get("serviceProviderNotes", ""),
            "allowClassicOperations": p.allow_classic_operations
            if p.allow_classic_operations is not None
            else old_props.get("allowClassicOperations", False),
            "globalReachEnabled": p.global_reach_enabled
            if p.global_reach_enabled is not None
            else old_props.get("globalReachEnabled", False),
            "gatewayManagerEtag": old_props.get("gatewayManagerEtag", ""),
        }
        new_body = {"location": location, "tags": tags, "sku": sku, "properties": new_props, "internal": link}
        if existing is None:
            return Write(self.new_row(request, new_body), created=True, operation="put")
        self._touch_shadow(conn, link)
        return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put")

    def _shadow(
        self,
        request: ArmRequest,
        conn: Connection,
        service_key: str,
        provider: catalog.Provider,
        peering_location: str,
        location: str,
    ) -> dict[str, Any]:
        """Create the cross connection in the provider's management subscription."""
        subscription = provider.management_subscription_id
        if not subscription:
            return {}
        store = request.services.store
        group = cross_connection_group(peering_location)
        ensure_group(store, subscription, group, location, conn)
        xc_id = (
            f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/"
            f"expressRouteCrossConnections/{service_key}"
        )
        store.put_resource(
            {
                "key": xc_id.lower(),
                "id": xc_id,
                "type_key": XC_TYPE,
                "subscription_id": subscription.lower(),
                "group_key": group.lower(),
                "parent_key": "",
                "name": service_key,
                "body": {
                    "location": location,
                    "tags": {},
                    "properties": {"provisioningState": "Succeeded"},
                    "internal": {"circuitKey": self.key(request)},
                },
                "etag": new_etag(),
            },
            conn,
        )
        return {"crossConnectionKey": xc_id.lower()}

    def _touch_shadow(self, conn: Connection, link: dict[str, Any]) -> None:
        """The cross connection view changed too: give it a new ETag."""
        key = link.get("crossConnectionKey")
        row = self.store.get_resource(key, conn) if key else None
        if row is not None:
            self.store.put_resource({**row, "etag": new_etag()}, conn)

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        state = props(existing)["serviceProviderProvisioningState"]
        if state != "NotProvisioned":
            raise BadRequest(
                f"The circuit cannot be deleted while its serviceProviderProvisioningState is '{state}'. The "
                "connectivity provider must deprovision the circuit first (serviceProviderProvisioningState "
                "'NotProvisioned'); until then Microsoft keeps the resources reserved.",
                "CircuitDeleteRequiresProviderDeprovisioning",
                target="properties.serviceProviderProvisioningState",
            )
        return super().delete(request, existing, conn)

    def on_delete(self, row: Row, conn: Connection) -> None:
        link = internal(row)
        if link.get("placement"):
            fabric.release(
                self.store, conn, link["placement"], props(row)["serviceProviderProperties"]["bandwidthInMbps"]
            )
        if link.get("crossConnectionKey"):
            self.store.delete_resource_tree(link["crossConnectionKey"], conn)

    # -- stats -----------------------------------------------------------------------------
    def extra_endpoints(self) -> list[Endpoint]:
        async def stats(request: ArmRequest) -> ArmResponse:
            self.check_scope(request)
            if self.load(request) is None:
                raise self.not_found(request)
            from crossconnect.network import troubleshooting

            circuit = self.load(request)
            if circuit is None:
                raise self.not_found(request)
            return ArmResponse(200, troubleshooting.circuit_counters(self.store, circuit))

        return [
            Endpoint(
                "GET", self.item_template + "/stats", stats, self.api_versions, self.action("read"), self.namespace
            )
        ]
