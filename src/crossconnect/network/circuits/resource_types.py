"""Microsoft.Network/expressRouteCircuits: the customer's view of a circuit.

Creating a circuit places it on a port pair, gives it a service key and an s-tag, and makes its
shadow cross connection appear in the provider's ExpressRoute management subscription (resource
group ``CrossConnection-<PeeringLocation>``, named by the service key). The cross connection is
a second view of this same record: see cross_connections.py. A circuit on an ExpressRoute Direct
port (``expressRoutePort`` + ``bandwidthInGbps``) has no provider and no cross connection; its
placement is the port's pair (network/direct/circuits.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, render_template, validate_tags
from crossconnect.fabric import placement as fabric
from crossconnect.network.authorizations import AuthorizationType
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.circuits.bodies import (
    AuthorizationBody,
    CircuitBody,
    _provider_properties,
    _sku,
    render_authorization,
)
from crossconnect.network.common import (
    NAMES,
    NAMESPACE,
    cross_connection_group,
    fixed_location,
    internal,
    props,
    render_tracked,
    versions,
)
from crossconnect.network.direct import circuits as direct_circuits
from crossconnect.network.lab import troubleshooting
from crossconnect.network.peerings import connections as global_reach
from crossconnect.network.peerings import record as peering_record
from crossconnect.network.peerings.resource_types import PeeringRecordType
from crossconnect.resources.resource_groups import ensure_group

CIRCUIT_TYPE = "microsoft.network/expressroutecircuits"


XC_TYPE = "microsoft.network/expressroutecrossconnections"


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
        p["peerings"] = [
            peering_record.render(c, "circuit", row["id"], row, global_reach.embedded(self.store, c["key"], conn))
            for c in peerings
        ]
        p["authorizations"] = [render_authorization(c, row["id"]) for c in authorizations]
        p["stag"] = internal(row).get("placement", {}).get("sTag", 0)
        out = render_tracked(row, self.type_name, p)
        out["sku"] = body["sku"]  # after properties, as Azure shows a circuit
        return out

    # -- writes ----------------------------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(CircuitBody, body, "ExpressRouteCircuit")
        store = request.services.store
        location = fixed_location(model.location, existing, "a circuit")
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
        if model.properties.express_route_port is not None or (
            existing is not None and direct_circuits.is_direct(existing)
        ):
            return self._write_direct(request, model, existing, conn, {"location": location, "tags": tags, "sku": sku})
        provider, peering_location, bandwidth = _provider_properties(
            request, model.properties.service_provider_properties, existing, conn
        )
        p = model.properties
        if existing is None:
            try:
                place = fabric.place(store, conn, peering_location, provider.name, bandwidth)
            except fabric.CapacityExhausted as exc:
                raise BadRequest(exc.message, exc.code, target=exc.target) from None
            service_key = entropy.guid(entropy.SERVICE_KEYS)
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

    def _write_direct(
        self, request: ArmRequest, model: CircuitBody, existing: Row | None, conn: Connection, envelope: dict[str, Any]
    ) -> Write:
        """A circuit on an ExpressRoute Direct port (network/direct/circuits.py): no provider, no
        cross connection."""
        p = model.properties
        if existing is not None and not direct_circuits.is_direct(existing):
            raise BadRequest(
                "A circuit from a service provider cannot be moved onto an ExpressRoute port; create a new circuit.",
                "CannotChangeExpressRoutePort",
                target="properties.expressRoutePort",
            )
        spp = p.service_provider_properties
        if spp is not None and any(v is not None for v in spp.model_dump().values()):
            raise BadRequest(
                "A circuit on an ExpressRoute port has no service provider: send expressRoutePort and bandwidthInGbps, "
                "not serviceProviderProperties.",
                "ServiceProviderPropertiesNotAllowed",
                target="properties.serviceProviderProperties",
            )
        if envelope["sku"]["tier"] == "Basic":
            raise BadRequest(
                "sku.tier 'Basic' is not offered on ExpressRoute Direct; use Standard, Premium or Local.",
                "InvalidSkuTier",
                target="sku.tier",
            )
        circuit_id = render_template(self.item_template, request.params)
        direct_props, link = direct_circuits.write(request, conn, p, existing, circuit_id)
        old_props: dict[str, Any] = (
            props(existing)
            if existing is not None
            else {
                "circuitProvisioningState": "Enabled",
                "serviceProviderProvisioningState": "Provisioned",
                "serviceKey": entropy.guid(entropy.SERVICE_KEYS),
            }
        )
        new_props = {
            "provisioningState": old_props.get("provisioningState", "Updating"),
            **direct_props,
            "circuitProvisioningState": old_props["circuitProvisioningState"],
            "serviceProviderProvisioningState": old_props["serviceProviderProvisioningState"],
            "serviceKey": old_props["serviceKey"],
            "allowClassicOperations": p.allow_classic_operations
            if p.allow_classic_operations is not None
            else old_props.get("allowClassicOperations", False),
            "globalReachEnabled": p.global_reach_enabled
            if p.global_reach_enabled is not None
            else old_props.get("globalReachEnabled", False),
            "gatewayManagerEtag": old_props.get("gatewayManagerEtag", ""),
        }
        new_body = {**envelope, "properties": new_props, "internal": link}
        if existing is None:
            return Write(self.new_row(request, new_body), created=True, operation="put")
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
        # a circuit on an ExpressRoute port has no provider that must deprovision it first
        if state != "NotProvisioned" and not direct_circuits.is_direct(existing):
            raise BadRequest(
                f"The circuit cannot be deleted while its serviceProviderProvisioningState is '{state}'. The "
                "connectivity provider must deprovision the circuit first (serviceProviderProvisioningState "
                "'NotProvisioned'); until then Microsoft keeps the resources reserved.",
                "CircuitDeleteRequiresProviderDeprovisioning",
                target="properties.serviceProviderProvisioningState",
            )
        for peering in self.store.find_all(
            "resources", conn, parent_key=existing["key"], type_key=peering_record.PEERING_TYPE
        ):
            linked = global_reach.all_connections(self.store, peering["key"], conn)
            if linked:
                raise BadRequest(
                    f"The circuit cannot be deleted while Global Reach connections (expressRouteCircuitConnections) "
                    f"use its {peering['name']}: {', '.join(sorted(r['id'] for r in linked))}. Delete those "
                    "connections first.",
                    "CircuitInUseByGlobalReachConnections",
                    target="peerings",
                )
        return super().delete(request, existing, conn)

    def on_delete(self, row: Row, conn: Connection) -> None:
        link = internal(row)
        if direct_circuits.is_direct(row):
            direct_circuits.release(self.store, conn, row)
        elif link.get("placement"):
            fabric.release(
                self.store, conn, link["placement"], props(row)["serviceProviderProperties"]["bandwidthInMbps"]
            )
        if link.get("crossConnectionKey"):
            self.store.delete_resource_tree(link["crossConnectionKey"], conn)

    # -- stats -----------------------------------------------------------------------------
    def extra_endpoints(self) -> list[Endpoint]:
        async def stats(request: ArmRequest) -> ArmResponse:
            circuit = self.load_existing(request)
            return ArmResponse(200, troubleshooting.circuit_counters(self.store, circuit))

        return [
            Endpoint(
                "GET", self.item_template + "/stats", stats, self.api_versions, self.action("read"), self.namespace
            )
        ]


class CircuitAuthorizations(AuthorizationType):
    type_name = "Microsoft.Network/expressRouteCircuits/authorizations"
    item_template = ExpressRouteCircuits.item_template + "/authorizations/{authorizationName}"
    list_templates = (ExpressRouteCircuits.item_template + "/authorizations",)
    api_versions = versions("expressRouteCircuits/authorizations")
    namespace = NAMESPACE
    parent = ExpressRouteCircuits
    name_rule = NAMES
    body_model = AuthorizationBody
    body_label = "ExpressRouteCircuitAuthorization"

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        circuit_id = row["id"].rsplit("/authorizations/", 1)[0]
        return render_authorization(row, circuit_id)


class CircuitPeerings(PeeringRecordType):
    type_name = "Microsoft.Network/expressRouteCircuits/peerings"
    item_template = ExpressRouteCircuits.item_template + "/peerings/{peeringName}"
    list_templates = (ExpressRouteCircuits.item_template + "/peerings",)
    api_versions = versions("expressRouteCircuits/peerings")
    namespace = NAMESPACE
    name_rule = NAMES
    parent = ExpressRouteCircuits

    def circuit(self, request: ArmRequest, conn: Connection | None = None) -> Row:
        circuit = self.store.get_resource(self.parent_key(request), conn)
        if circuit is None:
            raise self.registry.get(ExpressRouteCircuits).not_found(request)
        return circuit
