"""The body of virtualNetworkGateways (ExpressRoute only): what a PUT may send, the rules Azure
checks (gateway type and SKU, one ipConfiguration in the virtual network's GatewaySubnet with a
Standard public IP), and the gateway's BGP settings."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import Field

from crossconnect.arm.bodies import LenientModel, LenientTrackedResourceBody
from crossconnect.arm.errors import BadRequest
from crossconnect.network.virtual_networks.bodies import GATEWAY_SUBNET

GATEWAY_TYPE = "microsoft.network/virtualnetworkgateways"
GATEWAY_TYPE_NAME = "Microsoft.Network/virtualNetworkGateways"
# The ASN of every ExpressRoute gateway; Microsoft's edge (12076) learns the virtual network from it.
GATEWAY_ASN = 65515
SKUS = ("Standard", "HighPerformance", "UltraPerformance", "ErGw1AZ", "ErGw2AZ", "ErGw3AZ", "ErGwScale")
# A gateway runs as two instances, on the first two addresses Azure leaves free in the GatewaySubnet
# (it reserves .0-.3 and the last): .4 and .5.
INSTANCE_OFFSETS = (4, 5)

SUBNET_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Network/"
    r"virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)$",
    re.IGNORECASE,
)
PUBLIC_IP_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Network/"
    r"publicIPAddresses/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


class SubResource(LenientModel):
    id: str | None = None


class IpConfigurationProperties(LenientModel):
    private_ip_allocation_method: str | None = Field(default=None, alias="privateIPAllocationMethod")
    subnet: SubResource | None = None
    public_ip_address: SubResource | None = Field(default=None, alias="publicIPAddress")


class IpConfiguration(LenientModel):
    id: str | None = None
    name: str | None = None
    etag: str | None = None
    properties: IpConfigurationProperties = Field(default_factory=IpConfigurationProperties)


class GatewaySku(LenientModel):
    name: str | None = None
    tier: str | None = None
    capacity: int | None = None


class BgpSettings(LenientModel):
    asn: int | None = None


class GatewayProperties(LenientModel):
    gateway_type: str | None = Field(default=None, alias="gatewayType")
    vpn_type: str | None = Field(default=None, alias="vpnType")
    sku: GatewaySku | None = None
    ip_configurations: list[IpConfiguration] | None = Field(default=None, alias="ipConfigurations")
    active_active: bool | None = Field(default=None, alias="activeActive")
    enable_bgp: bool | None = Field(default=None, alias="enableBgp")
    bgp_settings: BgpSettings | None = Field(default=None, alias="bgpSettings")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class GatewayBody(LenientTrackedResourceBody):
    properties: GatewayProperties = Field(default_factory=GatewayProperties)


def _bad(code: str, field: str, message: str) -> BadRequest:
    return BadRequest(message, code, target=field)


def check_type_and_sku(p: GatewayProperties, existing: dict[str, Any] | None) -> dict[str, str]:
    old = existing["body"]["properties"] if existing else None
    gateway_type = p.gateway_type or (old["gatewayType"] if old else None)
    if gateway_type is None:
        raise _bad("GatewayTypeRequired", "properties.gatewayType", "properties.gatewayType is required: ExpressRoute.")
    if gateway_type != "ExpressRoute":
        raise _bad(
            "VirtualNetworkGatewayTypeNotSupported",
            "properties.gatewayType",
            f"gatewayType '{gateway_type}' is not supported: crossconnect's virtual network gateways are ExpressRoute "
            "gateways (gatewayType ExpressRoute).",
        )
    sku = p.sku
    name = (sku.name if sku else None) or (old["sku"]["name"] if old else None)
    if name is None:
        raise _bad("GatewaySkuRequired", "properties.sku.name", f"properties.sku.name is required: one of {SKUS}.")
    if name not in SKUS:
        raise _bad(
            "InvalidGatewaySku",
            "properties.sku.name",
            f"The SKU '{name}' is not an ExpressRoute gateway SKU; use one of {', '.join(SKUS)}.",
        )
    tier = (sku.tier if sku else None) or name
    if tier != name:
        raise _bad(
            "InvalidGatewaySku",
            "properties.sku.tier",
            f"The SKU tier '{tier}' must equal the SKU name '{name}'.",
        )
    if p.bgp_settings is not None and p.bgp_settings.asn not in (None, 0, GATEWAY_ASN):
        raise _bad(
            "InvalidBgpAsnForExpressRouteGateway",
            "properties.bgpSettings.asn",
            f"An ExpressRoute gateway's ASN is {GATEWAY_ASN}; it cannot be set to {p.bgp_settings.asn}.",
        )
    if p.active_active:
        raise _bad(
            "ActiveActiveNotSupportedForExpressRouteGateway",
            "properties.activeActive",
            "activeActive applies to VPN gateways; an ExpressRoute gateway always runs two instances.",
        )
    return {"name": name, "tier": name}


def ip_configuration(p: GatewayProperties) -> tuple[IpConfiguration, str, str]:
    """The one ipConfiguration, its subnet id and its public IP id (shape only; existence and the
    subnet's name and size are checked by the strategy against the stored rows)."""
    configs = p.ip_configurations or []
    field = "properties.ipConfigurations"
    if len(configs) != 1:
        raise _bad(
            "InvalidIpConfigurationCount",
            field,
            f"An ExpressRoute gateway has exactly one ipConfiguration (got {len(configs)}).",
        )
    config = configs[0]
    subnet = config.properties.subnet.id if config.properties.subnet else None
    match = SUBNET_ID.match(subnet or "")
    if match is None:
        raise _bad(
            "InvalidGatewaySubnetReference",
            f"{field}[0].properties.subnet.id",
            f"ipConfigurations[0].properties.subnet.id must be the id of a virtual network's {GATEWAY_SUBNET} "
            f"(…/virtualNetworks/{{name}}/subnets/{GATEWAY_SUBNET}), not '{subnet}'.",
        )
    if match["subnet"] != GATEWAY_SUBNET:
        raise _bad(
            "GatewaySubnetRequired",
            f"{field}[0].properties.subnet.id",
            f"A virtual network gateway must be placed in the subnet named '{GATEWAY_SUBNET}'; subnet "
            f"'{match['subnet']}' cannot hold it.",
        )
    public_ip = config.properties.public_ip_address.id if config.properties.public_ip_address else None
    if public_ip is None:
        raise _bad(
            "PublicIpAddressRequired",
            f"{field}[0].properties.publicIPAddress.id",
            "ipConfigurations[0].properties.publicIPAddress.id is required: a Standard, static public IP address.",
        )
    if PUBLIC_IP_ID.match(public_ip) is None:
        raise _bad(
            "InvalidPublicIpAddressReference",
            f"{field}[0].properties.publicIPAddress.id",
            f"'{public_ip}' is not the id of a public IP address (…/providers/Microsoft.Network/publicIPAddresses/"
            "{name}).",
        )
    return config, subnet or "", public_ip


def instance_addresses(gateway_subnet: str) -> list[str]:
    net = ipaddress.IPv4Network(gateway_subnet)
    return [str(net.network_address + offset) for offset in INSTANCE_OFFSETS]


def bgp_settings(config_id: str, addresses: list[str]) -> dict[str, Any]:
    return {
        "asn": GATEWAY_ASN,
        "bgpPeeringAddress": ",".join(addresses),
        "peerWeight": 0,
        "bgpPeeringAddresses": [
            {
                "ipconfigurationId": config_id,
                "defaultBgpIpAddresses": list(addresses),
                "customBgpIpAddresses": [],
                "tunnelIpAddresses": [],
            }
        ],
    }
