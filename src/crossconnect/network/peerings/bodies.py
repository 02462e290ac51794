"""One peering record, two ARM views.

A peering configured from the circuit (customer) or from the cross connection (partner) is one
row stored under the circuit; this module validates writes to it (Azure's routing rules, each
failure a 400 naming the field) and renders it for either view.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from pydantic import Field

from crossconnect.arm.bodies import ArmModel, ChildResourceBody, parse
from crossconnect.arm.errors import BadRequest
from crossconnect.network.peerings.record import AZURE_ASN, PEERING_TYPES, canonical_peering_name
from crossconnect.network.route_filters import attachment as filter_attachment
from crossconnect.store import Store

ROUTING_REGISTRIES = ("ARIN", "APNIC", "AFRINIC", "LACNIC", "RIPENCC", "RADB", "ALTDB", "LEVEL3")


MAX_ASN = 4294967295


# Reserved ASNs: Azure's own (8074, 8075, 12076), AS_TRANS (23456), documentation (64496–64511),
# IANA-reserved (65535–65551) and the last 32-bit ASN. Private peering also excludes 65515–65520.
_RESERVED = [(8074, 8075), (12076, 12076), (23456, 23456), (64496, 64511), (65535, 65551), (MAX_ASN, MAX_ASN)]


_RESERVED_PRIVATE = [(65515, 65520)]


_SHARED_KEY = re.compile(r"^[A-Za-z0-9]{1,25}$")


class MicrosoftPeeringConfig(ArmModel):
    advertised_public_prefixes: list[str] | None = Field(default=None, alias="advertisedPublicPrefixes")
    advertised_communities: list[str] | None = Field(default=None, alias="advertisedCommunities")
    advertised_public_prefixes_state: str | None = Field(default=None, alias="advertisedPublicPrefixesState")
    advertised_public_prefix_info: list[Any] | None = Field(default=None, alias="advertisedPublicPrefixInfo")
    legacy_mode: int | None = Field(default=None, alias="legacyMode")
    customer_asn: int | None = Field(default=None, alias="customerASN")
    routing_registry_name: str | None = Field(default=None, alias="routingRegistryName")


class Ipv6PeeringConfig(ArmModel):
    primary_peer_address_prefix: str | None = Field(default=None, alias="primaryPeerAddressPrefix")
    secondary_peer_address_prefix: str | None = Field(default=None, alias="secondaryPeerAddressPrefix")
    microsoft_peering_config: MicrosoftPeeringConfig | None = Field(default=None, alias="microsoftPeeringConfig")
    route_filter: dict[str, Any] | None = Field(default=None, alias="routeFilter")
    state: str | None = None


class PeeringProperties(ArmModel):
    peering_type: str | None = Field(default=None, alias="peeringType")
    state: str | None = None
    azure_asn: int | None = Field(default=None, alias="azureASN")
    peer_asn: int | None = Field(default=None, alias="peerASN")
    primary_peer_address_prefix: str | None = Field(default=None, alias="primaryPeerAddressPrefix")
    secondary_peer_address_prefix: str | None = Field(default=None, alias="secondaryPeerAddressPrefix")
    primary_azure_port: str | None = Field(default=None, alias="primaryAzurePort")
    secondary_azure_port: str | None = Field(default=None, alias="secondaryAzurePort")
    shared_key: str | None = Field(default=None, alias="sharedKey")
    vlan_id: int | None = Field(default=None, alias="vlanId")
    microsoft_peering_config: MicrosoftPeeringConfig | None = Field(default=None, alias="microsoftPeeringConfig")
    stats: dict[str, Any] | None = None
    provisioning_state: str | None = Field(default=None, alias="provisioningState")
    gateway_manager_etag: str | None = Field(default=None, alias="gatewayManagerEtag")
    last_modified_by: str | None = Field(default=None, alias="lastModifiedBy")
    route_filter: dict[str, Any] | None = Field(default=None, alias="routeFilter")
    ipv6_peering_config: Ipv6PeeringConfig | None = Field(default=None, alias="ipv6PeeringConfig")
    express_route_connection: dict[str, Any] | None = Field(default=None, alias="expressRouteConnection")
    connections: list[Any] | None = None
    peered_connections: list[Any] | None = Field(default=None, alias="peeredConnections")


class PeeringBody(ChildResourceBody):
    properties: PeeringProperties = Field(default_factory=PeeringProperties)


def invalid(code: str, field: str, message: str) -> BadRequest:
    return BadRequest(message, code, target=f"properties.{field}")


def _network(field: str, value: str, version: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise invalid(
            "InvalidPeerAddressPrefix",
            field,
            f"The value '{value}' of {field} is not a valid IPv{version} prefix in CIDR notation with no host bits "
            "set (for example 192.168.100.128/30).",
        ) from None
    if network.version != version:
        raise invalid(
            "InvalidPeerAddressPrefix", field, f"The value '{value}' of {field} must be an IPv{version} prefix."
        )
    return network


def split_pair(primary: str | None, secondary: str | None, field_prefix: str, version: int) -> tuple[str, str]:
    """Validate the primary/secondary peer subnets: two /30s (IPv6: /126s), or one /29 (/125)
    split into its first /30 for the primary link and its second for the secondary link."""
    link_len, pair_len = (30, 29) if version == 4 else (126, 125)
    p_field, s_field = f"{field_prefix}primaryPeerAddressPrefix", f"{field_prefix}secondaryPeerAddressPrefix"
    if not primary:
        raise invalid("MissingPeerAddressPrefix", p_field, f"{p_field} is required.")
    p_net = _network(p_field, primary, version)
    if p_net.prefixlen == pair_len and not secondary:
        first, second = p_net.subnets(new_prefix=link_len)
        return str(first), str(second)
    if p_net.prefixlen != link_len:
        raise invalid(
            "InvalidPeerAddressPrefix",
            p_field,
            f"{p_field} '{primary}' must be a /{link_len} (or a /{pair_len} without {s_field}, which is split into "
            "the primary and secondary subnets).",
        )
    if not secondary:
        raise invalid("MissingPeerAddressPrefix", s_field, f"{s_field} is required.")
    s_net = _network(s_field, secondary, version)
    if s_net.prefixlen != link_len:
        raise invalid("InvalidPeerAddressPrefix", s_field, f"{s_field} '{secondary}' must be a /{link_len}.")
    if p_net.overlaps(s_net):
        raise invalid(
            "PeerAddressPrefixesOverlap",
            s_field,
            f"{p_field} '{primary}' and {s_field} '{secondary}' must be distinct, non-overlapping subnets.",
        )
    return str(p_net), str(s_net)


# Special-purpose ranges (IANA registries, RFC 6890): a public prefix may not overlap one, so a
# supernet such as 0.0.0.0/0 or 10.0.0.0/7 (which ``is_global`` lets through) is refused too.
_NOT_PUBLIC = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
]


def is_public(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if not network.is_global or network.is_multicast or network.is_reserved:
        return False
    return not any(network.version == n.version and network.overlaps(n) for n in _NOT_PUBLIC)


def _require_public_subnets(peering_type: str, field_prefix: str, primary: str, secondary: str) -> None:
    """Microsoft (and public) peering runs its BGP sessions on public addresses the customer owns."""
    if peering_type == "AzurePrivatePeering":
        return
    for which, value in (("primaryPeerAddressPrefix", primary), ("secondaryPeerAddressPrefix", secondary)):
        if not is_public(ipaddress.ip_network(value)):
            field = f"{field_prefix}{which}"
            raise invalid(
                "InvalidPeerAddressPrefix",
                field,
                f"{field} '{value}' must be a public prefix you own: {peering_type} does not accept private, "
                "shared, loopback, link-local, multicast or documentation addresses.",
            )


def check_asn(field: str, asn: int, peering_type: str) -> None:
    if not 1 <= asn <= MAX_ASN:
        raise invalid("InvalidPeerAsn", field, f"{field} {asn} is out of range; it must be between 1 and {MAX_ASN}.")
    reserved = _RESERVED + (_RESERVED_PRIVATE if peering_type == "AzurePrivatePeering" else [])
    for low, high in reserved:
        if low <= asn <= high:
            span = str(low) if low == high else f"{low}-{high}"
            raise invalid(
                "ReservedPeerAsn",
                field,
                f"{field} {asn} is reserved ({span}) and cannot be used for {peering_type}.",
            )


def validate_write(
    store: Store,
    *,
    name: str,
    body: Any,
    existing: dict[str, Any] | None,
    circuit: dict[str, Any],
    siblings: list[dict[str, Any]],
    modified_by: str,
    can_join: Callable[[str, str], bool] | None = None,
) -> dict[str, Any]:
    """Validate a peering PUT and return the properties to store (nothing is stored here).
    ``can_join(filter id, tenant)``: may the caller link the peering to that route filter."""
    model = parse(PeeringBody, body, "ExpressRoutePeering")
    props = model.properties
    peering_type = canonical_peering_name(name)
    if peering_type is None:
        raise BadRequest(
            f"The peering name '{name}' is invalid: a peering is named after its type ({', '.join(PEERING_TYPES)}).",
            "InvalidPeeringName",
            target="name",
        )
    if props.peering_type is not None and props.peering_type.lower() != peering_type.lower():
        raise invalid(
            "PeeringNameMismatch",
            "peeringType",
            f"peeringType '{props.peering_type}' does not match the peering name '{name}'; they must be equal.",
        )
    provider_state = circuit["body"]["properties"]["serviceProviderProvisioningState"]
    if provider_state != "Provisioned":
        raise BadRequest(
            f"Peerings can only be configured when the circuit's serviceProviderProvisioningState is 'Provisioned'; "
            f"it is '{provider_state}'. The connectivity provider must provision layer 2 first.",
            "CircuitNotProvisioned",
            target="properties.serviceProviderProvisioningState",
        )
    old = dict(existing["body"]["properties"]) if existing else {}

    def pick(value: Any, key: str) -> Any:
        return value if value is not None else old.get(key)

    peer_asn = pick(props.peer_asn, "peerASN")
    if peer_asn is None:
        raise invalid("MissingPeerAsn", "peerASN", "peerASN is required.")
    check_asn("peerASN", peer_asn, peering_type)
    vlan_id = pick(props.vlan_id, "vlanId")
    if vlan_id is None:
        raise invalid("MissingVlanId", "vlanId", "vlanId is required.")
    if not 1 <= vlan_id <= 4094:
        raise invalid("InvalidVlanId", "vlanId", f"vlanId {vlan_id} is out of range; it must be between 1 and 4094.")
    for sibling in siblings:
        if sibling["name"].lower() != peering_type.lower() and sibling["body"]["properties"].get("vlanId") == vlan_id:
            raise invalid(
                "VlanIdInUse",
                "vlanId",
                f"vlanId {vlan_id} is already used by peering '{sibling['name']}' on this circuit; "
                "each peering needs its own VLAN.",
            )
    primary, secondary = split_pair(
        pick(props.primary_peer_address_prefix, "primaryPeerAddressPrefix"),
        props.secondary_peer_address_prefix
        if props.primary_peer_address_prefix is not None
        else old.get("secondaryPeerAddressPrefix"),
        "",
        4,
    )
    _require_public_subnets(peering_type, "", primary, secondary)
    shared_key = props.shared_key if props.shared_key is not None else old.get("sharedKey")
    if shared_key is not None and shared_key != "" and not _SHARED_KEY.match(shared_key):
        raise invalid(
            "InvalidSharedKey",
            "sharedKey",
            "sharedKey must be 1 to 25 alphanumeric characters (no spaces or special characters).",
        )
    state = pick(props.state, "state") or "Enabled"
    if state not in ("Enabled", "Disabled"):
        raise invalid("InvalidPeeringState", "state", f"state '{state}' is invalid; use Enabled or Disabled.")
    result: dict[str, Any] = {
        "peeringType": peering_type,
        "azureASN": AZURE_ASN,
        "peerASN": peer_asn,
        "primaryPeerAddressPrefix": primary,
        "secondaryPeerAddressPrefix": secondary,
        "state": state,
        "vlanId": vlan_id,
        "gatewayManagerEtag": props.gateway_manager_etag or old.get("gatewayManagerEtag", ""),
        "lastModifiedBy": modified_by,
    }
    if shared_key:
        result["sharedKey"] = shared_key
    ms_config = props.microsoft_peering_config
    if peering_type == "MicrosoftPeering":
        result["microsoftPeeringConfig"] = _microsoft_config(
            ms_config, old.get("microsoftPeeringConfig"), "microsoftPeeringConfig", 4
        )
    elif ms_config is not None and ms_config.advertised_public_prefixes:
        raise invalid(
            "MicrosoftPeeringConfigNotAllowed",
            "microsoftPeeringConfig",
            f"microsoftPeeringConfig applies only to MicrosoftPeering, not to {peering_type}.",
        )

    route_filter = filter_attachment.resolve_attachment(
        store,
        sent=props.route_filter,
        sent_null="route_filter" in props.model_fields_set and not props.route_filter,
        old=old.get("routeFilter"),
        peering_type=peering_type,
        can_join=can_join,
    )
    if route_filter is not None:
        result["routeFilter"] = route_filter
    ipv6 = props.ipv6_peering_config
    if (
        ipv6 is not None
        and (ipv6.route_filter or {}).get("id")
        and not (ipv6.primary_peer_address_prefix or ipv6.secondary_peer_address_prefix)
    ):
        # An ipv6PeeringConfig without subnets removes the IPv6 session: it has nothing to attach to.
        field = "ipv6PeeringConfig.primaryPeerAddressPrefix"
        raise invalid(
            "MissingPeerAddressPrefix",
            field,
            f"{field} is required: ipv6PeeringConfig.routeFilter applies to the peering's IPv6 session, which needs "
            "its peer address prefixes.",
        )
    if ipv6 is not None and (ipv6.primary_peer_address_prefix or ipv6.secondary_peer_address_prefix):
        p6, s6 = split_pair(
            ipv6.primary_peer_address_prefix, ipv6.secondary_peer_address_prefix, "ipv6PeeringConfig.", 6
        )
        _require_public_subnets(peering_type, "ipv6PeeringConfig.", p6, s6)
        v6: dict[str, Any] = {
            "primaryPeerAddressPrefix": p6,
            "secondaryPeerAddressPrefix": s6,
            "state": ipv6.state or "Enabled",
        }
        if peering_type == "MicrosoftPeering":
            v6["microsoftPeeringConfig"] = _microsoft_config(
                ipv6.microsoft_peering_config,
                (old.get("ipv6PeeringConfig") or {}).get("microsoftPeeringConfig"),
                "ipv6PeeringConfig.microsoftPeeringConfig",
                6,
            )
        ipv6_filter = filter_attachment.resolve_attachment(
            store,
            sent=ipv6.route_filter,
            sent_null="route_filter" in ipv6.model_fields_set and not ipv6.route_filter,
            old=(old.get("ipv6PeeringConfig") or {}).get("routeFilter"),
            peering_type=peering_type,
            can_join=can_join,
            field="ipv6PeeringConfig.routeFilter",
        )
        if ipv6_filter is not None:
            v6["routeFilter"] = ipv6_filter
        result["ipv6PeeringConfig"] = v6
    elif ipv6 is None and "ipv6PeeringConfig" in old:
        result["ipv6PeeringConfig"] = old["ipv6PeeringConfig"]
    return result


def _microsoft_config(
    config: MicrosoftPeeringConfig | None, old: dict[str, Any] | None, field: str, version: int
) -> dict[str, Any]:
    old = old or {}
    prefixes = (
        config.advertised_public_prefixes
        if config and config.advertised_public_prefixes is not None
        else (old.get("advertisedPublicPrefixes"))
    )
    if not prefixes:
        raise invalid(
            "MissingAdvertisedPublicPrefixes",
            f"{field}.advertisedPublicPrefixes",
            "Microsoft peering needs at least one advertised public prefix (advertisedPublicPrefixes).",
        )
    normalized = []
    for i, prefix in enumerate(prefixes):
        where = f"{field}.advertisedPublicPrefixes[{i}]"
        try:
            network = ipaddress.ip_network(prefix, strict=True)
        except ValueError:
            raise invalid(
                "InvalidAdvertisedPublicPrefix",
                where,
                f"'{prefix}' is not a valid prefix in CIDR notation with no host bits set.",
            ) from None
        if network.version != version:
            raise invalid("InvalidAdvertisedPublicPrefix", where, f"'{prefix}' must be an IPv{version} prefix.")
        if not is_public(network):
            raise invalid(
                "InvalidAdvertisedPublicPrefix",
                where,
                f"'{prefix}' is not a public prefix. Microsoft peering accepts only public addresses owned by you "
                "(no RFC 1918, shared, loopback, link-local, multicast or documentation ranges).",
            )
        normalized.append(str(network))
    customer_asn = config.customer_asn if config and config.customer_asn is not None else old.get("customerASN", 0)
    if customer_asn and not 1 <= customer_asn <= MAX_ASN:
        raise invalid(
            "InvalidCustomerAsn",
            f"{field}.customerASN",
            f"customerASN {customer_asn} is out of range; it must be between 1 and {MAX_ASN}.",
        )
    registry = (
        config.routing_registry_name
        if config and config.routing_registry_name is not None
        else (old.get("routingRegistryName"))
    )
    if registry is not None:
        if registry.upper() not in ROUTING_REGISTRIES:
            raise invalid(
                "InvalidRoutingRegistryName",
                f"{field}.routingRegistryName",
                f"routingRegistryName '{registry}' is not one of {', '.join(ROUTING_REGISTRIES)}.",
            )
        registry = registry.upper()
    out: dict[str, Any] = {
        "advertisedPublicPrefixes": normalized,
        "advertisedCommunities": list(config.advertised_communities or [])
        if config
        else old.get("advertisedCommunities", []),
        "advertisedPublicPrefixesState": "Configuring",
        "customerASN": customer_asn or 0,
        "legacyMode": (config.legacy_mode if config and config.legacy_mode is not None else old.get("legacyMode", 0)),
    }
    if registry:
        out["routingRegistryName"] = registry
    return out
