"""Client-secret generation and hashing. Secrets are random (~240 bits), so a salted
PBKDF2 is ample; the store never holds a secret in clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
_ITERATIONS = 20_000


def new_secret() -> str:
    """A secret shaped like Azure AD's: three-character prefix, ``Q~``, then 37 characters."""
    return (
        "".join(_secrets.choice(_ALPHABET[:62]) for _ in range(3))
        + "8Q~"
        + "".join(_secrets.choice(_ALPHABET) for _ in range(37))
    )


def new_salt() -> str:
    return _secrets.token_hex(16)


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), _ITERATIONS).hex()


def verify_secret(secret: str, salt: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), expected_hash)
