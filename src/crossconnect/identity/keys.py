"""JWT signing keys, kept in the store so that every replica signs and verifies alike.

Each key has a ``kid``; rotation adds a new active key and keeps the old ones published in
the JWKS (and accepted) so that tokens already issued stay valid until they expire.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossconnect.store import Store


def _b64u(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKeys:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._private: dict[str, rsa.RSAPrivateKey] = {}
        self._active_kid: str | None = None

    def ensure(self) -> None:
        """Create the first key if the store has none."""
        if not self.store.find("signing_keys", active=True):
            self.rotate()
        self.reload()

    def rotate(self) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        kid = uuid.uuid4().hex
        with self.store.tx() as conn:
            self.store.update_where("signing_keys", {"active": False}, conn)
            self.store.insert(
                "signing_keys", {"kid": kid, "private_pem": pem, "created_at": time.time(), "active": True}, conn
            )
        self.reload()
        return kid

    def reload(self) -> None:
        rows = self.store.find_all("signing_keys")
        with self._lock:
            for row in rows:
                if row["kid"] not in self._private:
                    loaded = serialization.load_pem_private_key(row["private_pem"].encode(), password=None)
                    assert isinstance(loaded, rsa.RSAPrivateKey)
                    self._private[row["kid"]] = loaded
            active = [r for r in rows if r["active"]]
            self._active_kid = active[-1]["kid"] if active else None

    def active(self) -> tuple[str, rsa.RSAPrivateKey]:
        if self._active_kid is None:
            self.ensure()
        assert self._active_kid is not None
        return self._active_kid, self._private[self._active_kid]

    def public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        if kid not in self._private:
            self.reload()  # another replica may have rotated
        key = self._private.get(kid)
        return key.public_key() if key else None

    def jwks(self) -> dict[str, Any]:
        self.reload()
        keys = []
        for kid, key in self._private.items():
            numbers = key.public_key().public_numbers()
            keys.append(
                {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": _b64u(numbers.n), "e": _b64u(numbers.e)}
            )
        return {"keys": keys}
