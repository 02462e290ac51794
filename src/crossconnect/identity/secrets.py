"""Client-secret generation and hashing. Secrets are random (~240 bits), so a salted
PBKDF2 is ample; the store never holds a secret in clear.

A hash costs milliseconds of CPU (PBKDF2, 20,000 rounds), so requests check secrets and passwords
with ``verify_any`` off the event loop, in one thread of their own (hashlib releases the GIL):
however many callers send wrong secrets at once, hashing takes at most that one core and ARM
requests keep the event loop to themselves."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from crossconnect import entropy

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
_ITERATIONS = 20_000


def new_secret(stream: str = entropy.SECRETS) -> str:
    """A secret shaped like Azure AD's: three-character prefix, ``Q~``, then 37 characters."""
    return (
        "".join(entropy.choice(stream, _ALPHABET[:62]) for _ in range(3))
        + "8Q~"
        + "".join(entropy.choice(stream, _ALPHABET) for _ in range(37))
    )


def new_salt() -> str:
    return _secrets.token_hex(16)


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), _ITERATIONS).hex()


def verify_secret(secret: str, salt: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), expected_hash)


_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossconnect-hashing")


def _matches_any(secret: str, candidates: list[tuple[str, str]]) -> bool:
    return any(verify_secret(secret, salt, expected_hash) for salt, expected_hash in candidates)


async def verify_any(secret: str, candidates: Iterable[tuple[str, str]]) -> bool:
    """Whether ``secret`` matches one of the ``(salt, hash)`` pairs, hashed in the hashing thread."""
    pairs = list(candidates)
    if not pairs:
        return False
    return await asyncio.get_running_loop().run_in_executor(_HASHING, _matches_any, secret, pairs)
