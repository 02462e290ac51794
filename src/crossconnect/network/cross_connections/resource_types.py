"""Microsoft.Network/expressRouteCrossConnections: the partner's view of a customer's circuit.

The cross connection row only links to the circuit record; everything shown comes from that
one record, so the partner and the customer can never disagree. The partner may change
``serviceProviderProvisioningState``, ``serviceProviderNotes``, the peerings and tags; read-only
fields left out of a PUT keep their value, and a PUT that tries to change one gets a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest, NotFound
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, render_template, validate_tags
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.common import NAMES, NAMESPACE, internal, props, versions
from crossconnect.network.cross_connections.bodies import TRANSITIONS, CrossConnectionBody
from crossconnect.network.peerings import bodies as peering_rules
from crossconnect.network.peerings import record as peering_record
from crossconnect.network.peerings.resource_types import PeeringRecordType
from crossconnect.network.route_filters import attachment as filter_attachment


class ExpressRouteCrossConnections(ResourceType):
    type_name = "Microsoft.Network/expressRouteCrossConnections"
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "expressRouteCrossConnections/{crossConnectionName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "expressRouteCrossConnections",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRouteCrossConnections",
    )
    api_versions = versions("expressRouteCrossConnections", since="2018-02-01")
    namespace = NAMESPACE
    methods = frozenset({"GET", "PUT", "PATCH"})
    name_rule = NAMES
    put_always_200 = True

    def check_scope(self, request: ArmRequest) -> None:
        """Cross connections exist only in providers' management subscriptions; elsewhere the
        type is unknown, exactly as Azure answers a non-partner subscription."""
        if request.subscription_id not in catalog.provider_subscriptions(request.services.store):
            raise NotFound(
                "The resource type could not be found in the namespace 'Microsoft.Network' for api version "
                f"'{request.api_version}'.",
                "InvalidResourceType",
            )
        super().check_scope(request)

    def circuit_of(self, row: Row, conn: Connection | None = None) -> Row | None:
        """The circuit record this view shows; None when the link is dangling (the record is gone):
        such a cross connection does not exist for ARM (GET 404, left out of lists), it never fails."""
        key = internal(row).get("circuitKey")
        return self.store.get_resource(key, conn) if isinstance(key, str) else None

    def load(self, request: ArmRequest, conn: Connection | None = None) -> Row | None:
        row = super().load(request, conn)
        return row if row is not None and self.circuit_of(row, conn) is not None else None

    def lock_keys(self, request: ArmRequest) -> list[str]:
        # a cross-connection PUT changes the circuit record (provider state, notes, peerings)
        return [self.key(request), *self._circuit_keys(self.store.get_resource(self.key(request)))]

    def operation_lock_keys(self, op: Row) -> list[str]:
        return [op["resource_key"], *self._circuit_keys(self.store.get_resource(op["resource_key"]))]

    @staticmethod
    def _circuit_keys(row: Row | None) -> list[str]:
        key = internal(row).get("circuitKey") if row is not None else None
        return [key] if key else []

    def list_rows(self, request: ArmRequest, after: int, limit: int) -> list[Row]:
        name = _name_filter(request.query.get("$filter"))
        if name is None:
            base = super().list_rows
            return self._linked(lambda after_seq, n: base(request, after_seq, n), after, limit)
        # The partner's look-up by service key: the store finds the name through its index
        # (ix_resources_name), not by reading and decoding every cross connection of the scope.
        return self._linked(
            lambda after_seq, n: self.store.list_resources(
                subscription_id=request.subscription_id,
                type_key=self.type_key,
                group_key=request.params.get("resourceGroupName"),
                name=name,
                after_seq=after_seq,
                limit=n,
            ),
            after,
            limit,
        )

    def _linked(self, fetch: Callable[[int, int], list[Row]], after: int, limit: int) -> list[Row]:
        """Up to ``limit`` rows after ``after`` whose circuit exists: dangling rows are skipped
        without shortening a page (paging stays exact). The circuits of a batch are checked in
        one query."""
        out: list[Row] = []
        while True:
            rows = fetch(after, limit)
            circuits = self._circuits_of(rows)
            out.extend(r for r in rows if _circuit_key(r) in circuits)
            if len(rows) < limit or len(out) >= limit:
                return out[:limit]
            after = rows[-1]["seq"]

    def _circuits_of(self, rows: list[Row]) -> dict[str, Row]:
        """The circuit records of ``rows``, by key, in one query."""
        return self.store.get_resources([key for key in map(_circuit_key, rows) if key])

    def listed_page(self, request: ArmRequest, rows: list[Row]) -> list[dict[str, Any] | None]:
        """A page loads its circuits and their peerings in one query each (at 10,000 cross
        connections, two look-ups per row made a full listing twice as slow per item)."""
        circuits = self._circuits_of(rows)
        peerings: dict[str, list[Row]] = {key: [] for key in circuits}
        for p in self.store.find_in("resources", "parent_key", list(circuits), type_key=peering_record.PEERING_TYPE):
            peerings[p["parent_key"]].append(p)
        out: list[dict[str, Any] | None] = []
        for row in rows:
            circuit = circuits.get(_circuit_key(row))
            # a row whose circuit went away since the page was read is left out, as _linked does
            out.append(None if circuit is None else self._render(row, circuit, peerings[circuit["key"]]))
        return out

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        circuit = self.circuit_of(row, conn)
        if circuit is None:  # the circuit went away after this row was read
            raise self.not_found(request)
        peerings = self.store.find_all(
            "resources", conn, parent_key=circuit["key"], type_key=peering_record.PEERING_TYPE
        )
        return self._render(row, circuit, peerings)

    def _render(self, row: Row, circuit: Row, peerings: list[Row]) -> dict[str, Any]:
        """The cross connection as ARM shows it, from its row, its circuit and the circuit's
        peerings (in ``seq`` order)."""
        c = props(circuit)
        placement = internal(circuit).get("placement", {})
        out: dict[str, Any] = {
            "name": row["name"],
            "id": row["id"],
            "etag": row["etag"],
            "type": self.type_name,
            "location": row["body"]["location"],
        }
        if row["body"].get("tags"):
            out["tags"] = row["body"]["tags"]
        out["properties"] = {
            "provisioningState": row["body"]["properties"].get("provisioningState", "Succeeded"),
            "expressRouteCircuit": {"id": circuit["id"]},
            "peerings": [peering_record.render(p, "crossConnection", row["id"], circuit) for p in peerings],
            "peeringLocation": c["serviceProviderProperties"]["peeringLocation"],
            "bandwidthInMbps": c["serviceProviderProperties"]["bandwidthInMbps"],
            "primaryAzurePort": placement.get("primaryAzurePort", ""),
            "secondaryAzurePort": placement.get("secondaryAzurePort", ""),
            "sTag": placement.get("sTag", 0),
            "serviceProviderProvisioningState": c["serviceProviderProvisioningState"],
            "serviceProviderNotes": c.get("serviceProviderNotes", ""),
        }
        return out

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        if existing is None:
            raise NotFound(
                f"The cross connection '{self.name(request)}' does not exist. Cross connections are created by "
                "Microsoft when a customer creates a circuit with your provider; they cannot be created by PUT.",
                "ResourceNotFound",
            )
        model = parse(CrossConnectionBody, body, "ExpressRouteCrossConnection")
        current = self.render(request, existing, conn)
        cp = current["properties"]
        p = model.properties
        _keep_read_only("location", model.location, current["location"], normalize=True)
        _keep_read_only("properties.peeringLocation", p.peering_location, cp["peeringLocation"])
        _keep_read_only("properties.bandwidthInMbps", p.bandwidth_in_mbps, cp["bandwidthInMbps"])
        _keep_read_only("properties.primaryAzurePort", p.primary_azure_port, cp["primaryAzurePort"])
        _keep_read_only("properties.secondaryAzurePort", p.secondary_azure_port, cp["secondaryAzurePort"])
        _keep_read_only("properties.sTag", p.s_tag, cp["sTag"])
        if p.express_route_circuit is not None:
            _keep_read_only(
                "properties.expressRouteCircuit.id",
                p.express_route_circuit.id,
                cp["expressRouteCircuit"]["id"],
                case_insensitive=True,
            )
        circuit = self.circuit_of(existing, conn)
        if circuit is None:
            raise self.not_found(request)
        c = props(circuit)
        state = c["serviceProviderProvisioningState"]
        wanted = p.service_provider_provisioning_state
        if wanted is not None and wanted != state:
            if wanted not in TRANSITIONS:
                raise BadRequest(
                    f"serviceProviderProvisioningState '{wanted}' is invalid; use one of {', '.join(TRANSITIONS)}.",
                    "InvalidServiceProviderProvisioningState",
                    target="properties.serviceProviderProvisioningState",
                )
            if wanted not in TRANSITIONS[state]:
                raise BadRequest(
                    f"serviceProviderProvisioningState cannot change from '{state}' to '{wanted}'. Allowed from "
                    f"'{state}': {', '.join(sorted(TRANSITIONS[state]))}.",
                    "InvalidServiceProviderProvisioningStateTransition",
                    target="properties.serviceProviderProvisioningState",
                )
            c["serviceProviderProvisioningState"] = wanted
        if p.service_provider_notes is not None:
            if len(p.service_provider_notes) > 1024:
                raise BadRequest(
                    "serviceProviderNotes is limited to 1024 characters.",
                    "InvalidServiceProviderNotes",
                    target="properties.serviceProviderNotes",
                )
            c["serviceProviderNotes"] = p.service_provider_notes
        tags = validate_tags(model.tags) if model.tags is not None else existing["body"].get("tags", {})
        circuit_row = {**circuit, "body": {**circuit["body"], "properties": c}, "etag": new_etag()}
        peering_rows = self._embedded_peerings(request, p.peerings or [], circuit_row, conn)
        xc_row = {**existing, "body": {**existing["body"], "tags": tags}, "etag": new_etag()}
        return Write(
            xc_row,
            operation="put",
            extra_rows=[circuit_row, *peering_rows],
            payload={"peeringKeys": [r["key"] for r in peering_rows]},
        )

    def _embedded_peerings(
        self, request: ArmRequest, entries: list[dict[str, Any]], circuit: Row, conn: Connection
    ) -> list[Row]:
        """Peerings sent inside the cross connection: an entry equal to the stored record (the
        usual GET → modify → PUT round trip) changes nothing; a new or changed one is validated
        like a peering PUT and applied by this operation. Peerings left out are kept: deleting
        one takes a DELETE on the peering."""

        siblings = self.store.find_all(
            "resources", conn, parent_key=circuit["key"], type_key=peering_record.PEERING_TYPE
        )
        filter_attachment.lock_referenced(self.store, conn, entries)
        changed: list[Row] = []
        for i, entry in enumerate(entries):
            entry_props = entry.get("properties") or {}
            name = entry.get("name") or entry_props.get("peeringType")
            if not isinstance(name, str) or not name:
                raise BadRequest(
                    f"properties.peerings[{i}] needs a name or a peeringType.",
                    "InvalidPeeringName",
                    target=f"properties.peerings[{i}].name",
                )
            canonical = peering_record.canonical_peering_name(name) or name
            existing = next((r for r in siblings if r["name"].lower() == canonical.lower()), None)
            if existing is not None and not peering_record.differs(entry_props, existing["body"]["properties"]):
                continue
            new_props = peering_rules.validate_write(
                self.store,
                name=name,
                body={"properties": entry_props},
                existing=existing,
                circuit=circuit,
                siblings=siblings,
                modified_by="ServiceProvider",
                can_join=filter_attachment.join_checker(request),
            )
            new_props["provisioningState"] = "Updating"
            if existing is not None:
                changed.append({**existing, "body": {**existing["body"], "properties": new_props}, "etag": new_etag()})
            else:
                changed.append(peering_record.new_row(circuit, canonical, new_props))
            # later entries are checked against this one (e.g. two peerings on one VLAN in one PUT)
            siblings = [r for r in siblings if r["name"].lower() != canonical.lower()] + [changed[-1]]
        return changed

    def complete_operation(self, op: Row, conn: Connection) -> Any:
        result = super().complete_operation(op, conn)

        peerings = self.registry.get(CrossConnectionPeerings)
        for key in op["payload"].get("peeringKeys", []):
            peerings.complete_operation({**op, "kind": "put", "resource_key": key}, conn)
        return result


def _circuit_key(row: Row) -> str:
    """The key of the circuit record a cross-connection row shows ("" when it has none)."""
    key = internal(row).get("circuitKey")
    return key.lower() if isinstance(key, str) else ""


def _keep_read_only(
    field: str, sent: Any, current: Any, *, normalize: bool = False, case_insensitive: bool = False
) -> None:
    """A read-only field may be left out (keep) or sent unchanged; changing it is a 400."""
    if sent is None:
        return
    a, b = sent, current
    if normalize:
        a, b = str(a).replace(" ", "").lower(), str(b).replace(" ", "").lower()
    elif case_insensitive:
        a, b = str(a).lower(), str(b).lower()
    if a != b:
        raise BadRequest(
            f"The property '{field}' is read-only on a cross connection and cannot be changed from {current!r} to "
            f"{sent!r}. Only serviceProviderProvisioningState, serviceProviderNotes, peerings and tags can be set.",
            "ReadOnlyPropertyCannotBeChanged",
            target=field,
        )


def _name_filter(value: str | None) -> str | None:
    """``$filter=name eq '<serviceKey>'`` — the one filter partners use to find a circuit."""
    if not value:
        return None
    import re

    match = re.fullmatch(r"\s*name\s+eq\s+'([^']*)'\s*", value, flags=re.IGNORECASE)
    if match is None:
        raise BadRequest(
            f"The $filter '{value}' is not supported; use $filter=name eq '<serviceKey>'.",
            "InvalidFilter",
            target="$filter",
        )
    return match.group(1)


class CrossConnectionPeerings(PeeringRecordType):
    type_name = "Microsoft.Network/expressRouteCrossConnections/peerings"
    item_template = ExpressRouteCrossConnections.item_template + "/peerings/{peeringName}"
    list_templates = (ExpressRouteCrossConnections.item_template + "/peerings",)
    api_versions = versions("expressRouteCrossConnections/peerings", since="2018-02-01")
    namespace = NAMESPACE
    parent = ExpressRouteCrossConnections
    name_rule = NAMES
    modified_by = "ServiceProvider"
    view = "crossConnection"

    def cross_connection(self, request: ArmRequest, conn: Connection | None = None) -> Row:
        xc_type = self.registry.get(ExpressRouteCrossConnections)
        row = xc_type.load(request, conn)  # None too when its circuit record is gone
        if row is None:
            raise xc_type.not_found(request)
        return row

    def circuit(self, request: ArmRequest, conn: Connection | None = None) -> Row:
        xc_type = self.registry.get(ExpressRouteCrossConnections)
        circuit = self.store.get_resource(internal(self.cross_connection(request, conn))["circuitKey"], conn)
        if circuit is None:
            raise xc_type.not_found(request)
        return circuit

    def key(self, request: ArmRequest) -> str:
        # The record lives under the circuit; the cross-connection path is only a view of it.
        xc = self.store.get_resource(render_template(ExpressRouteCrossConnections.item_template, request.params))
        if xc is None:
            return render_template(self.item_template, request.params).lower()
        return f"{internal(xc)['circuitKey']}/peerings/{request.params['peeringName'].lower()}"

    def parent_id(self, request: ArmRequest, circuit: Row, conn: Connection | None = None) -> str:
        return str(self.cross_connection(request, conn)["id"])

    def list_rows(self, request: ArmRequest, after: int, limit: int) -> list[Row]:
        circuit = self.circuit(request)
        return self.store.find_all(
            "resources", after_seq=after, limit=limit, parent_key=circuit["key"], type_key=peering_record.PEERING_TYPE
        )

    def check_scope(self, request: ArmRequest) -> None:
        self.registry.get(ExpressRouteCrossConnections).check_scope(request)
        self.cross_connection(request)
