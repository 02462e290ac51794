"""What the wire says: ARP entries, BGP sessions and routes on one MSEE link of one peering.

This is the seam between "what is programmed" (sub-interfaces and BGP neighbours on the MSEEs)
and "what the partner's edge does". Today a model derives the answer from both; a real-network
backend (namespaces, veth, a BGP speaker) would answer the same three questions. Every input
belongs to one peering on one link, so a derivation costs O(that peering), never a scan.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from crossconnect.fabric.addressing import link_addresses, same_subnet
from crossconnect.fabric.edge import EdgeLink, EdgePeering

AZURE_ASN = 12076
BYTES_PER_SECOND = 125_000  # traffic model for the counters of an established session


@dataclass(frozen=True)
class Programmed:
    """One sub-interface and BGP neighbour programmed on an MSEE for a peering."""

    device: str
    port: str
    s_tag: int
    vlan_id: int
    msee_address: str
    neighbor: str
    prefix_length: int
    peer_asn: int
    md5: str
    enabled: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def program(link: str, placement: dict[str, Any], props: dict[str, Any]) -> Programmed:
    prefix = props["primaryPeerAddressPrefix" if link == "primary" else "secondaryPeerAddressPrefix"]
    addresses = link_addresses(prefix)
    port = placement["primaryAzurePort" if link == "primary" else "secondaryAzurePort"]
    return Programmed(
        device=device_of(port),
        port=port,
        s_tag=int(placement["sTag"]),
        vlan_id=int(props["vlanId"]),
        msee_address=str(addresses.msee),
        neighbor=str(addresses.partner),
        prefix_length=addresses.network.prefixlen,
        peer_asn=int(props["peerASN"]),
        md5=str(props.get("sharedKey", "")),
        enabled=props.get("state", "Enabled") == "Enabled",
    )


def device_of(port: str) -> str:
    """``A51-TEST-06GMR-CIS-1-PRI-A`` sits on the primary MSEE ``A51-TEST-06GMR-CIS-PRI``."""
    parts = port.split("-")
    role = "PRI" if "PRI" in parts else "SEC"
    return "-".join(parts[:-3] + [role]) if len(parts) > 3 else port


def mac(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
    return f"{digest[0:4]}.{digest[4:8]}.{digest[8:12]}"


@dataclass
class LinkInputs:
    """Everything the wire of one peering on one link depends on."""

    link: str
    service_key: str
    peering_type: str
    programmed: Programmed | None  # None: nothing programmed on the Microsoft side
    edge: EdgeLink
    edge_peering: EdgePeering | None
    microsoft_link_up: bool
    flapping: bool
    prefix_limit: int
    admin_down_reason: str | None  # peering disabled, Microsoft prefixes not validated, ...
    microsoft_advertises: list[str] = field(default_factory=list)
    # Global Reach: the on-premises routes of peer circuits, learned through Microsoft's network
    # ([{"prefix", "asPath"}], the path as the peer's edge sent it, its ASN first)
    global_reach: list[dict[str, Any]] = field(default_factory=list)
    # ExpressRoute gateways of connected virtual networks: what the MSEE learns from them
    # ([{"prefix", "nextHop", "asPath"}]: a gateway instance's address, path "65515")
    virtual_networks: list[dict[str, Any]] = field(default_factory=list)
    since: float = 0.0  # when this link's inputs last changed


@dataclass(frozen=True)
class Session:
    state: str  # "Established" or a router's non-established state
    received: int
    since: float

    @property
    def established(self) -> bool:
        return self.state == "Established"


def arp_resolves(i: LinkInputs) -> bool:
    """ARP resolves iff Microsoft's sub-interface exists and is up, the partner's interface is
    up, both tags agree and the partner sits on the link's subnet."""
    p, e = i.programmed, i.edge_peering
    if p is None or e is None or not i.microsoft_link_up or not i.edge.interface_up:
        return False
    if i.edge.s_tag != p.s_tag or e.c_tag != p.vlan_id:
        return False
    link = link_addresses(f"{_network_of(p)}")
    return same_subnet(e.address, e.prefix_length, link) and e.address == p.neighbor


def _network_of(p: Programmed) -> str:
    import ipaddress

    return str(ipaddress.ip_interface(f"{p.msee_address}/{p.prefix_length}").network)


