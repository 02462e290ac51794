"""Where every generated value a client can see comes from: GUIDs (service keys, operation ids,
object ids, assignment names), request ids, ETags, secrets, device and user codes.

Without a seed they are cryptographically random (``secrets``; request ids, which are no
secret, from the fast Mersenne Twister). ``crossconnect serve --seed N`` (``seed(N)``) makes them
repeat exactly from run to run for the same sequence of requests: each purpose draws from its own
stream, ``random.Random("N/<stream>")``, so an extra draw in one subsystem never shifts another's
values. Seeded values are predictable by anyone who knows the seed: for tests only.

A leaf module: it imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
from collections.abc import Sequence

# The streams: one per kind of value, so adding a draw of one kind leaves the others as they were.
CREDENTIALS = "credentials"  # the seeded principals of credentials.json (a fresh data dir)
SECRETS = "secrets"  # client secrets and passwords made at run time
IDS = "ids"  # object ids, application ids, tenant and subscription ids, key ids, role assignments
SERVICE_KEYS = "service-keys"
OPERATIONS = "operations"  # long-running operation ids
REQUEST_IDS = "request-ids"  # x-ms-request-id, Graph request-id, Azure AD trace and correlation ids
ETAGS = "etags"
CODES = "codes"  # device codes, user codes, authorization keys, token ids (uti, jti)

_seed: int | None = None
_streams: dict[str, random.Random] = {}
_fast = random.Random()  # unseeded: request ids without a seed (no system call per request)
_lock = threading.Lock()
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def seed(value: int | None) -> None:
    """Seed every stream (``None``: back to cryptographically random values)."""
    global _seed
    with _lock:
        _seed = value
        _streams.clear()


def seeded() -> int | None:
    return _seed


def restart() -> None:
    """Every stream from its start again (a reset returns to the seeded set-up: the values after
    it repeat those after the server started)."""
    with _lock:
        _streams.clear()


def _stream(name: str) -> random.Random | None:
    if _seed is None:
        return None
    stream = _streams.get(name)
    if stream is None:
        with _lock:
            stream = _streams.setdefault(name, random.Random(f"{_seed}/{name}"))
    return stream


def _bits(stream: str, bits: int) -> int:
    source = _stream(stream)
    if source is None:
        return secrets.randbits(bits)
    with _lock:  # one draw at a time: threads must not interleave a stream's state
        return source.getrandbits(bits)


def guid(stream: str = IDS) -> str:
    """A version-4 GUID (lowercase, with hyphens)."""
    if _seed is None:
        # request ids are no secret: the Mersenne Twister spares a system call per request
        bits = _fast.getrandbits(128) if stream == REQUEST_IDS else secrets.randbits(128)
    else:
        bits = _bits(stream, 128)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def request_id() -> str:
    """``guid(REQUEST_IDS)`` on every request's path, without the stream look-up when unseeded."""
    h = f"{_fast.getrandbits(128) if _seed is None else _bits(REQUEST_IDS, 128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def hex_id(stream: str = IDS) -> str:
    """A GUID's 32 hex digits without hyphens."""
    return guid(stream).replace("-", "")


def token_urlsafe(stream: str, nbytes: int) -> str:
    if _seed is None:
        return secrets.token_urlsafe(nbytes)
    raw = _bits(stream, nbytes * 8).to_bytes(nbytes, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def token_hex(stream: str, nbytes: int) -> str:
    if _seed is None:
        return secrets.token_hex(nbytes)
    return _bits(stream, nbytes * 8).to_bytes(nbytes, "big").hex()


def choice(stream: str, alphabet: Sequence[str]) -> str:
    source = _stream(stream)
    if source is None:
        return secrets.choice(alphabet)
    with _lock:
        return alphabet[source.randrange(len(alphabet))]
