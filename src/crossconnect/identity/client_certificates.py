"""Certificate credentials: an application proves its identity with a JWT client assertion
signed by the private key of a certificate registered on it (RFC 7523, as Azure AD does).

azure-identity's ``CertificateCredential`` (MSAL) sends ``client_assertion_type=
urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and ``client_assertion``: a JWT whose
header names the certificate by thumbprint (``x5t#S256`` with PS256, or ``x5t`` with RS256) and
whose claims are ``aud`` = the token endpoint, ``iss`` = ``sub`` = the client id, ``exp``, ``jti``.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossconnect import clock

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "PS256")
CLOCK_SKEW = 300  # seconds of leeway on exp/nbf, as Azure AD allows


class AssertionRejected(Exception):
    """The assertion cannot be accepted; ``code`` is the AADSTS number."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def load(value: str | bytes) -> x509.Certificate:
    """A certificate from PEM, from base64 DER (Graph's ``keyCredentials[].key``; the Azure CLI
    sends the PEM body without its armour lines), or from base64 of PEM."""
    raw = value.encode() if isinstance(value, str) else value
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificate(raw)
    try:
        decoded = base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key is neither PEM nor base64") from None
    if b"-----BEGIN" in decoded:
        return x509.load_pem_x509_certificate(decoded)
    return x509.load_der_x509_certificate(decoded)


def to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def sha1_thumbprint(cert: x509.Certificate) -> str:
    """The thumbprint Azure shows (hex, upper case)."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a certificate name, not security


def _thumbprint_bytes(value: object) -> bytes | None:
    """A header thumbprint (``x5t``: SHA-1, ``x5t#S256``: SHA-256 of the DER certificate) as bytes.
    RFC 7515 says base64url without padding, MSAL pads (``...=``): accept either."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def verify_assertion(
    assertion: str, client_id: str, credentials: Iterable[dict[str, Any]], audiences: set[str]
) -> dict[str, Any]:
    """Verify a client assertion against the application's certificate credentials (rows of
    ``client_credentials`` with kind ``certificate``); the claims, or ``AssertionRejected``."""
    import jwt  # loaded by the first token request that needs it, not at start-up (identity/tokens.py)

    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise AssertionRejected(50027, "JWT token is invalid or malformed.") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise AssertionRejected(
            5002738, f"Invalid JWT token. '{algorithm}' is not a supported signature algorithm (RS256, PS256)."
        )
    x5t, x5t256 = _thumbprint_bytes(header.get("x5t")), _thumbprint_bytes(header.get("x5t#S256"))
    now = clock.now()
    certificate = None
    for row in credentials:
        cert = load(row["certificate_pem"])
        sha1, sha256 = cert.fingerprint(hashes.SHA1()), cert.fingerprint(hashes.SHA256())  # noqa: S303
        named = (x5t256 is not None and x5t256 == sha256) or (x5t is not None and x5t == sha1)
        if named and row["start_at"] <= now <= row["end_at"]:
            certificate = cert
            break
    if certificate is None:
        shown = header.get("x5t#S256") or header.get("x5t") or "(none)"
        raise AssertionRejected(
            700027,
            "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key "
            f"used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to "
            f"see configured keys for app Id '{client_id}'.]",
        )
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise AssertionRejected(700027, "Client assertion contains an invalid signature. [Reason - not an RSA key.]")
    try:
        claims = jwt.decode(
            assertion,
            public_key,
            algorithms=[algorithm],
            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
            leeway=CLOCK_SKEW,
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
        raise AssertionRejected(
            700024, f"Client assertion is not within its valid time range. Current time: {_utc(now)}."
        ) from None
    except jwt.InvalidSignatureError:
        raise AssertionRejected(
            700027,
            "Client assertion contains an invalid signature. [Reason - The provided signature value did not match "
            "the expected signature value.]",
        ) from None
    except jwt.PyJWTError as exc:
        raise AssertionRejected(50027, f"JWT token is invalid or malformed: {exc}.") from None
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise AssertionRejected(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
    audience = claims["aud"]
    wanted = audience if isinstance(audience, list) else [audience]
    if not any(str(a).rstrip("/").lower() in audiences for a in wanted):
        raise AssertionRejected(700023, "Client assertion audience claim does not match Realm issuer.")
    return claims


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