def arp_table(i: LinkInputs, now: float | None = None) -> list[dict[str, Any]]:
    p = i.programmed
    if p is None or not i.microsoft_link_up:
        return []  # "You don't see an ARP table" when the Microsoft side is missing or down
    now = now or time.time()
    microsoft = {"age": 0, "interface": "Microsoft", "ipAddress": p.msee_address, "macAddress": mac(f"msee/{p.port}")}
    if arp_resolves(i):
        assert i.edge_peering is not None
        age = int(min(max(now - i.since, 0), 14400) // 60)
        partner = {
            "age": age,
            "interface": "On-Prem",
            "ipAddress": i.edge_peering.address,
            "macAddress": mac(f"edge/{i.service_key}/{i.link}"),
        }
    else:
        partner = {"age": 0, "interface": "On-Prem", "ipAddress": p.neighbor, "macAddress": "Incomplete"}
    return [partner, microsoft]


def session(i: LinkInputs) -> Session:
    p, e = i.programmed, i.edge_peering
    if p is None:
        return Session("Idle", 0, i.since)
    if i.admin_down_reason is not None or not p.enabled:
        return Session("Idle (Admin)", 0, i.since)
    if not i.microsoft_link_up or not i.edge.interface_up:
        return Session("Idle", 0, i.since)
    if not arp_resolves(i):
        return Session("Active", 0, i.since)
    assert e is not None
    if p.md5 != e.md5:
        return Session("Connect", 0, i.since)  # TCP-MD5 mismatch: SYNs are dropped
    if e.asn != p.peer_asn or e.remote_asn != AZURE_ASN:
        return Session("Idle", 0, i.since)  # OPEN refused: bad peer AS
    if i.flapping:
        return Session("Active", 0, i.since)
    received = len(e.advertised)
    if received > i.prefix_limit:
        return Session("Idle (PfxCt)", 0, i.since)  # the limit drops the session
    return Session("Established", received, i.since)


def up_down(since: float, established: bool, now: float | None = None) -> str:
    if not established and since == 0:
        return "never"
    seconds = int(max((now or time.time()) - since, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days >= 7:
        return f"{days // 7}w{days % 7}d"
    if days:
        return f"{days}d{hours}h"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def msee_link_up(i: LinkInputs) -> bool:
    """Microsoft's side of this link is programmed and up: the MSEE's sessions with the
    virtual networks' gateways (inside Microsoft's network) run whatever the partner's edge does."""
    return i.programmed is not None and i.microsoft_link_up


def route_table(i: LinkInputs) -> list[dict[str, Any]]:
    routes = []
    if session(i).established:
        assert i.edge_peering is not None and i.programmed is not None
        for ad in i.edge_peering.advertised:
            path = " ".join(x for x in [str(i.edge_peering.asn), str(ad.get("asPath", "")).strip()] if x)
            routes.append(
                {"network": ad["prefix"], "nextHop": i.edge_peering.address, "locPrf": "", "weight": 0, "path": path}
            )
        for prefix in i.microsoft_advertises:
            routes.append(
                {
                    "network": prefix,
                    "nextHop": i.programmed.msee_address,
                    "locPrf": "",
                    "weight": 0,
                    "path": str(AZURE_ASN),
                }
            )
        for ad in i.global_reach:
            path = " ".join(x for x in [str(AZURE_ASN), str(ad.get("asPath", "")).strip()] if x)
            routes.append(
                {"network": ad["prefix"], "nextHop": i.programmed.msee_address, "locPrf": "", "weight": 0, "path": path}
            )
    if msee_link_up(i):
        for ad in i.virtual_networks:
            routes.append(
                {"network": ad["prefix"], "nextHop": ad["nextHop"], "locPrf": "", "weight": 0, "path": ad["asPath"]}
            )
    return routes


def gateway_neighbors(i: LinkInputs) -> list[tuple[str, int]]:
    """The MSEE's BGP neighbours inside Microsoft's network on this link: each ExpressRoute gateway
    instance of a connected virtual network, with the number of prefixes it sent."""
    if not msee_link_up(i):
        return []
    counts: dict[str, int] = {}
    for ad in i.virtual_networks:
        counts[ad["nextHop"]] = counts.get(ad["nextHop"], 0) + 1
    return sorted(counts.items())


def edge_received(i: LinkInputs) -> list[dict[str, Any]]:
    """What the partner's edge receives from the MSEE on this link (its BGP table's entries learned
    from Microsoft): Microsoft's prefixes, Global Reach routes and the virtual networks' address
    spaces, each with 12076 in front of the path the MSEE has."""
    if not session(i).established:
        return []
    assert i.programmed is not None
    out = [
        {"prefix": p, "nextHop": i.programmed.msee_address, "asPath": str(AZURE_ASN)} for p in i.microsoft_advertises
    ]
    for ad in [*i.global_reach, *i.virtual_networks]:
        path = " ".join(x for x in [str(AZURE_ASN), str(ad.get("asPath", "")).strip()] if x)
        out.append({"prefix": ad["prefix"], "nextHop": i.programmed.msee_address, "asPath": path})
    # a prefix two gateway instances both send is one route at the edge (one best path)
    seen: set[tuple[str, str]] = set()
    unique = []
    for route in out:
        if (route["prefix"], route["asPath"]) not in seen:
            seen.add((route["prefix"], route["asPath"]))
            unique.append(route)
    return unique


def byte_counters(i: LinkInputs, now: float | None = None) -> tuple[int, int]:
    """(bytes in, bytes out) on this link: traffic flows only while the session is up."""
    s = session(i)
    if not s.established:
        return 0, 0
    seconds = max((now or time.time()) - s.since, 0)
    return int(seconds * BYTES_PER_SECOND), int(seconds * BYTES_PER_SECOND * 0.8)
