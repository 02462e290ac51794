"""A small routing-registry model (what RIR/IRR objects say): which ASN a public prefix is
registered to. Microsoft peering's advertised prefixes are checked against it: prefixes not
registered to the customer ASN leave the peering in ``ValidationNeeded``. The operator API
edits it; the default entries are examples documented in the README."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import Connection

from crossconnect.store import Store

_KEY = "routing.registry"

DEFAULT_ENTRIES: list[dict[str, Any]] = [
    {"prefix": "131.107.0.0/16", "asn": 3598, "registry": "ARIN"},
    {"prefix": "193.0.0.0/21", "asn": 3333, "registry": "RIPENCC"},
    {"prefix": "202.12.28.0/22", "asn": 4608, "registry": "APNIC"},
    {"prefix": "2001:67c:2e8::/48", "asn": 3333, "registry": "RIPENCC"},
]


def entries(store: Store, conn: Connection | None = None) -> list[dict[str, Any]]:
    stored = store.get_meta(_KEY, conn)
    return list(DEFAULT_ENTRIES if stored is None else stored)


def replace_entries(store: Store, new_entries: list[dict[str, Any]], conn: Connection | None = None) -> None:
    for entry in new_entries:
        ipaddress.ip_network(str(entry["prefix"]), strict=True)
        int(entry["asn"])
    store.set_meta(_KEY, new_entries, conn)


def is_registered(store: Store, prefix: str, asn: int, conn: Connection | None = None) -> bool:
    network = ipaddress.ip_network(prefix, strict=False)
    for entry in entries(store, conn):
        registered = ipaddress.ip_network(entry["prefix"], strict=False)
        if (
            registered.version == network.version
            and network.subnet_of(registered)  # type: ignore[arg-type]
            and int(entry["asn"]) == asn
        ):
            return True
    return False
