"""A local certificate authority and a server certificate, made once per data directory.

Clients trust the CA through ``connection_verify`` (SDK) or ``REQUESTS_CA_BUNDLE`` (CLI):
azure-identity, MSAL and the Azure CLI refuse plain-HTTP authorities.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crossconnect.app.data_dir import make_private, write_private


@dataclass(frozen=True)
class CertificatePaths:
    ca: Path
    certificate: Path
    key: Path


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for value in {"127.0.0.1", "::1", "localhost", host}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            names.append(x509.DNSName(value))
    return names


def ensure_certificates(data_dir: Path, host: str) -> CertificatePaths:
    """Create the CA and server certificate if missing; re-issue the server certificate (same
    CA) when ``host`` is not among its names, so clients keep trusting the same CA file."""
    make_private(data_dir)
    paths = CertificatePaths(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server-key.pem")
    ca_key_path = data_dir / "ca-key.pem"
    now = dt.datetime.now(dt.UTC)
    if not paths.ca.exists() or not ca_key_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crossconnect local CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_private(
            ca_key_path,
            ca_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        write_private(paths.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
        paths.certificate.unlink(missing_ok=True)
    if paths.certificate.exists() and paths.key.exists():
        current = x509.load_pem_x509_certificate(paths.certificate.read_bytes())
        san = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        wanted = set(_names(host))
        if wanted <= set(san) and current.not_valid_after_utc > now + dt.timedelta(days=7):
            return paths
    ca_key_loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key_loaded, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(paths.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key_loaded.public_key()), critical=False)
        .sign(ca_key_loaded, hashes.SHA256())
    )
    write_private(
        paths.key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    write_private(paths.certificate, cert.public_bytes(serialization.Encoding.PEM))
    return paths
