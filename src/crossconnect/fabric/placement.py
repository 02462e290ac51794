"""Placing circuits on MSEE port pairs and allocating their s-tags.

Each peering location has a primary and a secondary MSEE; each provider gets port pairs there
(one port on each device). A circuit lands on the first pair with room, counting bandwidth
against the pair's capacity (port bandwidth × overprovision factor), and gets an s-tag unique
on that pair. Usage is kept per pair in the store, updated in the caller's transaction.

Replicas share the store, so every change of a pair's usage reads it locked (``get_meta`` with
``for_update``) in the transaction that writes it back: placements on one pair take turns, the
bandwidth never goes past the capacity, and the s-tag counter hands each s-tag out once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from crossconnect.store import Store

PAIRS_PER_PROVIDER = 2
PORT_BANDWIDTH_MBPS = 10_000
OVERPROVISION_FACTOR = 4
FIRST_STAG = 2

# Azure's own test locations use these device prefixes (seen in public examples).
_KNOWN_CODES = {"area51": "A51-TEST", "euaptest": "EUAP-ARMTEST"}


@dataclass(frozen=True)
class PortPair:
    descriptor: str
    peering_location: str
    provider: str
    primary_port: str
    secondary_port: str
    port_bandwidth_mbps: int = PORT_BANDWIDTH_MBPS
    overprovision_factor: int = OVERPROVISION_FACTOR

    @property
    def capacity_mbps(self) -> int:
        return self.port_bandwidth_mbps * self.overprovision_factor


@dataclass(frozen=True)
class Placement:
    port_pair: str
    primary_port: str
    secondary_port: str
    s_tag: int


def location_code(peering_location: str) -> str:
    squeezed = re.sub(r"[^A-Za-z0-9]", "", peering_location)
    return _KNOWN_CODES.get(squeezed.lower(), squeezed.upper()[:12])


def _provider_code(provider: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", provider).lower()[:16] or "provider"


# Operator-added pairs: a list of ``PortPair`` fields (snake_case, as ``dataclasses.asdict`` gives).
_EXTRA_PAIRS = "fabric.portpairs.extra"


def port_pairs(
    peering_location: str, provider: str, store: Store | None = None, conn: Connection | None = None
) -> list[PortPair]:
    """The default pairs of a provider at a location, plus any the operator added."""
    code = location_code(peering_location)
    pairs = []
    for k in range(PAIRS_PER_PROVIDER):
        pairs.append(
            PortPair(
                descriptor=f"{_provider_code(provider)}-{code.lower()}-portpair{k + 1}",
                peering_location=peering_location,
                provider=provider,
                primary_port=f"{code}-06GMR-CIS-{2 * k + 1}-PRI-A",
                secondary_port=f"{code}-06GMR-CIS-{2 * k + 2}-SEC-A",
            )
        )
    if store is not None:
        for extra in store.get_meta(_EXTRA_PAIRS, conn) or []:
            if extra["peering_location"] == peering_location and extra["provider"] == provider:
                pairs.append(PortPair(**extra))
    return pairs


def add_port_pair(
    store: Store, peering_location: str, provider: str, port_bandwidth_mbps: int, overprovision_factor: int
) -> PortPair:
    """Operator: add a port pair (two new ports, one on each MSEE) for a provider at a location."""
    code = location_code(peering_location)
    added: list[PortPair] = []

    def add(extras: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        extras = list(extras or [])
        mine = [e for e in extras if e["peering_location"] == peering_location and e["provider"] == provider]
        k = PAIRS_PER_PROVIDER + len([e for e in extras if e["peering_location"] == peering_location])
        pair = PortPair(  # new port numbers after every pair at this location
            descriptor=f"{_provider_code(provider)}-{code.lower()}-portpair{PAIRS_PER_PROVIDER + len(mine) + 1}",
            peering_location=peering_location,
            provider=provider,
            primary_port=f"{code}-06GMR-CIS-{2 * k + 1}-PRI-A",
            secondary_port=f"{code}-06GMR-CIS-{2 * k + 2}-SEC-A",
            port_bandwidth_mbps=port_bandwidth_mbps,
            overprovision_factor=overprovision_factor,
        )
        added.append(pair)
        return [*extras, dict(pair.__dict__)]

    store.update_meta(_EXTRA_PAIRS, add)  # two operators adding pairs at once get distinct ports
    return added[-1]


def _usage_key(descriptor: str) -> str:
    return f"fabric.portpair.{descriptor}"


class CapacityExhausted(Exception):
    """No port pair has room for the bandwidth. The model says why and which input is to blame;
    the resource type turns it into the ARM error (fabric knows nothing of HTTP)."""

    code = "ExpressRoutePortCapacityExhausted"

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.message = message
        self.target = target


def usage(store: Store, descriptor: str, conn: Connection | None = None, *, for_update: bool = False) -> dict[str, Any]:
    """A pair's usage. ``for_update``: locked until ``conn``'s transaction ends (it will change it)."""
    stored = store.get_meta(_usage_key(descriptor), conn, for_update=for_update)
    return dict(stored or {"usedMbps": 0, "nextSTag": FIRST_STAG, "circuits": 0})


def place(store: Store, conn: Connection, peering_location: str, provider: str, bandwidth: int) -> Placement:
    # Pairs are locked in their fixed order and a full one stays locked until the transaction
    # ends: two placements never wait for each other's pairs the other way round.
    for pair in port_pairs(peering_location, provider, store, conn):
        used = usage(store, pair.descriptor, conn, for_update=True)
        if used["usedMbps"] + bandwidth <= pair.capacity_mbps:
            s_tag = int(used["nextSTag"])
            store.set_meta(
                _usage_key(pair.descriptor),
                {"usedMbps": used["usedMbps"] + bandwidth, "nextSTag": s_tag + 1, "circuits": used["circuits"] + 1},
                conn,
            )
            return Placement(pair.descriptor, pair.primary_port, pair.secondary_port, s_tag)
    raise CapacityExhausted(
        f"There is no port capacity left for a {bandwidth} Mbps circuit from '{provider}' at peering location "
        f"'{peering_location}'. Choose another peering location or a lower bandwidth, or ask the provider.",
        "properties.serviceProviderProperties.peeringLocation",
    )


def resize(
    store: Store,
    conn: Connection,
    placement: dict[str, Any],
    peering_location: str,
    provider: str,
    old_bandwidth: int,
    new_bandwidth: int,
) -> None:
    pair = next(p for p in port_pairs(peering_location, provider, store, conn) if p.descriptor == placement["portPair"])
    used = usage(store, pair.descriptor, conn, for_update=True)
    if used["usedMbps"] - old_bandwidth + new_bandwidth > pair.capacity_mbps:
        raise CapacityExhausted(
            f"The bandwidth cannot be increased to {new_bandwidth} Mbps: the circuit's port pair "
            f"'{pair.descriptor}' has {pair.capacity_mbps - used['usedMbps']} Mbps left.",
            "properties.serviceProviderProperties.bandwidthInMbps",
        )
    store.set_meta(
        _usage_key(pair.descriptor), {**used, "usedMbps": used["usedMbps"] - old_bandwidth + new_bandwidth}, conn
    )


def release(store: Store, conn: Connection, placement: dict[str, Any], bandwidth: int) -> None:
    used = usage(store, placement["portPair"], conn, for_update=True)
    store.set_meta(
        _usage_key(placement["portPair"]),
        {**used, "usedMbps": max(0, used["usedMbps"] - bandwidth), "circuits": max(0, used["circuits"] - 1)},
        conn,
    )
