"""ExpressRoute Direct: port pairs reserved whole for one customer, and the circuits on them.

Every peering location has a small stock of Direct port pairs on its two MSEEs (the same
devices the providers' port pairs sit on): ``STOCK`` pairs per port bandwidth. An
``expressRoutePort`` takes one free pair of its bandwidth for as long as it exists. Circuits on
the port count their bandwidth against the pair's capacity (the port bandwidth times
``OVERSUBSCRIPTION``, as Azure allows) and, on a QinQ port, each gets an s-tag unique on the
pair; on a Dot1Q port the customer's frames carry one tag only, so circuits have s-tag 0.

Replicas share the store: the stock of a location and the usage of a pair are read locked
(``get_meta(..., for_update=True)``) in the transaction that writes them back, so two ports never
get one pair and the circuits on a pair never exceed its capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from crossconnect.fabric.placement import FIRST_STAG, CapacityExhausted, location_code
from crossconnect.store import Store

# Port pairs per location and port bandwidth (Gbps), in the order they are handed out.
STOCK: dict[int, int] = {10: 2, 100: 1}
OVERSUBSCRIPTION = 2  # Azure: circuits up to twice the port bandwidth (20 Gbps on 10, 200 on 100)
# The circuit bandwidths (Gbps) Azure offers on a Direct port of each size.
CIRCUIT_BANDWIDTHS: dict[int, tuple[float, ...]] = {10: (1, 2, 5, 10), 100: (5, 10, 40, 100)}


@dataclass(frozen=True)
class DirectPair:
    descriptor: str
    peering_location: str
    bandwidth_gbps: int
    number: int  # the pair's number at its location (port names, patch panel, rack)
    primary_port: str
    secondary_port: str

    @property
    def capacity_gbps(self) -> int:
        return self.bandwidth_gbps * OVERSUBSCRIPTION


def pairs(peering_location: str) -> list[DirectPair]:
    """The Direct port pairs of a location, in the order they are handed out."""
    code = location_code(peering_location)
    out = []
    number = 0
    for bandwidth, count in sorted(STOCK.items()):
        for k in range(count):
            number += 1
            out.append(
                DirectPair(
                    descriptor=f"direct-{code.lower()}-{bandwidth}g-{k + 1}",
                    peering_location=peering_location,
                    bandwidth_gbps=bandwidth,
                    number=number,
                    primary_port=f"{code}-06GMR-CIS-D{number}-PRI-A",
                    secondary_port=f"{code}-06GMR-CIS-D{number}-SEC-A",
                )
            )
    return out


def find_pair(peering_location: str, descriptor: str) -> DirectPair | None:
    return next((p for p in pairs(peering_location) if p.descriptor == descriptor), None)


def _stock_key(peering_location: str) -> str:
    return f"fabric.direct.stock.{location_code(peering_location).lower()}"


def _usage_key(descriptor: str) -> str:
    return f"fabric.direct.pair.{descriptor}"


class OutOfStock(Exception):
    """No free Direct port pair of the bandwidth at the location."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def free_bandwidths(store: Store, peering_location: str, conn: Connection | None = None) -> list[int]:
    """The port bandwidths (Gbps) with a free pair at the location: its real-time inventory."""
    taken = (store.get_meta(_stock_key(peering_location), conn) or {}).get("allocated", {})
    return sorted({p.bandwidth_gbps for p in pairs(peering_location) if p.descriptor not in taken})


def owner(store: Store, pair: DirectPair, conn: Connection | None = None) -> str | None:
    """The resource id of the port that holds the pair (None: free)."""
    taken = (store.get_meta(_stock_key(pair.peering_location), conn) or {}).get("allocated", {})
    owner_id = taken.get(pair.descriptor)
    return str(owner_id) if owner_id else None


