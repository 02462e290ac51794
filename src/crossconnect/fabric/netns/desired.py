"""What the wire should look like, as plain values: the network layer computes it from the store
(peerings, faults, edge declarations); the fabric makes the host match it."""

from __future__ import annotations

from dataclasses import dataclass

AZURE_ASN = 12076
GATEWAY_ASN = 65515


@dataclass(frozen=True)
class Neighbor:
    """One BGP neighbour on one MSEE: one peering on one link."""

    key: str  # "<serviceKey>/<link>/<peeringType>", stable for the life of the peering
    device: str
    port: str
    s_tag: int
    c_tag: int
    msee_address: str
    partner_address: str
    prefix_length: int
    peer_asn: int
    md5: str
    enabled: bool  # admin state: peering enabled, prefixes validated, no flap in progress
    link_up: bool  # no port, device or link fault
    import_limit: int
    advertises: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (prefix, BGP communities)
    # ExpressRoute gateways of connected virtual networks, learned inside Microsoft's network:
    # (gateway instance address, its prefixes), announced on with AS path 65515
    gateways: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def link_key(self) -> str:
        """A link is one (port, s-tag, c-tag)."""
        return f"{self.port}/{self.s_tag}/{self.c_tag}"


@dataclass(frozen=True)
class EdgePeer:
    """The partner router's side of one neighbour, as declared (or mirrored from the peering)."""

    neighbor_key: str
    s_tag: int
    c_tag: int
    address: str
    prefix_length: int
    asn: int
    remote_asn: int
    md5: str
    advertised: tuple[tuple[str, str], ...] = ()  # (prefix, AS path to prepend)


@dataclass(frozen=True)
class Edge:
    """The partner's router on one link of one circuit."""

    service_key: str
    link: str
    router: str  # "bird" (crossconnect runs it) or "external" (the partner runs their own)
    interface_up: bool
    peers: tuple[EdgePeer, ...] = ()


@dataclass(frozen=True)
class Wire:
    neighbors: tuple[Neighbor, ...] = ()
    edges: tuple[Edge, ...] = ()
