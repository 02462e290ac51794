"""Global Reach: expressRouteCircuitConnections (the connection a circuit's private peering
initiates to another circuit's private peering) and peerConnections (the read-only view of it on
the peer circuit). The records and their rendering live in ``peerings/connections.py``; this module
holds the request body, the rules a PUT must pass, and the two strategies."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar

from pydantic import Field
from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import ArmModel, ChildResourceBody, parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag
from crossconnect.network.circuits.bodies import redeem_authorization, release_authorization
from crossconnect.network.circuits.resource_types import CircuitPeerings, ExpressRouteCircuits
from crossconnect.network.common import NAMES, NAMESPACE, internal, versions
from crossconnect.network.peerings import connections as records
from crossconnect.network.peerings.record import PEERING_TYPE

PRIVATE = "AzurePrivatePeering"
_PEERING_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Network/"
    r"expressRouteCircuits/(?P<circuit>[^/]+)/peerings/(?P<peering>[^/]+)$",
    re.IGNORECASE,
)
FIELD = "properties"


class SubResource(ArmModel):
    id: str | None = None


class Ipv6Config(ArmModel):
    address_prefix: str | None = Field(default=None, alias="addressPrefix")
    circuit_connection_status: str | None = Field(default=None, alias="circuitConnectionStatus")


class ConnectionProperties(ArmModel):
    express_route_circuit_peering: SubResource | None = Field(default=None, alias="expressRouteCircuitPeering")
    peer_express_route_circuit_peering: SubResource | None = Field(default=None, alias="peerExpressRouteCircuitPeering")
    address_prefix: str | None = Field(default=None, alias="addressPrefix")
    authorization_key: str | None = Field(default=None, alias="authorizationKey")
    ipv6_circuit_connection_config: Ipv6Config | None = Field(default=None, alias="ipv6CircuitConnectionConfig")
    circuit_connection_status: str | None = Field(default=None, alias="circuitConnectionStatus")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class ConnectionBody(ChildResourceBody):
    properties: ConnectionProperties = Field(default_factory=ConnectionProperties)


def _bad(code: str, field: str, message: str) -> BadRequest:
    return BadRequest(message, code, target=f"{FIELD}.{field}")


def _peer_key(value: str | None) -> str | None:
    """The stored key of the peering a peerExpressRouteCircuitPeering id names (None: not an id
    of a circuit peering)."""
    if not value or not _PEERING_ID.match(value):
        return None
    return value.lower()


def _prefix(value: str | None, field: str, version: int, length: int, required: bool) -> Any:
    if not value:
        if required:
            raise _bad("MissingAddressPrefix", field, f"{field} is required: a /{length} IPv{version} prefix.")
        return None
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        net = None
    if net is None or net.version != version or net.prefixlen != length:
        raise _bad(
            "InvalidAddressPrefix",
            field,
            f"The value '{value}' of {field} must be a /{length} IPv{version} prefix in CIDR notation with no host "
            f"bits set (for example {'10.0.0.0/29' if version == 4 else 'fd00:1::/125'}).",
        )
    return net


def _used_networks(store: Any, circuit: Row, peering_keys: list[str], skip: str, conn: Connection) -> list[Any]:
    """Every prefix a circuit already uses: its peerings' subnets (IPv4 and IPv6) and the address
    prefixes of the Global Reach connections of its private peering (except ``skip``)."""
    out: list[tuple[str, Any]] = []
    for peering in store.find_all("resources", conn, parent_key=circuit["key"], type_key=PEERING_TYPE):
        p = peering["body"]["properties"]
        configs = [p, p.get("ipv6PeeringConfig") or {}]
        for config in configs:
            for key in ("primaryPeerAddressPrefix", "secondaryPeerAddressPrefix"):
                if config.get(key):
                    out.append((f"{peering['name']} {key}", ipaddress.ip_network(config[key], strict=False)))
    for key in peering_keys:
        for row in records.all_connections(store, key, conn):
            if row["key"] == skip:
                continue
            p = row["body"]["properties"]
            out.append((f"connection {row['name']}", ipaddress.ip_network(p["addressPrefix"])))
            v6 = p.get("ipv6CircuitConnectionConfig") or {}
            if v6.get("addressPrefix"):
                out.append((f"connection {row['name']}", ipaddress.ip_network(v6["addressPrefix"])))
    return out


class ExpressRouteCircuitConnections(ResourceType):
    type_name = records.CONNECTION_TYPE_NAME
    item_template = CircuitPeerings.item_template + "/connections/{connectionName}"
    list_templates = (CircuitPeerings.item_template + "/connections",)
    api_versions = versions("expressRouteCircuits/peerings/connections", since="2018-02-01")
    namespace = NAMESPACE
    methods: ClassVar[frozenset[str]] = frozenset({"GET", "PUT", "DELETE"})
    parent = CircuitPeerings
    name_rule = NAMES

    # -- locks: both circuits (their peerings and authorizations are read and changed) --------
    def lock_keys(self, request: ArmRequest) -> list[str]:
        keys = [self.key(request), records.circuit_key_of(self.parent_key(request))]
        existing = self.store.get_resource(self.key(request))
        peer = internal(existing).get("peerPeeringKey") if existing else None
        if not peer:
            try:
                body = request.json_body(required=False)
                peer = _peer_key(((body or {}).get("properties") or {}).get("peerExpressRouteCircuitPeering", {})["id"])
            except Exception:  # noqa: BLE001 - a bad body is refused later, by the write itself
                peer = None
        if peer:
            keys.append(records.circuit_key_of(peer))
        return sorted(set(keys))

    def operation_lock_keys(self, op: Row) -> list[str]:
        keys = [op["resource_key"], records.circuit_key_of(op["resource_key"].rsplit("/connections/", 1)[0])]
        row = self.store.get_resource(op["resource_key"])
        link = internal(row) if row else {}
        if link.get("peerPeeringKey"):
            keys.append(records.circuit_key_of(link["peerPeeringKey"]))
        if link.get("authorizationRowKey"):  # a delete gives the redeemed authorization back
            keys.append(link["authorizationRowKey"])
        return sorted(set(keys))

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        return records.render_connection(self.store, row, conn)

    def operation_location(self, row: Row) -> str:
        circuit = self.store.get_resource(records.circuit_key_of(row["parent_key"]))
        return str(circuit["body"]["location"]) if circuit else "global"

    # -- the rules --------------------------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(ConnectionBody, body, "ExpressRouteCircuitConnection")
        p = model.properties
        store = self.store
        peering = store.get_resource(self.parent_key(request), conn)
        if peering is None:
            raise self.registry.get(CircuitPeerings).not_found(request)
        if peering["name"] != PRIVATE:
            raise BadRequest(
                f"Global Reach connections are made between private peerings only; '{peering['name']}' is not "
                f"{PRIVATE}.",
                "GlobalReachRequiresPrivatePeering",
                target="peeringName",
            )
        circuit = store.get_resource(records.circuit_key_of(peering["key"]), conn)
        if circuit is None:
            raise self.registry.get(ExpressRouteCircuits).not_found(request)

        own = p.express_route_circuit_peering
        if own is not None and (own.id or "").lower() != peering["id"].lower():
            raise _bad(
                "InvalidExpressRouteCircuitPeering",
                "expressRouteCircuitPeering.id",
                f"expressRouteCircuitPeering.id must be the private peering the connection is created under "
                f"({peering['id']}), not '{own.id}'.",
            )
        sent_peer = p.peer_express_route_circuit_peering
        if sent_peer is None or not sent_peer.id:
            raise _bad(
                "MissingPeerExpressRouteCircuitPeering",
                "peerExpressRouteCircuitPeering.id",
                "peerExpressRouteCircuitPeering.id is required: the id of the peer circuit's AzurePrivatePeering.",
            )
        peer_key = _peer_key(sent_peer.id)
        match = _PEERING_ID.match(sent_peer.id)
        if peer_key is None or match is None or match["peering"].lower() != PRIVATE.lower():
            raise _bad(
                "InvalidPeerExpressRouteCircuitPeering",
                "peerExpressRouteCircuitPeering.id",
                f"peerExpressRouteCircuitPeering.id '{sent_peer.id}' must be the id of a circuit's "
                f"{PRIVATE} (/subscriptions/…/expressRouteCircuits/{{circuit}}/peerings/{PRIVATE}).",
            )
        if existing is not None and peer_key != internal(existing)["peerPeeringKey"]:
            raise _bad(
                "CannotChangePeerExpressRouteCircuitPeering",
                "peerExpressRouteCircuitPeering.id",
                "The peer circuit of a Global Reach connection cannot be changed; delete the connection and "
                "create a new one.",
            )
        peer_circuit_key = records.circuit_key_of(peer_key)
        if peer_circuit_key == circuit["key"]:
            raise _bad(
                "GlobalReachSameCircuit",
                "peerExpressRouteCircuitPeering.id",
                "peerExpressRouteCircuitPeering.id names this connection's own circuit; Global Reach connects two "
                "different circuits.",
            )
        peer_circuit = store.get_resource(peer_circuit_key, conn)
        peer = store.get_resource(peer_key, conn)
        if peer_circuit is None or peer is None:
            what = "circuit" if peer_circuit is None else f"circuit's {PRIVATE}"
            raise _bad(
                "PeerExpressRouteCircuitPeeringNotFound",
                "peerExpressRouteCircuitPeering.id",
                f"The peer {what} named by peerExpressRouteCircuitPeering.id '{sent_peer.id}' was not found.",
            )
        for side, c, pr, field in (
            ("this", circuit, peering, "expressRouteCircuitPeering.id"),
            ("the peer", peer_circuit, peer, "peerExpressRouteCircuitPeering.id"),
        ):
            self._check_ready(side, c, pr, field)
        for side, c in (("this", circuit), ("the peer", peer_circuit)):
            if c["body"]["sku"]["tier"] == "Local":
                raise _bad(
                    "GlobalReachNotSupportedForLocalSku",
                    "peerExpressRouteCircuitPeering.id" if side == "the peer" else "expressRouteCircuitPeering.id",
                    f"Global Reach is not available on ExpressRoute Local circuits; {side} circuit "
                    f"'{c['name']}' has sku.tier Local. Upgrade it to Standard or Premium.",
                )
        # one connection per pair of circuits, whichever side initiated it
        for row in records.all_connections(store, peering["key"], conn):
            if row["key"] == self.key(request):
                continue
            other = {row["parent_key"], internal(row).get("peerPeeringKey", "")}
            if peer_key in other:
                raise _bad(
                    "GlobalReachConnectionAlreadyExists",
                    "peerExpressRouteCircuitPeering.id",
                    f"The circuits are already connected by the Global Reach connection '{row['id']}'; two "
                    "circuits have at most one connection.",
                )
        v4 = _prefix(p.address_prefix, "addressPrefix", 4, 29, required=True)
        v6_sent = p.ipv6_circuit_connection_config
        v6 = _prefix(
            v6_sent.address_prefix if v6_sent else None,
            "ipv6CircuitConnectionConfig.addressPrefix",
            6,
            125,
            required=v6_sent is not None,
        )
        keys = [peering["key"], peer_key]
        skip = self.key(request)
        for c, label in ((circuit, "this circuit"), (peer_circuit, "the peer circuit")):
            for used_by, net in _used_networks(store, c, keys, skip, conn):
                for sent, field in ((v4, "addressPrefix"), (v6, "ipv6CircuitConnectionConfig.addressPrefix")):
                    if sent is not None and net.version == sent.version and net.overlaps(sent):
                        raise _bad(
                            "GlobalReachAddressPrefixOverlap",
                            field,
                            f"{field} {sent} overlaps {net}, used by {used_by} of {label} ('{c['name']}'); the "
                            "Global Reach prefix must not overlap either circuit's peering subnets or connections.",
                        )
        link = dict(internal(existing)) if existing else {}
        extra: list[Row] = []
        key_sent = p.authorization_key
        cross_subscription = peer_circuit["subscription_id"].lower() != circuit["subscription_id"].lower()
        if existing is not None and link.get("authorizationRowKey"):
            if key_sent and key_sent != existing["body"]["properties"].get("authorizationKey"):
                raise _bad(
                    "CannotChangeAuthorizationKey",
                    "authorizationKey",
                    "The authorizationKey of an existing Global Reach connection cannot be changed.",
                )
            key_sent = existing["body"]["properties"].get("authorizationKey")
        elif key_sent:
            auth = redeem_authorization(store, conn, peer_circuit, key_sent, f"{FIELD}.authorizationKey")
            extra.append(auth)
            link["authorizationRowKey"] = auth["key"]
            link["authResourceGuid"] = auth["body"].get("internal", {}).get("resourceGuid") or entropy.guid()
        elif cross_subscription:
            raise _bad(
                "AuthorizationKeyRequired",
                "authorizationKey",
                f"The peer circuit '{peer_circuit['name']}' is in another subscription: authorizationKey is "
                "required (an authorization of the peer circuit, created by its owner).",
            )
        link["peerPeeringKey"] = peer_key
        new_props: dict[str, Any] = {
            "provisioningState": existing["body"]["properties"].get("provisioningState", "Updating")
            if existing
            else "Updating",
            "expressRouteCircuitPeering": {"id": peering["id"]},
            "peerExpressRouteCircuitPeering": {"id": peer["id"]},
            "addressPrefix": str(v4),
        }
        if key_sent:
            new_props["authorizationKey"] = key_sent
        if v6 is not None:
            new_props["ipv6CircuitConnectionConfig"] = {"addressPrefix": str(v6)}
        if existing is not None:
            row = {**existing, "body": {"properties": new_props, "internal": link}, "etag": new_etag()}
            return Write(row, operation="put", extra_rows=extra)
        row = self.new_row(request, {"properties": new_props, "internal": link})
        pointer_name = entropy.guid()
        link["peerConnectionKey"] = f"{peer_key}/peerconnections/{pointer_name}"
        extra.append(
            {
                "key": link["peerConnectionKey"],
                "id": f"{peer['id']}/peerConnections/{pointer_name}",
                "type_key": records.PEER_CONNECTION_TYPE,
                "subscription_id": peer["subscription_id"],
                "group_key": peer["group_key"],
                "parent_key": peer["key"],
                "name": pointer_name,
                "body": {"properties": {}, "internal": {"connectionKey": row["key"]}},
                "etag": new_etag(),
            }
        )
        return Write(row, created=True, operation="put", extra_rows=extra)

    @staticmethod
    def _check_ready(side: str, circuit: Row, peering: Row, field: str) -> None:
        c = circuit["body"]["properties"]
        p = peering["body"]["properties"]
        if c.get("serviceProviderProvisioningState") != "Provisioned":
            raise _bad(
                "CircuitNotProvisioned",
                field,
                f"Global Reach needs both circuits provisioned by their connectivity provider; {side} circuit "
                f"'{circuit['name']}' has serviceProviderProvisioningState "
                f"'{c.get('serviceProviderProvisioningState')}'.",
            )
        if p.get("provisioningState") != "Succeeded" or p.get("state", "Enabled") != "Enabled":
            raise _bad(
                "PrivatePeeringNotProvisioned",
                field,
                f"Global Reach needs both private peerings provisioned and enabled; the {PRIVATE} of {side} circuit "
                f"'{circuit['name']}' has provisioningState '{p.get('provisioningState')}' and state "
                f"'{p.get('state', 'Enabled')}'.",
            )

    def on_delete(self, row: Row, conn: Connection) -> None:
        link = internal(row)
        if link.get("peerConnectionKey"):
            self.store.delete_resource_tree(link["peerConnectionKey"], conn)
        release_authorization(self.store, conn, link.get("authorizationRowKey", ""))


class PeerExpressRouteCircuitConnections(ResourceType):
    """The read-only view, on the peer circuit, of a connection another circuit initiated."""

    type_name = records.PEER_CONNECTION_TYPE_NAME
    item_template = CircuitPeerings.item_template + "/peerConnections/{connectionName}"
    list_templates = (CircuitPeerings.item_template + "/peerConnections",)
    api_versions = versions("expressRouteCircuits/peerings/peerConnections", since="2018-12-01")
    namespace = NAMESPACE
    methods: ClassVar[frozenset[str]] = frozenset({"GET"})
    parent = CircuitPeerings
    name_rule = NAMES

    def load(self, request: ArmRequest, conn: Connection | None = None) -> Row | None:
        row = super().load(request, conn)
        if row is None or records.connection_of_pointer(self.store, row, conn) is None:
            return None
        return row

    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        out = records.render_peer(self.store, row, conn)
        if out is None:
            raise self.not_found(request)
        return out

    def listed(self, request: ArmRequest, row: Row) -> dict[str, Any] | None:
        return records.render_peer(self.store, row)