def allocate(store: Store, conn: Connection, peering_location: str, bandwidth_gbps: int, owner: str) -> DirectPair:
    """Reserve the first free pair of ``bandwidth_gbps`` at the location for port ``owner``."""
    stock = dict(store.get_meta(_stock_key(peering_location), conn, for_update=True) or {})
    taken = dict(stock.get("allocated", {}))
    for pair in pairs(peering_location):
        if pair.bandwidth_gbps == bandwidth_gbps and pair.descriptor not in taken:
            taken[pair.descriptor] = owner
            store.set_meta(_stock_key(peering_location), {**stock, "allocated": taken}, conn)
            store.set_meta(_usage_key(pair.descriptor), {"usedGbps": 0, "nextSTag": FIRST_STAG, "circuits": []}, conn)
            return pair
    raise OutOfStock(
        f"There is no free {bandwidth_gbps} Gbps ExpressRoute Direct port pair at peering location "
        f"'{peering_location}'. Choose another peering location or bandwidth (expressRoutePortsLocations "
        "lists what is available)."
    )


def free(store: Store, conn: Connection, peering_location: str, descriptor: str) -> None:
    """Give a port's pair back to the location's stock."""
    stock = dict(store.get_meta(_stock_key(peering_location), conn, for_update=True) or {})
    taken = dict(stock.get("allocated", {}))
    taken.pop(descriptor, None)
    store.set_meta(_stock_key(peering_location), {**stock, "allocated": taken}, conn)
    store.set_meta(_usage_key(descriptor), {"usedGbps": 0, "nextSTag": FIRST_STAG, "circuits": []}, conn)


def usage(store: Store, descriptor: str, conn: Connection | None = None, *, for_update: bool = False) -> dict[str, Any]:
    """A pair's circuits: ``usedGbps``, ``nextSTag`` and ``circuits`` (their resource ids)."""
    stored = store.get_meta(_usage_key(descriptor), conn, for_update=for_update)
    return dict(stored or {"usedGbps": 0, "nextSTag": FIRST_STAG, "circuits": []})


def _gbps(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def add_circuit(
    store: Store, conn: Connection, pair: DirectPair, circuit_id: str, bandwidth_gbps: float, qinq: bool
) -> int:
    """Count a new circuit's bandwidth on the pair; its s-tag (0 on a Dot1Q port)."""
    used = usage(store, pair.descriptor, conn, for_update=True)
    if used["usedGbps"] + bandwidth_gbps > pair.capacity_gbps:
        raise CapacityExhausted(
            f"The ExpressRoute port has {_gbps(pair.capacity_gbps - used['usedGbps'])} Gbps left of "
            f"{pair.capacity_gbps} Gbps ({OVERSUBSCRIPTION} x its {pair.bandwidth_gbps} Gbps); a "
            f"{_gbps(bandwidth_gbps)} Gbps circuit does not fit.",
            "properties.bandwidthInGbps",
        )
    s_tag = int(used["nextSTag"]) if qinq else 0
    store.set_meta(
        _usage_key(pair.descriptor),
        {
            "usedGbps": _gbps(used["usedGbps"] + bandwidth_gbps),
            "nextSTag": int(used["nextSTag"]) + (1 if qinq else 0),
            "circuits": [*used["circuits"], circuit_id],
        },
        conn,
    )
    return s_tag


def resize_circuit(store: Store, conn: Connection, pair: DirectPair, old_gbps: float, new_gbps: float) -> None:
    used = usage(store, pair.descriptor, conn, for_update=True)
    if used["usedGbps"] - old_gbps + new_gbps > pair.capacity_gbps:
        raise CapacityExhausted(
            f"The bandwidth cannot be increased to {_gbps(new_gbps)} Gbps: the ExpressRoute port has "
            f"{_gbps(pair.capacity_gbps - used['usedGbps'])} Gbps left of {pair.capacity_gbps} Gbps.",
            "properties.bandwidthInGbps",
        )
    store.set_meta(
        _usage_key(pair.descriptor), {**used, "usedGbps": _gbps(used["usedGbps"] - old_gbps + new_gbps)}, conn
    )


def remove_circuit(store: Store, conn: Connection, descriptor: str, circuit_id: str, bandwidth_gbps: float) -> None:
    used = usage(store, descriptor, conn, for_update=True)
    circuits = [c for c in used["circuits"] if c.lower() != circuit_id.lower()]
    store.set_meta(
        _usage_key(descriptor),
        {**used, "usedGbps": _gbps(max(0, used["usedGbps"] - bandwidth_gbps)), "circuits": circuits},
        conn,
    )
