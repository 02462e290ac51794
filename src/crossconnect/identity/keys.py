"""JWT signing keys, kept in the store so that every replica signs and verifies alike.

Each key has a ``kid``; the newest key signs. Rotation adds a new key; the keys it replaces stay
published in the JWKS (and accepted) only while tokens they signed may still be valid: for
``retired_window`` seconds (the token lifetime plus a clock skew) after they were replaced. Then
they leave the JWKS, are refused, and the next rotation deletes them.

Private keys are stored encrypted: PKCS#8 PEM encrypted with the key-encryption key, which is not
in the database (the server keeps it in its data dir; replicas on one database share the file).
A reader of the database or of a backup cannot sign a token.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossconnect import clock
from crossconnect.store import Store

_CLEAR = "-----BEGIN PRIVATE KEY-----"  # a key stored before encryption (sealed at start)
_RELOAD_AFTER = 5.0  # seconds: how stale a replica's view of rotations may be when verifying


class KeyEncryptionKeyMismatch(RuntimeError):
    """The database's signing keys were encrypted with another key-encryption key."""


def _b64u(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def seal(key: rsa.RSAPrivateKey, secret: bytes) -> str:
    """The encrypted PKCS#8 PEM kept in the store (``openssl pkey -passin file:KEK`` opens it)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(secret)
    ).decode()


def unseal(pem: str, secret: bytes) -> rsa.RSAPrivateKey:
    """The private key of a stored row; ``KeyEncryptionKeyMismatch`` when ``secret`` cannot open it."""
    # The RSA consistency check is skipped: every stored key is one this server generated
    # (``rotate``), and the check costs ~40 ms of CPU per key at every start. A wrong ``secret``
    # still fails: the decrypted bytes are not a PKCS#8 key.
    try:
        loaded = serialization.load_pem_private_key(
            pem.encode(),
            password=None if pem.startswith(_CLEAR) else secret,
            unsafe_skip_rsa_key_validation=True,
        )
    except (ValueError, TypeError) as exc:
        raise KeyEncryptionKeyMismatch(str(exc)) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise KeyEncryptionKeyMismatch("not an RSA key")
    return loaded


@dataclass(frozen=True)
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    public: rsa.RSAPublicKey
    created_at: float
    retired_at: float | None  # when a newer key replaced it; None for the signing key


class SigningKeys:
    def __init__(self, store: Store, secret: bytes, retired_window: float) -> None:
        self.store = store
        self.secret = secret
        self.retired_window = retired_window
        self._lock = threading.Lock()
        self._opened: dict[str, rsa.RSAPrivateKey] = {}  # kid → key, decrypted once per process
        self._keys: dict[str, _Key] = {}
        self._newest: str | None = None
        self._loaded_at = 0.0

    def ensure(self) -> None:
        """Seal keys stored in clear by an older version, create the first key if there is none,
        and check that this server's key-encryption key opens the stored ones."""
        with self.store.tx() as conn:
            for row in self.store.find_all("signing_keys", conn):
                if row["private_pem"].startswith(_CLEAR):
                    sealed = seal(unseal(row["private_pem"], self.secret), self.secret)
                    self.store.update_where("signing_keys", {"private_pem": sealed}, conn, kid=row["kid"])
        if not self.store.find_all("signing_keys"):
            self.rotate()
        self.reload()

    def rotate(self) -> str:
        """A new signing key; the one it replaces is accepted for ``retired_window`` more seconds.
        Keys retired longer ago than that are deleted."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = uuid.uuid4().hex  # signing keys are never seeded (docs/behaviour.md)
        now = clock.now()
        with self.store.tx() as conn:
            rows = self.store.find_all("signing_keys", conn)
            for row in rows:
                retired_at = _retired_at(row, rows)
                if retired_at is not None and retired_at + self.retired_window < now:
                    self.store.delete_where("signing_keys", conn, kid=row["kid"])
            self.store.update_where("signing_keys", {"active": False}, conn)
            self.store.insert(
                "signing_keys",
                {"kid": kid, "private_pem": seal(key, self.secret), "created_at": now, "active": True},
                conn,
            )
        self.reload()
        return kid

    def reload(self) -> None:
        rows = self.store.find_all("signing_keys")
        keys: dict[str, _Key] = {}
        for row in rows:
            private = self._opened.get(row["kid"])
            if private is None:
                private = unseal(row["private_pem"], self.secret)
            keys[row["kid"]] = _Key(
                row["kid"], private, private.public_key(), float(row["created_at"]), _retired_at(row, rows)
            )
        newest = max(keys.values(), key=lambda k: (k.created_at, k.kid), default=None)
        with self._lock:
            self._opened.update({k.kid: k.private for k in keys.values()})
            self._keys = keys
            self._newest = newest.kid if newest else None
            self._loaded_at = time.monotonic()

    def active(self) -> tuple[str, rsa.RSAPrivateKey]:
        """The signing key, as the store has it now (another replica may have rotated)."""
        self.reload()
        if self._newest is None:
            self.ensure()
        assert self._newest is not None
        return self._newest, self._keys[self._newest].private

    def public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        """The key to verify a token signed with ``kid``; None when unknown or retired too long ago."""
        if kid not in self._keys or time.monotonic() - self._loaded_at > _RELOAD_AFTER:
            self.reload()  # another replica may have rotated
        return self.accepted(kid)

    def accepted(self, kid: str) -> rsa.RSAPublicKey | None:
        """Like ``public_key`` from what this process last read (no store access: cheap enough
        for every request that presents an already verified token)."""
        key = self._keys.get(kid)
        if key is None or (key.retired_at is not None and clock.now() > key.retired_at + self.retired_window):
            return None
        return key.public

    def jwks(self) -> dict[str, Any]:
        self.reload()
        keys = []
        for kid in list(self._keys):
            public = self.accepted(kid)
            if public is None:
                continue
            numbers = public.public_numbers()
            keys.append(
                {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": _b64u(numbers.n), "e": _b64u(numbers.e)}
            )
        return {"keys": keys}


def _retired_at(row: dict[str, Any], rows: list[dict[str, Any]]) -> float | None:
    """When the next newer key was created (that replaced this one); None for the newest."""
    newer = [float(r["created_at"]) for r in rows if (r["created_at"], r["kid"]) > (row["created_at"], row["kid"])]
    return min(newer) if newer else None
