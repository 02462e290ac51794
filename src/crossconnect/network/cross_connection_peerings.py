"""Microsoft.Network/expressRouteCrossConnections/peerings: the partner's view of the peering
records stored under the customer's circuit (lastModifiedBy: ServiceProvider)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import Row, render_template
from crossconnect.network import peering_record
from crossconnect.network.circuit_peerings import PeeringRecordType
from crossconnect.network.common import NAMESPACE, internal, versions
from crossconnect.network.cross_connections import ExpressRouteCrossConnections


class CrossConnectionPeerings(PeeringRecordType):
    type_name = "Microsoft.Network/expressRouteCrossConnections/peerings"
    item_template = ExpressRouteCrossConnections.item_template + "/peerings/{peeringName}"
    list_templates = (ExpressRouteCrossConnections.item_template + "/peerings",)
    api_versions = versions("expressRouteCrossConnections/peerings", since="2018-02-01")
    namespace = NAMESPACE
    parent = ExpressRouteCrossConnections
    modified_by = "ServiceProvider"
    view = "crossConnection"

    def cross_connection(self, request: ArmRequest, conn: Connection | None = None) -> Row:
        xc_type = self.registry.get(ExpressRouteCrossConnections)
        row = xc_type.load(request, conn)  # None too when its circuit record is gone
        if row is None:
            raise xc_type.not_found(request)
        return row

    def circuit(self, request: ArmRequest, conn: Connection | None = None) -> Row:
        circuit = self.store.get_resource(internal(self.cross_connection(request, conn))["circuitKey"], conn)
        if circuit is None:
            raise self.registry.get(ExpressRouteCrossConnections).not_found(request)
        return circuit

    def key(self, request: ArmRequest) -> str:
        # The record lives under the circuit; the cross-connection path is only a view of it.
        xc = self.store.get_resource(render_template(ExpressRouteCrossConnections.item_template, request.params))
        if xc is None:
            return render_template(self.item_template, request.params).lower()
        return f"{internal(xc)['circuitKey']}/peerings/{request.params['peeringName'].lower()}"

    def parent_id(self, request: ArmRequest, circuit: Row) -> str:
        return str(self.cross_connection(request)["id"])

    def list_rows(self, request: ArmRequest, after: int, limit: int) -> list[Row]:
        circuit = self.circuit(request)
        return self.store.find_all(
            "resources", after_seq=after, limit=limit, parent_key=circuit["key"], type_key=peering_record.PEERING_TYPE
        )

    def check_scope(self, request: ArmRequest) -> None:
        self.registry.get(ExpressRouteCrossConnections).check_scope(request)
        self.cross_connection(request)

    def render(self, request: ArmRequest, row: Row) -> dict[str, Any]:
        return super().render(request, row)
