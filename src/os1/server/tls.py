"""The server's own TLS certificate: self-signed, made on first run, kept in the home.

Phone browsers only allow the microphone on secure origins, so on the local network the
server speaks HTTPS. Nobody can vouch for a certificate on a home network, so the browser
warns once; the fingerprint printed by ``os1 serve`` lets the user check it is ours.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
VALID_FOR = timedelta(days=825)  # the longest validity browsers accept


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    fingerprint: str  # SHA-256, as browsers show it: "AB:CD:…"
    names: tuple[str, ...]  # host names and addresses it is valid for


def lan_address() -> str | None:
    """This computer's address on the local network (no packet is sent), or None."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # UDP connect only picks a route
        address = str(probe.getsockname()[0])
        if not address.startswith("127.") and address != "0.0.0.0":
            return address
    return None


def ensure_certificate(directory: Path, extra_names: tuple[str, ...] = ()) -> Certificate:
    """Load the certificate from ``directory``, making it first if it is missing, expiring
    or does not cover ``extra_names`` (the address the server is reached at). A new
    certificate keeps the key and every name the old one had, so moving between
    networks does not make a new one each time."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    key: ec.EllipticCurvePrivateKey | None = None
    names: tuple[str, ...] = ()
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except ValueError:
            cert = None  # damaged: make a new one
        else:
            key = loaded if isinstance(loaded, ec.EllipticCurvePrivateKey) else None
        if cert is not None:
            names = _names_of(cert)
            fresh = cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=7)
            if fresh and set(extra_names) <= set(names):
                return Certificate(cert_path, key_path, _fingerprint(cert), names)
    return _make(directory, (*names, *extra_names), key)


def _make(
    directory: Path, extra_names: tuple[str, ...], key: ec.EllipticCurvePrivateKey | None
) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    names = ["localhost", "127.0.0.1", *(n for n in extra_names if n)]
    host = socket.gethostname()
    if host and host not in names:
        names.append(host)
    names = list(dict.fromkeys(names))
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"OS1 on {host or 'this computer'}")]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_path = directory / KEY_FILE
    cert_path = directory / CERT_FILE
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key_path, key_bytes)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return Certificate(cert_path, key_path, _fingerprint(cert), tuple(names))


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only this user can read, whole or not at all."""
    temp = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _names_of(cert: object) -> tuple[str, ...]:
    from cryptography import x509

    assert isinstance(cert, x509.Certificate)
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = alt.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)


def _fingerprint(cert: object) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    assert isinstance(cert, x509.Certificate)
    digest = cert.fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)
