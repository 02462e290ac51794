"""Checking the bodies of the operator and lab endpoints before anything is stored: each wrong
member is a 400 InvalidRequestContent naming it, never an exception deeper down (a later GET of
the edge, a troubleshooting call or a snapshot must not fail on what was accepted here)."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from crossconnect.arm.errors import BadRequest

MAX_SECONDS = 86_400.0  # a fault lasts at most a day
MAX_TEXT = 256


def bad(target: str, message: str) -> BadRequest:
    return BadRequest(message, "InvalidRequestContent", target=target)


def text(data: dict[str, Any], name: str, *, default: str | None = None, max_length: int = MAX_TEXT) -> str:
    """A required (or defaulted) non-empty string member."""
    value = data.get(name, default)
    if not isinstance(value, str) or not value:
        raise bad(name, f"'{name}' is required and must be a non-empty string.")
    if len(value) > max_length:
        raise bad(name, f"'{name}' is {len(value)} characters long; at most {max_length} are allowed.")
    return value


def seconds(data: dict[str, Any], name: str, default: float) -> float:
    """A duration in seconds: a finite number from 0 to a day."""
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(name, f"'{name}' must be a number of seconds, not {value!r}.")
    if not (0 <= value <= MAX_SECONDS) or not math.isfinite(float(value)):
        raise bad(name, f"'{name}' must be between 0 and {int(MAX_SECONDS)} seconds, not {value!r}.")
    return float(value)


def integer(value: Any, target: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(target, f"'{target}' must be an integer from {low} to {high}, not {value!r}.")
    return value


# The members of a declared edge peering, each checked so that the wire model can use it.
_ASN = (1, 4_294_967_295)


def edge_peering(fields: Any, target: str) -> dict[str, Any]:
    """``{"cTag", "address", "prefixLength", "asn", "remoteAsn", "md5", "advertisedPrefixes"}``, any subset."""
    if not isinstance(fields, dict):
        raise bad(target, f"'{target}' must be an object of edge settings (cTag, address, prefixLength, asn, ...).")
    out: dict[str, Any] = {}
    for field, value in fields.items():
        where = f"{target}.{field}"
        if field == "cTag":
            out[field] = integer(value, where, 0, 4094)
        elif field in ("asn", "remoteAsn"):
            out[field] = integer(value, where, *_ASN)
        elif field == "prefixLength":
            out[field] = integer(value, where, 0, 128)
        elif field == "address":
            if not isinstance(value, str):
                raise bad(where, f"'{where}' must be an IP address, not {value!r}.")
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise bad(where, f"'{where}' must be an IP address, not {value!r}.") from None
            out[field] = value
        elif field == "md5":
            if not isinstance(value, str) or len(value) > 80:
                raise bad(where, f"'{where}' must be a string of at most 80 characters.")
            out[field] = value
        elif field == "advertisedPrefixes":
            out[field] = _advertised(value, where)
        else:
            raise bad(
                where,
                f"{where} is unknown (known: cTag, address, prefixLength, asn, remoteAsn, md5, advertisedPrefixes).",
            )
    return out


def _advertised(value: Any, target: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > 100_000:
        raise bad(target, f'\'{target}\' must be a list of {{"prefix", "asPath"}} objects.')
    out = []
    for i, entry in enumerate(value):
        where = f"{target}[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"prefix", "asPath"}:
            raise bad(where, f"'{where}' must be an object with 'prefix' and an optional 'asPath'.")
        prefix, as_path = entry.get("prefix"), entry.get("asPath", "")
        try:
            network = ipaddress.ip_network(prefix, strict=False) if isinstance(prefix, str) else None
        except ValueError:
            network = None
        if network is None:
            raise bad(f"{where}.prefix", f"'{where}.prefix' must be an IP prefix in CIDR notation, not {prefix!r}.")
        if not isinstance(as_path, str) or len(as_path) > MAX_TEXT:
            raise bad(f"{where}.asPath", f"'{where}.asPath' must be a string of AS numbers.")
        out.append({"prefix": prefix, "asPath": as_path})
    return out
