"""The resource-type strategy both peering views share (``PeeringRecordType``): load, validate and
write the one record, complete its operations (programming the fabric), stats and troubleshooting.
The two views are ``circuits.resource_types.CircuitPeerings`` and
``cross_connections.resource_types.CrossConnectionPeerings``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import clock
from crossconnect.arm.errors import ArmError, BadRequest
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag
from crossconnect.network.direct import circuits as direct_circuits
from crossconnect.network.lab import netns_wire, troubleshooting
from crossconnect.network.peerings import bodies as peering_rules
from crossconnect.network.peerings import connections as global_reach
from crossconnect.network.peerings import record as peering_record
from crossconnect.network.route_filters import attachment as filter_attachment


class PeeringRecordType(ResourceType):
    """Shared behaviour of both peering views: the write, the operation, the rendering."""

    modified_by = "Customer"
    view: peering_record.View = "circuit"

    def circuit(self, request: ArmRequest, conn: Connection | None = None) -> Row:
        raise NotImplementedError

    # A peering is checked against its circuit's other peerings (one VLAN each) and shares the
    # circuit record with both views: its writes and operations lock the circuit as well.
    def lock_keys(self, request: ArmRequest) -> list[str]:
        key = self.key(request)
        return [key, _circuit_key(key)]

    def operation_lock_keys(self, op: Row) -> list[str]:
        return [op["resource_key"], _circuit_key(op["resource_key"])]

    def parent_id(self, request: ArmRequest, circuit: Row, conn: Connection | None = None) -> str:
        return str(circuit["id"])

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        circuit = self.store.get_resource(row["parent_key"], conn)
        parent_id = (
            self.parent_id(request, circuit, conn) if circuit is not None else row["id"].rsplit("/peerings/", 1)[0]
        )
        links = global_reach.embedded(self.store, row["key"], conn) if self.view == "circuit" else None
        return peering_record.render(row, self.view, parent_id, circuit, links)

    def operation_location(self, row: Row) -> str:
        circuit = self.store.get_resource(row["parent_key"])
        return str(circuit["body"]["location"]) if circuit else "global"

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        circuit = self.circuit(request, conn)
        siblings = self.store.find_all(
            "resources", conn, parent_key=circuit["key"], type_key=peering_record.PEERING_TYPE
        )
        name = self.name(request)
        filter_attachment.lock_referenced(self.store, conn, [body])
        new_props = peering_rules.validate_write(
            request.services.store,
            name=name,
            body=body,
            existing=existing,
            circuit=circuit,
            siblings=siblings,
            modified_by=self.modified_by,
            can_join=filter_attachment.join_checker(request),
        )
        direct_circuits.check_port_vlan(self.store, conn, circuit, new_props["vlanId"])
        if existing is not None:
            body = {**existing["body"], "properties": new_props}
            return Write({**existing, "body": body, "etag": new_etag()}, operation="put")
        canonical = peering_record.canonical_peering_name(name) or name
        return Write(peering_record.new_row(circuit, canonical, new_props), created=True, operation="put")

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        linked = global_reach.all_connections(self.store, existing["key"], conn)
        if linked:
            names = ", ".join(sorted(r["id"] for r in linked))
            raise BadRequest(
                f"The peering '{existing['name']}' cannot be deleted while Global Reach connections "
                f"(expressRouteCircuitConnections) use it: {names}. Delete those connections first.",
                "PeeringInUseByGlobalReachConnections",
                target="peeringName",
            )
        return super().delete(request, existing, conn)

    def complete_operation(self, op: Row, conn: Connection) -> Any:
        if op["kind"] in troubleshooting.KINDS:
            return netns_wire.complete(self.store, op, conn)  # the model, or the real wire
        if op["kind"] == "delete":
            return super().complete_operation(op, conn)  # removing the row unprograms the MSEEs
        row = self.store.get_resource(op["resource_key"], conn)
        if row is None:
            return None
        circuit = self.store.get_resource(row["parent_key"], conn)
        if circuit is None:  # removed with its circuit meanwhile: nothing left to program
            return None
        props = peering_record.settle_prefix_state(self.store, row["body"]["properties"], conn)
        props["provisioningState"] = "Succeeded"
        # The operation completes only after both MSEEs are programmed for the new configuration.
        body_internal = {"programmed": troubleshooting.program(circuit, props), "programmedAt": clock.now()}
        # ``row`` was read in this transaction, under the lock the completion takes on the record
        self.store.replace_resource(
            {**row, "body": {**row["body"], "properties": props, "internal": body_internal}, "etag": new_etag()},
            row,
            conn,
        )
        return None

    def fail_operation(self, op: Row, conn: Connection, error: ArmError) -> None:
        if op["kind"] in troubleshooting.KINDS:
            return
        super().fail_operation(op, conn, error)

    def extra_endpoints(self) -> list[Endpoint]:
        async def stats(request: ArmRequest) -> ArmResponse:
            peering = self.load_existing(request)
            circuit = self.store.get_resource(peering["parent_key"])
            if circuit is None:
                raise self.not_found(request)
            return ArmResponse(200, troubleshooting.peering_counters(self.store, circuit, peering))

        stats_endpoint = Endpoint(
            "GET",
            self.item_template + "/stats",
            stats,
            self.api_versions,
            f"{self.type_name}/stats/read",
            self.namespace,
        )
        return [stats_endpoint, *troubleshooting.endpoints(self, self.view)]


def _circuit_key(peering_key: str) -> str:
    """The circuit a peering record is stored under (``<circuit key>/peerings/<name>``)."""
    return peering_key.rsplit("/peerings/", 1)[0]
