"""Microsoft.Network/expressRoutePorts (ExpressRoute Direct) and their authorizations.

A port reserves one Direct port pair of its bandwidth at its peering location (fabric/
direct_ports.py) for as long as it exists; its two links are that pair's ports, ``link1`` on the
primary MSEE and ``link2`` on the secondary. Links are read through ``…/links`` and changed by a
PUT of the port (``adminState``, ``macSecConfig``), as Azure does. Circuits created on the port
(network/direct/circuits.py) count their bandwidth against it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import clock, entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest, NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, render_template, validate_tags
from crossconnect.fabric import direct_ports
from crossconnect.network.authorizations import AuthorizationType
from crossconnect.network.common import NAMES, NAMESPACE, fixed_location, internal, props, render_tracked, versions
from crossconnect.network.direct import loa
from crossconnect.network.direct.bodies import (
    BILLING_TYPES,
    ENCAPSULATIONS,
    ETHER_TYPES,
    LINK_NAMES,
    MTU,
    PortAuthorizationBody,
    PortBody,
    check_identity,
    merged_links,
    render_authorization,
    render_link,
)
from crossconnect.network.direct.locations import find_location

VERSIONS = versions("expressRoutePorts", since="2018-08-01")


def _required(value: Any, name: str, code: str) -> None:
    if value is None:
        raise BadRequest(f"properties.{name} is required.", code, target=f"properties.{name}")


class ExpressRoutePorts(ResourceType):
    type_name = "Microsoft.Network/expressRoutePorts"
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "expressRoutePorts/{expressRoutePortName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "expressRoutePorts",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRoutePorts",
    )
    api_versions = VERSIONS
    namespace = NAMESPACE
    name_rule = NAMES

    # -- rendering -------------------------------------------------------------------------
    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        body = row["body"]
        link = internal(row)
        used = direct_ports.usage(self.store, link["portPair"], conn)
        p = dict(body["properties"])
        p["provisionedBandwidthInGbps"] = float(used["usedGbps"])
        p["mtu"] = MTU
        p["etherType"] = ETHER_TYPES[p["encapsulation"]]
        p["links"] = [render_link(row, name) for name in LINK_NAMES]
        p["circuits"] = [{"id": circuit_id} for circuit_id in used["circuits"]]
        return render_tracked(row, self.type_name, p)

    # -- writes ----------------------------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(PortBody, body, "ExpressRoutePort")
        check_identity(model.identity)
        location = fixed_location(model.location, existing, "an ExpressRoute port")
        old = props(existing) if existing else {}
        p = model.properties
        peering_location = p.peering_location if p.peering_location is not None else old.get("peeringLocation")
        bandwidth = p.bandwidth_in_gbps if p.bandwidth_in_gbps is not None else old.get("bandwidthInGbps")
        encapsulation = p.encapsulation if p.encapsulation is not None else old.get("encapsulation")
        billing = p.billing_type if p.billing_type is not None else old.get("billingType", "MeteredData")
        _required(peering_location, "peeringLocation", "MissingPeeringLocation")
        _required(bandwidth, "bandwidthInGbps", "MissingBandwidth")
        _required(encapsulation, "encapsulation", "MissingEncapsulation")
        if encapsulation not in ENCAPSULATIONS:
            raise BadRequest(
                f"The encapsulation '{encapsulation}' is invalid; use Dot1Q or QinQ.",
                "InvalidEncapsulation",
                target="properties.encapsulation",
            )
        if billing not in BILLING_TYPES:
            raise BadRequest(
                f"The billing type '{billing}' is invalid; use MeteredData or UnlimitedData.",
                "InvalidBillingType",
                target="properties.billingType",
            )
        offered = sorted(direct_ports.STOCK)
        if bandwidth not in offered:
            raise BadRequest(
                f"The port bandwidth {bandwidth} Gbps is not offered; ExpressRoute Direct ports are "
                f"{' or '.join(str(b) for b in offered)} Gbps.",
                "InvalidBandwidth",
                target="properties.bandwidthInGbps",
            )
        assert isinstance(peering_location, str)
        if existing is not None:
            self._check_update(old, peering_location, bandwidth, encapsulation, billing)
            exact_location = old["peeringLocation"]
        else:
            found = find_location(self.store, request.subscription_id, peering_location)
            if found is None:
                raise BadRequest(
                    f"The peering location '{peering_location}' is not an ExpressRoute Direct location "
                    "(expressRoutePortsLocations lists them).",
                    "InvalidPeeringLocation",
                    target="properties.peeringLocation",
                )
            exact_location = found
        links = merged_links(p, existing["body"]["links"] if existing else {})
        tags = validate_tags(
            model.tags if model.tags is not None else (existing["body"].get("tags") if existing else {})
        )
        if existing is None:
            try:
                pair = direct_ports.allocate(
                    self.store,
                    conn,
                    exact_location,
                    int(bandwidth),
                    render_template(self.item_template, request.params),
                )
            except direct_ports.OutOfStock as exc:
                raise BadRequest(
                    exc.message, "ExpressRoutePortsLocationOutOfStock", target="properties.peeringLocation"
                ) from None
            link_internal = {"portPair": pair.descriptor, "peeringLocation": exact_location}
            now = clock.utcnow()
            # Azure's format: "Friday, July 1, 2018"
            created = {"resourceGuid": entropy.guid(), "allocationDate": f"{now:%A, %B} {now.day}, {now.year}"}
        else:
            link_internal = internal(existing)
            created = {"resourceGuid": old["resourceGuid"], "allocationDate": old["allocationDate"]}
        new_props = {
            "provisioningState": old.get("provisioningState", "Updating"),
            "peeringLocation": exact_location,
            "bandwidthInGbps": bandwidth,
            "encapsulation": encapsulation,
            "billingType": billing,
            **created,
        }
        new_body = {
            "location": location,
            "tags": tags,
            "properties": new_props,
            "links": links,
            "internal": link_internal,
        }
        if existing is None:
            return Write(self.new_row(request, new_body), created=True, operation="put")
        return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put")

    @staticmethod
    def _check_update(
        old: dict[str, Any], peering_location: str, bandwidth: int, encapsulation: str, billing: str
    ) -> None:
        if peering_location.replace(" ", "").lower() != old["peeringLocation"].replace(" ", "").lower():
            raise BadRequest(
                f"The peering location of an ExpressRoute port cannot be changed (it is '{old['peeringLocation']}').",
                "CannotChangePeeringLocation",
                target="properties.peeringLocation",
            )
        if bandwidth != old["bandwidthInGbps"]:
            raise BadRequest(
                f"The bandwidth of an ExpressRoute port cannot be changed (it is {old['bandwidthInGbps']} Gbps); "
                "order a new port.",
                "CannotChangeBandwidth",
                target="properties.bandwidthInGbps",
            )
        if old["billingType"] == "UnlimitedData" and billing == "MeteredData":
            raise BadRequest(
                "The billing type can change from MeteredData to UnlimitedData only, not back.",
                "CannotChangeBillingType",
                target="properties.billingType",
            )
        if encapsulation != old["encapsulation"]:
            raise BadRequest(
                f"The encapsulation of an ExpressRoute port cannot be changed (it is '{old['encapsulation']}'): "
                "its circuits' tags depend on it.",
                "CannotChangeEncapsulation",
                target="properties.encapsulation",
            )

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        used = direct_ports.usage(self.store, internal(existing)["portPair"], conn, for_update=True)
        if used["circuits"]:
            raise BadRequest(
                "The ExpressRoute port cannot be deleted while circuits are provisioned on it: "
                f"{', '.join(used['circuits'])}. Delete those circuits first.",
                "ExpressRoutePortInUseByCircuits",
                target="properties.circuits",
            )
        return super().delete(request, existing, conn)

    def on_delete(self, row: Row, conn: Connection) -> None:
        link = internal(row)
        direct_ports.free(self.store, conn, link["peeringLocation"], link["portPair"])

    # -- links and the letter of authorization --------------------------------------------------
    def extra_endpoints(self) -> list[Endpoint]:
        async def list_links(request: ArmRequest) -> ArmResponse:
            port = self.load_existing(request)
            return page_static(request, [render_link(port, name) for name in LINK_NAMES])

        async def get_link(request: ArmRequest) -> ArmResponse:
            port = self.load_existing(request)
            name = request.params["linkName"]
            if name.lower() not in LINK_NAMES:
                raise NotFound(
                    f"The ExpressRoute link '{name}' of port '{port['name']}' was not found; a port has the links "
                    f"{' and '.join(LINK_NAMES)}.",
                    "NotFound",
                )
            return ArmResponse(200, render_link(port, name.lower()))

        async def generate_loa(request: ArmRequest) -> ArmResponse:
            port = self.load_existing(request)
            return loa.generate(request, port, self.render(request, port))

        links_read = "Microsoft.Network/expressRoutePorts/links/read"
        return [
            Endpoint("GET", self.item_template + "/links", list_links, self.api_versions, links_read, self.namespace),
            Endpoint(
                "GET", self.item_template + "/links/{linkName}", get_link, self.api_versions, links_read, self.namespace
            ),
            Endpoint(
                "POST",
                self.item_template + "/generateLoa",
                generate_loa,
                self.api_versions,
                "Microsoft.Network/expressRoutePorts/generateloa/action",
                self.namespace,
            ),
        ]


class ExpressRoutePortAuthorizations(AuthorizationType):
    type_name = "Microsoft.Network/expressRoutePorts/authorizations"
    item_template = ExpressRoutePorts.item_template + "/authorizations/{authorizationName}"
    list_templates = (ExpressRoutePorts.item_template + "/authorizations",)
    api_versions = versions("expressRoutePorts/authorizations", since="2021-08-01")
    namespace = NAMESPACE
    parent = ExpressRoutePorts
    name_rule = NAMES
    body_model = PortAuthorizationBody
    body_label = "ExpressRoutePortAuthorization"

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        return render_authorization(row)

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        p = props(existing)
        if p.get("authorizationUseStatus") == "InUse":
            raise BadRequest(
                f"The authorization '{existing['name']}' is in use by the circuit {p.get('circuitResourceUri')}; "
                "delete that circuit first.",
                "ExpressRoutePortAuthorizationInUse",
                target="properties.authorizationUseStatus",
            )
        return super().delete(request, existing, conn)
