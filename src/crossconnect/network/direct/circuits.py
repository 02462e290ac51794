"""Circuits on an ExpressRoute Direct port (``properties.expressRoutePort`` + ``bandwidthInGbps``).

Such a circuit is the customer's own: it has no service provider, so no cross connection in a
partner's subscription, and its ``serviceProviderProvisioningState`` is ``Provisioned`` from the
start. It sits on the port's pair of MSEE ports (its ``placement`` has the same shape as a
provider circuit's, so peerings are programmed, and troubleshot, exactly alike) and counts its
bandwidth against the port. A circuit in another subscription than the port's redeems one of the
port's authorizations with ``authorizationKey``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import Row, new_etag
from crossconnect.fabric import direct_ports
from crossconnect.fabric.placement import CapacityExhausted
from crossconnect.network.common import internal, props
from crossconnect.network.direct.bodies import PORT_TYPE_KEY
from crossconnect.store import Store

AUTHORIZATION_TYPE = "microsoft.network/expressrouteports/authorizations"
_PORT_ID = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/[^/]+/providers/Microsoft\.Network/expressRoutePorts/[^/]+$", re.I
)
PORT_FIELD = "properties.expressRoutePort.id"


def is_direct(row: Row) -> bool:
    return "direct" in internal(row)


def _gbps(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _port(store: Store, conn: Connection, port_ref: dict[str, Any] | None, request: ArmRequest, has_key: bool) -> Row:
    port_id = (port_ref or {}).get("id")
    match = _PORT_ID.match(port_id) if isinstance(port_id, str) else None
    if match is None or not isinstance(port_id, str):
        raise BadRequest(
            "properties.expressRoutePort.id must be the resource id of an ExpressRoute port "
            "(/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/expressRoutePorts/…).",
            "InvalidExpressRoutePortId",
            target=PORT_FIELD,
        )
    key = port_id.lower()
    # Lock the port before reading it: its deletion (which checks for circuits) and this circuit
    # take turns, on any replica.
    store.lock(conn, key)
    port = store.get_resource(key, conn)
    same_subscription = match.group(1).lower() == request.subscription_id.lower()
    # A port in another subscription is named only with an authorization key: without one, it
    # answers exactly as a port that does not exist (its existence is not disclosed).
    if (
        port is None
        or port["type_key"] != PORT_TYPE_KEY
        or props(port).get("provisioningState") == "Deleting"
        or (not same_subscription and not has_key)
    ):
        raise BadRequest(
            f"The ExpressRoute port '{port_id}' was not found. A port in another subscription is used with one of "
            "its authorizations (properties.authorizationKey).",
            "ExpressRoutePortNotFound",
            target=PORT_FIELD,
        )
    return port


def _redeem(store: Store, conn: Connection, port: Row, key: str, circuit_id: str) -> Row:
    for auth in store.find_all("resources", conn, parent_key=port["key"], type_key=AUTHORIZATION_TYPE):
        if props(auth).get("authorizationKey") == key:
            store.lock(conn, auth["key"])
            auth = store.get_resource(auth["key"], conn) or auth
            if props(auth).get("authorizationUseStatus") != "Available":
                raise BadRequest(
                    f"The authorization '{auth['name']}' of the ExpressRoute port is already used by another circuit.",
                    "AuthorizationKeyAlreadyUsed",
                    target="properties.authorizationKey",
                )
            body = dict(auth["body"])
            body["properties"] = {
                **body["properties"],
                "authorizationUseStatus": "InUse",
                "circuitResourceUri": circuit_id,
            }
            redeemed = {**auth, "body": body, "etag": new_etag()}
            store.put_resource(redeemed, conn)
            return redeemed
    raise BadRequest(
        "The authorizationKey does not match an authorization of the ExpressRoute port.",
        "InvalidAuthorizationKey",
        target="properties.authorizationKey",
    )


def _bandwidth(value: float | None, pair: direct_ports.DirectPair) -> float:
    if value is None:
        raise BadRequest(
            "properties.bandwidthInGbps is required for a circuit on an ExpressRoute port.",
            "MissingBandwidth",
            target="properties.bandwidthInGbps",
        )
    offered = direct_ports.CIRCUIT_BANDWIDTHS[pair.bandwidth_gbps]
    if value not in offered:
        raise BadRequest(
            f"The bandwidth {_gbps(value)} Gbps is not offered on a {pair.bandwidth_gbps} Gbps ExpressRoute port. "
            f"Offered bandwidths (Gbps): {', '.join(str(_gbps(b)) for b in offered)}.",
            "InvalidBandwidth",
            target="properties.bandwidthInGbps",
        )
    return value


def _capacity(exc: CapacityExhausted) -> BadRequest:
    return BadRequest(exc.message, exc.code, target=exc.target)


def write(
    request: ArmRequest, conn: Connection, p: Any, existing: Row | None, circuit_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Direct part of a circuit's properties, and its internal record, after this write.
    ``p`` is the request's ``CircuitProperties``."""
    store = request.services.store
    if existing is None:
        key = p.authorization_key
        port = _port(store, conn, p.express_route_port, request, has_key=bool(key))
        link = internal(port)
        pair = direct_ports.find_pair(link["peeringLocation"], link["portPair"])
        assert pair is not None
        bandwidth = _bandwidth(p.bandwidth_in_gbps, pair)
        auth = _redeem(store, conn, port, key, circuit_id) if key else None
        try:
            s_tag = direct_ports.add_circuit(
                store, conn, pair, circuit_id, bandwidth, props(port)["encapsulation"] == "QinQ"
            )
        except CapacityExhausted as exc:
            raise _capacity(exc) from None
        store.put_resource({**port, "etag": new_etag()}, conn)  # its circuits changed: a new ETag
        placement = {
            "portPair": pair.descriptor,
            "primaryAzurePort": pair.primary_port,
            "secondaryAzurePort": pair.secondary_port,
            "sTag": s_tag,
        }
        direct = {
            "portKey": port["key"],
            "portPair": pair.descriptor,
            "peeringLocation": pair.peering_location,
            "authorizationKey": auth["key"] if auth else None,
        }
        out: dict[str, Any] = {"expressRoutePort": {"id": port["id"]}, "bandwidthInGbps": _gbps(bandwidth)}
        if key:
            out.update(authorizationKey=key, authorizationStatus="Enabled")
        out["enableDirectPortRateLimit"] = bool(p.enable_direct_port_rate_limit)
        return out, {"placement": placement, "direct": direct}

    old = props(existing)
    link = internal(existing)
    port_id = (
        (p.express_route_port or {}).get("id") if p.express_route_port is not None else old["expressRoutePort"]["id"]
    )
    if not isinstance(port_id, str) or port_id.lower() != link["direct"]["portKey"]:
        raise BadRequest(
            f"The ExpressRoute port of a circuit cannot be changed (it is '{old['expressRoutePort']['id']}').",
            "CannotChangeExpressRoutePort",
            target=PORT_FIELD,
        )
    if p.authorization_key is not None and p.authorization_key != old.get("authorizationKey"):
        raise BadRequest(
            "The authorizationKey of a circuit on an ExpressRoute port cannot be changed.",
            "CannotChangeAuthorizationKey",
            target="properties.authorizationKey",
        )
    pair = direct_ports.find_pair(link["direct"]["peeringLocation"], link["direct"]["portPair"])
    assert pair is not None
    bandwidth = _bandwidth(p.bandwidth_in_gbps if p.bandwidth_in_gbps is not None else old["bandwidthInGbps"], pair)
    if bandwidth < old["bandwidthInGbps"]:
        raise BadRequest(
            f"The bandwidth of a circuit can only be increased (from {old['bandwidthInGbps']} Gbps); to lower it, "
            "create a new circuit.",
            "CannotDecreaseBandwidth",
            target="properties.bandwidthInGbps",
        )
    if bandwidth != old["bandwidthInGbps"]:
        try:
            direct_ports.resize_circuit(store, conn, pair, old["bandwidthInGbps"], bandwidth)
        except CapacityExhausted as exc:
            raise _capacity(exc) from None
    out = {"expressRoutePort": old["expressRoutePort"], "bandwidthInGbps": _gbps(bandwidth)}
    if old.get("authorizationKey"):
        out.update(authorizationKey=old["authorizationKey"], authorizationStatus=old["authorizationStatus"])
    out["enableDirectPortRateLimit"] = (
        p.enable_direct_port_rate_limit
        if p.enable_direct_port_rate_limit is not None
        else old.get("enableDirectPortRateLimit", False)
    )
    return out, link


