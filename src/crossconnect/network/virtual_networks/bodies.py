"""The bodies of virtualNetworks and their subnets: what a PUT may send, the rules Azure checks
(address prefixes in CIDR notation, subnets inside the address space, no two subnets overlapping,
the reserved subnet names), and how a subnet is rendered.

Azure defines many more members on these types (DHCP options, NSGs, route tables, delegations,
service endpoints...). The Azure CLI sends some of them; crossconnect does not model them, so they
are accepted and ignored (``LenientModel``) instead of refused."""

from __future__ import annotations

import bisect
import ipaddress
from typing import Any

from pydantic import Field

from crossconnect.arm.bodies import LenientModel, LenientTrackedResourceBody
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.resource_type import Row

GATEWAY_SUBNET = "GatewaySubnet"
# Names Azure reserves for the subnets of its own services: a subnet may be called so, but only
# that service may be placed in it (GatewaySubnet: virtual network gateways).
RESERVED_SUBNET_NAMES = ("GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "AzureBastionSubnet")
# The smallest GatewaySubnet an ExpressRoute gateway fits in (Azure recommends /27).
GATEWAY_SUBNET_MAX_PREFIX = 29
# Azure reserves the first four and the last address of every subnet.
MIN_SUBNET_PREFIX = 29

SUBNET_TYPE = "microsoft.network/virtualnetworks/subnets"
SUBNET_TYPE_NAME = "Microsoft.Network/virtualNetworks/subnets"
VNET_TYPE = "microsoft.network/virtualnetworks"


class SubnetProperties(LenientModel):
    address_prefix: str | None = Field(default=None, alias="addressPrefix")
    address_prefixes: list[str] | None = Field(default=None, alias="addressPrefixes")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class SubnetBody(LenientModel):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    etag: str | None = None
    properties: SubnetProperties = Field(default_factory=SubnetProperties)


class AddressSpace(LenientModel):
    address_prefixes: list[str] | None = Field(default=None, alias="addressPrefixes")


class VirtualNetworkProperties(LenientModel):
    address_space: AddressSpace | None = Field(default=None, alias="addressSpace")
    subnets: list[SubnetBody] | None = None
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class VirtualNetworkBody(LenientTrackedResourceBody):
    properties: VirtualNetworkProperties = Field(default_factory=VirtualNetworkProperties)


Network = ipaddress.IPv4Network
# Azure's limit of subnets per virtual network.
MAX_SUBNETS = 3000


class Taken:
    """The subnets of one network, disjoint and sorted by first address: whether a new prefix
    overlaps one of them is one binary search (a body with thousands of subnets stays O(n log n))."""

    def __init__(self, subnets: list[tuple[str, Network]] | None = None) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._named: list[tuple[str, Network]] = []
        for name, net in subnets or []:
            self.add(name, net)

    def overlapping(self, net: Network) -> tuple[str, Network] | None:
        first, last = int(net.network_address), int(net.broadcast_address)
        i = bisect.bisect_right(self._starts, last)
        # disjoint blocks sorted by start have sorted ends: only the last one starting at or
        # before ``last`` can reach into ``net``
        if i and self._ends[i - 1] >= first:
            return self._named[i - 1]
        return None

    def add(self, name: str, net: Network) -> None:
        i = bisect.bisect_right(self._starts, int(net.network_address))
        self._starts.insert(i, int(net.network_address))
        self._ends.insert(i, int(net.broadcast_address))
        self._named.insert(i, (name, net))


def parse_prefix(value: Any, field: str, code: str, what: str) -> Network:
    """One IPv4 prefix in CIDR notation with no host bits set."""
    try:
        loose = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise BadRequest(
            f"Value '{value}' provided for {what} is not a valid IPv4 prefix in CIDR notation (for example "
            "10.1.0.0/16).",
            code,
            target=field,
        ) from None
    if loose.version != 4:
        raise BadRequest(
            f"Value '{value}' provided for {what} is an IPv6 prefix; crossconnect's virtual networks are IPv4 only.",
            "IPv6NotSupported",
            target=field,
        )
    if str(loose.network_address) != str(value).split("/", 1)[0] or "/" not in str(value):
        raise BadRequest(
            f"The address prefix {value} of {what} has an invalid CIDR notation. For the given prefix length, the "
            f"address prefix should be {loose}.",
            "InvalidCIDRNotation",
            target=field,
        )
    assert isinstance(loose, ipaddress.IPv4Network)
    return loose


def address_space(space: AddressSpace | None, existing: Row | None, vnet_name: str) -> list[Network]:
    """The address space a PUT sets (kept from ``existing`` when not sent), checked."""
    if space is None or space.address_prefixes is None:
        if existing is not None:
            return [ipaddress.IPv4Network(p) for p in existing["body"]["properties"]["addressSpace"]["addressPrefixes"]]
        raise BadRequest(
            f"The virtual network '{vnet_name}' needs an address space: properties.addressSpace.addressPrefixes with "
            "at least one prefix.",
            "AddressSpaceMissing",
            target="properties.addressSpace.addressPrefixes",
        )
    if not space.address_prefixes:
        raise BadRequest(
            f"The virtual network '{vnet_name}' needs at least one address prefix in "
            "properties.addressSpace.addressPrefixes.",
            "AddressSpaceMissing",
            target="properties.addressSpace.addressPrefixes",
        )
    if len(space.address_prefixes) > 100:
        raise BadRequest(
            "A virtual network has at most 100 address prefixes.",
            "TooManyAddressPrefixes",
            target="properties.addressSpace.addressPrefixes",
        )
    nets: list[Network] = []
    for i, value in enumerate(space.address_prefixes):
        field = f"properties.addressSpace.addressPrefixes[{i}]"
        net = parse_prefix(value, field, "NetcfgInvalidIPAddressPrefix", f"the address space of '{vnet_name}'")
        if net.prefixlen > MIN_SUBNET_PREFIX:
            raise BadRequest(
                f"The address prefix {net} of virtual network '{vnet_name}' is too small: the smallest address "
                f"space is a /{MIN_SUBNET_PREFIX}.",
                "NetcfgInvalidIPAddressPrefix",
                target=field,
            )
        for other in nets:
            if other.overlaps(net):
                raise BadRequest(
                    f"Cannot create or update virtual network '{vnet_name}': its address prefixes {other} and {net} "
                    "overlap.",
                    "VnetAddressSpacesOverlap",
                    target=field,
                )
        nets.append(net)
    return nets


def subnet_prefix(
    name: str,
    props: SubnetProperties,
    field: str,
    vnet_name: str,
    space: list[Network],
    used: Taken,
) -> Network:
    """A subnet's one prefix, checked against the address space and the other subnets
    (``used``: name and prefix of each)."""
    values = list(props.address_prefixes or [])
    if props.address_prefix is not None:
        values = [props.address_prefix, *[v for v in values if v != props.address_prefix]]
    target = f"{field}.addressPrefix"
    if not values:
        raise BadRequest(
            f"Subnet '{name}' is not valid in virtual network '{vnet_name}': addressPrefix is required.",
            "NetcfgInvalidSubnet",
            target=target,
        )
    if len(values) > 1:
        raise BadRequest(
            f"Subnet '{name}' has {len(values)} address prefixes; crossconnect's subnets have one (addressPrefix).",
            "NetcfgInvalidSubnet",
            target=f"{field}.addressPrefixes",
        )
    net = parse_prefix(values[0], target, "NetcfgInvalidSubnet", f"subnet '{name}'")
    if net.prefixlen > MIN_SUBNET_PREFIX:
        raise BadRequest(
            f"Subnet '{name}' is not valid in virtual network '{vnet_name}': the smallest subnet is a "
            f"/{MIN_SUBNET_PREFIX} (Azure reserves five addresses of each), not {net}.",
            "NetcfgInvalidSubnet",
            target=target,
        )
    if not any(net.subnet_of(s) for s in space):
        raise BadRequest(
            f"Subnet '{name}' is not valid because its IP address range is outside the IP address range of "
            f"virtual network '{vnet_name}'.",
            "NetcfgSubnetRangeOutsideVnet",
            target=target,
        )
    clash = used.overlapping(net)
    if clash is not None:
        other_name, other = clash
        raise BadRequest(
            f"Subnet '{name}' is not valid because its IP address range overlaps with that of an existing "
            f"subnet ('{other_name}', {other}) in virtual network '{vnet_name}'.",
            "NetcfgSubnetRangesOverlap",
            target=target,
        )
    if name.lower() == GATEWAY_SUBNET.lower() and net.prefixlen > GATEWAY_SUBNET_MAX_PREFIX:
        raise BadRequest(
            f"The {GATEWAY_SUBNET} of virtual network '{vnet_name}' must be a /{GATEWAY_SUBNET_MAX_PREFIX} or "
            f"larger (Azure recommends /27), not {net}.",
            "GatewaySubnetTooSmall",
            target=target,
        )
    return net


def canonical_subnet_name(name: str) -> str:
    """Reserved names keep Azure's spelling whatever case they were sent in."""
    for reserved in RESERVED_SUBNET_NAMES:
        if name.lower() == reserved.lower():
            return reserved
    return name


def used_by(row: Row) -> list[str]:
    """The ids of the ipConfigurations placed in a subnet (gateways)."""
    return list(row["body"].get("internal", {}).get("ipConfigurations", []))


def render_subnet(row: Row) -> dict[str, Any]:
    p = row["body"]["properties"]
    props: dict[str, Any] = {
        "provisioningState": p.get("provisioningState", "Succeeded"),
        "addressPrefix": p["addressPrefix"],
        "delegations": [],
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    }
    configs = used_by(row)
    if configs:
        props["ipConfigurations"] = [{"id": c} for c in configs]
    return {"name": row["name"], "id": row["id"], "etag": row["etag"], "type": SUBNET_TYPE_NAME, "properties": props}
