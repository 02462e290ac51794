"""The partner's edge router, as the lab declares it.

Per circuit and link (primary/secondary): interface up/down and the s-tag it sends; per peering
on that link: the c-tag, its address and prefix length, its ASN (and the ASN it expects from
Microsoft), its MD5 key and the prefixes it advertises. Anything not declared mirrors the
peering configuration — a correctly configured partner router — so the troubleshooting
operations are useful out of the box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crossconnect import clock
from crossconnect.fabric.addressing import link_addresses
from crossconnect.store import Store

LINKS = ("primary", "secondary")
DEFAULT_PRIVATE_PREFIXES = ["10.10.0.0/16", "10.20.0.0/16", "172.16.10.0/24"]


@dataclass(frozen=True)
class EdgePeering:
    c_tag: int
    address: str
    prefix_length: int
    asn: int
    remote_asn: int
    md5: str
    advertised: list[dict[str, Any]] = field(default_factory=list)  # [{"prefix", "asPath"}]


@dataclass(frozen=True)
class EdgeLink:
    interface_up: bool
    s_tag: int
    peerings: dict[str, EdgePeering]


def _key(service_key: str) -> str:
    return f"fabric.edge.{service_key.lower()}"


def declaration(store: Store, service_key: str) -> dict[str, Any]:
    return dict(store.get_meta(_key(service_key)) or {})


def declare(store: Store, service_key: str, link: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge a declaration for one link (``{"interfaceUp", "sTag", "peerings": {type: {...}}}``)."""

    def merge(stored: dict[str, Any] | None) -> dict[str, Any]:
        current = dict(stored or {})
        link_decl = dict(current.get(link, {}))
        for name, value in changes.items():
            if name == "peerings":
                merged = dict(link_decl.get("peerings", {}))
                for peering_type, fields in value.items():
                    merged[peering_type] = {**merged.get(peering_type, {}), **fields}
                link_decl["peerings"] = merged
            else:
                link_decl[name] = value
        current[link] = link_decl
        current["updatedAt"] = clock.now()
        return current

    # one step: a declaration made at the same time (any replica) is merged, not overwritten
    return store.update_meta(_key(service_key), merge)


def clear(store: Store, service_key: str) -> None:
    store.set_meta(_key(service_key), {"updatedAt": clock.now()})


def updated_at(store: Store, service_key: str) -> float:
    return float(declaration(store, service_key).get("updatedAt", 0.0))


def edge_link(store: Store, service_key: str, link: str, s_tag: int, peerings: list[dict[str, Any]]) -> EdgeLink:
    """The partner router on one link: declarations over the mirrored peering configuration."""
    decl = declaration(store, service_key).get(link, {})
    declared_peerings = decl.get("peerings", {})
    out: dict[str, EdgePeering] = {}
    for peering in peerings:
        p = peering["body"]["properties"]
        prefix = p["primaryPeerAddressPrefix" if link == "primary" else "secondaryPeerAddressPrefix"]
        addresses = link_addresses(prefix)
        d = declared_peerings.get(p["peeringType"], {})
        default_ads = (
            [{"prefix": x, "asPath": ""} for x in p["microsoftPeeringConfig"]["advertisedPublicPrefixes"]]
            if p["peeringType"] == "MicrosoftPeering"
            else [{"prefix": x, "asPath": ""} for x in DEFAULT_PRIVATE_PREFIXES]
        )
        out[p["peeringType"]] = EdgePeering(
            c_tag=int(d.get("cTag", p["vlanId"])),
            address=str(d.get("address", addresses.partner)),
            prefix_length=int(d.get("prefixLength", addresses.network.prefixlen)),
            asn=int(d.get("asn", p["peerASN"])),
            remote_asn=int(d.get("remoteAsn", 12076)),
            md5=str(d.get("md5", p.get("sharedKey", ""))),
            advertised=list(d.get("advertisedPrefixes", default_ads)),
        )
    return EdgeLink(bool(decl.get("interfaceUp", True)), int(decl.get("sTag", s_tag)), out)
