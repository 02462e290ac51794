"""The one peering record both views share: how a row is made, compared, settled and rendered as a
circuit peering (customer) or a cross-connection peering (partner)."""

from __future__ import annotations

from typing import Any, Literal

from crossconnect.arm.resource_type import new_etag
from crossconnect.store import Store

AZURE_ASN = 12076  # Microsoft's ASN, the MSEE side of every BGP session

PEERING_TYPES = ("AzurePrivatePeering", "AzurePublicPeering", "MicrosoftPeering")


# The one stored type of a peering record, whichever view (circuit or cross connection) wrote it.
PEERING_TYPE = "microsoft.network/expressroutecircuits/peerings"


View = Literal["circuit", "crossConnection"]


def new_row(circuit: dict[str, Any], name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A new peering record under ``circuit`` (``name`` canonical: "MicrosoftPeering", ...)."""
    return {
        "key": f"{circuit['key']}/peerings/{name.lower()}",
        "id": f"{circuit['id']}/peerings/{name}",
        "type_key": PEERING_TYPE,
        "subscription_id": circuit["subscription_id"],
        "group_key": circuit["group_key"],
        "parent_key": circuit["key"],
        "name": name,
        "body": {"properties": properties},
        "etag": new_etag(),
    }


def canonical_peering_name(name: str) -> str | None:
    return next((t for t in PEERING_TYPES if t.lower() == name.lower()), None)


def settle_prefix_state(store: Store, props: dict[str, Any], conn: Any = None) -> dict[str, Any]:
    """Completing a Microsoft peering write: Configured when every advertised prefix is
    registered to the customer ASN (or the peer ASN) in the routing registry, else ValidationNeeded."""
    from crossconnect.network.catalog import routing_registry

    props = dict(props)
    for holder in (props, props.get("ipv6PeeringConfig") or {}):
        config = holder.get("microsoftPeeringConfig")
        if not config:
            continue
        asn = int(config.get("customerASN") or props.get("peerASN") or 0)
        ok = all(routing_registry.is_registered(store, p, asn, conn) for p in config["advertisedPublicPrefixes"])
        state = "Configured" if ok else "ValidationNeeded"
        holder["microsoftPeeringConfig"] = {**config, "advertisedPublicPrefixesState": state}
    return props


_COMPARED = ("peerASN", "primaryPeerAddressPrefix", "secondaryPeerAddressPrefix", "vlanId", "sharedKey", "state")


def differs(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Does a peering sent back inside a parent PUT change anything writable?"""
    for key in _COMPARED:
        if key in sent and sent[key] is not None and sent[key] != stored.get(key):
            return True
    # the IPv4 filter, compared like the IPv6 one inside ipv6PeeringConfig (ids ignoring case)
    if _config_differs({"routeFilter": sent.get("routeFilter")}, {"routeFilter": stored.get("routeFilter")}):
        return True
    return any(
        _config_differs(sent.get(config_key) or {}, stored.get(config_key) or {})
        for config_key in ("microsoftPeeringConfig", "ipv6PeeringConfig")
    )


def _config_differs(sent_config: dict[str, Any], stored_config: dict[str, Any]) -> bool:
    """The writable keys sent in a config (``microsoftPeeringConfig``, ``ipv6PeeringConfig`` and the
    latter's own ``microsoftPeeringConfig``, compared the same way) against the stored ones."""
    for key, value in sent_config.items():
        if key in ("advertisedPublicPrefixesState", "state") or value is None:
            continue
        current = stored_config.get(key)
        if key == "microsoftPeeringConfig" and isinstance(value, dict):
            if _config_differs(value, current if isinstance(current, dict) else {}):
                return True
            continue
        if key == "routeFilter" and isinstance(value, dict) and isinstance(current, dict):
            value, current = str(value.get("id") or "").lower(), str(current.get("id") or "").lower()
        if key == "routingRegistryName" and isinstance(value, str) and isinstance(current, str):
            value, current = value.upper(), current.upper()
        if value != current:
            return True
    return False


def render(
    row: dict[str, Any],
    view: View,
    parent_id: str,
    circuit: dict[str, Any] | None,
    connections: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """``connections``: the Global Reach ``connections`` and ``peeredConnections`` the circuit
    view embeds (``peerings.connections.embedded``); none when not given."""
    props = dict(row["body"]["properties"])
    placement = (circuit or {}).get("body", {}).get("internal", {}).get("placement") or {}
    out_props: dict[str, Any] = {
        "provisioningState": props.pop("provisioningState", "Succeeded"),
        "peeringType": props.get("peeringType"),
        "azureASN": props.get("azureASN", AZURE_ASN),
        "peerASN": props.get("peerASN"),
        "primaryPeerAddressPrefix": props.get("primaryPeerAddressPrefix"),
        "secondaryPeerAddressPrefix": props.get("secondaryPeerAddressPrefix"),
        "primaryAzurePort": placement.get("primaryAzurePort", ""),
        "secondaryAzurePort": placement.get("secondaryAzurePort", ""),
        "state": props.get("state", "Enabled"),
        "vlanId": props.get("vlanId"),
        "gatewayManagerEtag": props.get("gatewayManagerEtag", ""),
        "lastModifiedBy": props.get("lastModifiedBy", ""),
    }
    if props.get("sharedKey"):
        out_props["sharedKey"] = props["sharedKey"]
    for key in ("microsoftPeeringConfig", "ipv6PeeringConfig", "routeFilter"):
        if props.get(key):
            out_props[key] = props[key]
    if view == "circuit":
        own, peered = connections or ([], [])
        out_props["connections"] = own
        out_props["peeredConnections"] = peered
        type_name = "Microsoft.Network/expressRouteCircuits/peerings"
    else:
        type_name = "Microsoft.Network/expressRouteCrossConnections/peerings"
    return {
        "name": row["name"],
        "id": f"{parent_id}/peerings/{row['name']}",
        "etag": row["etag"],
        "type": type_name,
        "properties": out_props,
    }
