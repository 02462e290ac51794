"""The certificate the intercepting proxy shows for the public Azure host names, issued by the
data dir's local CA (``certificates.py``), so a client that trusts ``ca.pem`` trusts it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crossconnect.app.data_dir import write_private

CERTIFICATE = "proxy.pem"
KEY = "proxy-key.pem"


def ensure_host_certificate(data_dir: Path, hosts: list[str]) -> tuple[Path, Path]:
    """``proxy.pem`` / ``proxy-key.pem`` for ``hosts``; issued again when a name is missing, it
    expires within a week, or the CA changed."""
    certificate, key_path = data_dir / CERTIFICATE, data_dir / KEY
    ca_cert = x509.load_pem_x509_certificate((data_dir / "ca.pem").read_bytes())
    now = dt.datetime.now(dt.UTC)
    if certificate.exists() and key_path.exists():
        current = x509.load_pem_x509_certificate(certificate.read_bytes())
        names = set(
            current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.DNSName
            )
        )
        if (
            set(hosts) <= names
            and current.issuer == ca_cert.subject
            and current.not_valid_after_utc > now + dt.timedelta(days=7)
        ):
            return certificate, key_path
    ca_key = serialization.load_pem_private_key((data_dir / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(
        key_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    write_private(certificate, cert.public_bytes(serialization.Encoding.PEM))
    return certificate, key_path