def release(store: Store, conn: Connection, circuit: Row) -> None:
    """The circuit is gone: its bandwidth goes back to the port, its authorization is Available."""
    direct = internal(circuit)["direct"]
    direct_ports.remove_circuit(store, conn, direct["portPair"], circuit["id"], props(circuit)["bandwidthInGbps"])
    port = store.get_resource(direct["portKey"], conn)
    if port is not None:
        store.put_resource({**port, "etag": new_etag()}, conn)
    auth_key = direct.get("authorizationKey")
    auth = store.get_resource(auth_key, conn) if auth_key else None
    if auth is not None:
        body = dict(auth["body"])
        body["properties"] = {k: v for k, v in body["properties"].items() if k != "circuitResourceUri"} | {
            "authorizationUseStatus": "Available"
        }
        store.put_resource({**auth, "body": body, "etag": new_etag()}, conn)


def link_enabled(store: Store, circuit: dict[str, Any], link: str) -> bool:
    """Whether the port link a Direct circuit's ``link`` (primary/secondary) runs over is admin
    Enabled (always True for a provider circuit): a Disabled link carries nothing."""
    direct = internal(circuit).get("direct")
    if not direct:
        return True
    port = store.get_resource(direct["portKey"])
    if port is None:
        return False
    name = "link1" if link == "primary" else "link2"
    return bool(port["body"]["links"][name].get("adminState") == "Enabled")


_PEERING_TYPE = "microsoft.network/expressroutecircuits/peerings"


def check_port_vlan(store: Store, conn: Connection, circuit: Row, vlan_id: int) -> None:
    """On a Dot1Q port the customer's frames carry one tag only, so a VLAN belongs to one peering
    on the whole port (on QinQ the circuit's s-tag keeps circuits apart). The port is locked
    first: peering writes on the port's circuits, from any replica, take turns."""
    direct = internal(circuit).get("direct")
    if not direct:
        return
    store.lock(conn, direct["portKey"])
    port = store.get_resource(direct["portKey"], conn)
    if port is None or props(port).get("encapsulation") != "Dot1Q":
        return
    for circuit_id in direct_ports.usage(store, direct["portPair"], conn)["circuits"]:
        if circuit_id.lower() == circuit["key"]:
            continue
        for peering in store.find_all("resources", conn, parent_key=circuit_id.lower(), type_key=_PEERING_TYPE):
            if peering["body"]["properties"].get("vlanId") == vlan_id:
                raise BadRequest(
                    f"vlanId {vlan_id} is already used by peering '{peering['name']}' of circuit {circuit_id} on the "
                    "same Dot1Q ExpressRoute port; on a Dot1Q port every peering of every circuit needs its own VLAN.",
                    "VlanIdInUse",
                    target="properties.vlanId",
                )
