"""Addressing rules of a peering link: in each /30 (/126) the first usable address is the
partner's router and the second is the MSEE's ("Azure always uses the second IP address")."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LinkAddresses:
    network: IPNetwork
    partner: IPAddress
    msee: IPAddress


def link_addresses(prefix: str) -> LinkAddresses:
    network = ipaddress.ip_network(prefix, strict=True)
    first = network.network_address + 1
    return LinkAddresses(network, first, first + 1)


def same_subnet(address: str, prefix_length: int, link: LinkAddresses) -> bool:
    """Does an interface configured ``address/prefix_length`` sit on the link's subnet, with an
    address of its own (not the network, broadcast or the MSEE's)?"""
    try:
        ip = ipaddress.ip_address(address)
        configured = ipaddress.ip_interface(f"{address}/{prefix_length}").network
    except ValueError:
        return False
    if configured != link.network or ip == link.msee or ip == link.network.network_address:
        return False
    return not (link.network.version == 4 and ip == link.network.broadcast_address)
