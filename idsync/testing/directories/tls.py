"""A throw-away certificate authority, so TLS verification is exercised for real instead of switched off.

Each server gets a CA and a server certificate made at start: the certificate names 127.0.0.1, ::1 and
localhost (and any extra host name), so a client that verifies both the chain and the host name succeeds,
and a client that trusts some other CA is refused.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idsync.testing.directories.process import write_secret

_KEY_SIZE = 2048


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(
    folder: Path,
    stem: str,
    subject: x509.Name,
    issuer: x509.Name,
    signer: rsa.RSAPrivateKey | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> tuple[Path, Path, rsa.RSAPrivateKey]:
    """Make a key, a certificate for it valid for 30 days (signed by ``signer``, or self-signed), write both. Every
    certificate names its key (Subject Key Identifier): Python 3.13 verifies strictly (X.509 v3 as RFC 5280 has it)
    and refuses a chain whose CA does not."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    for extension, critical in [*extensions, (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)]:
        builder = builder.add_extension(extension, critical=critical)
    cert = builder.sign(signer or key, hashes.SHA256())
    cert_file = folder / f"{stem}.pem"
    key_file = folder / f"{stem}-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_secret(key_file, _key_pem(key))
    return cert_file, key_file, key


@dataclass(frozen=True, slots=True)
class ServerCertificate:
    cert_file: Path
    key_file: Path
    ca_file: Path


@dataclass(frozen=True, slots=True)
class TestCA:
    """A CA certificate and key on disk; ``issue_server`` signs server certificates with it."""

    __test__ = False  # not a pytest test class

    cert_file: Path
    key_file: Path
    name: str

    @classmethod
    def create(cls, folder: Path, name: str = "idsync test CA") -> TestCA:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        cert_file, key_file, _ = _issue(
            folder,
            "ca",
            subject,
            subject,
            None,
            [(x509.BasicConstraints(ca=True, path_length=0), True), (usage, True)],
        )
        return cls(cert_file=cert_file, key_file=key_file, name=name)

    def issue_server(
        self, folder: Path, host_names: tuple[str, ...] = (), *, loopback: bool = True
    ) -> ServerCertificate:
        """A server certificate for loopback (IP and DNS names) plus ``host_names``; for ``host_names`` alone
        without ``loopback`` (a certificate a client on loopback must refuse)."""
        ca_key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(ca_key, rsa.RSAPrivateKey)
        ca_cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        names = ("localhost", *host_names) if loopback else host_names
        alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        if loopback:
            alt += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
        cert_file, key_file, _ = _issue(
            folder,
            "server",
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[-1])]),
            ca_cert.subject,
            ca_key,
            [
                (x509.SubjectAlternativeName(alt), False),
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
                (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
            ],
        )
        return ServerCertificate(cert_file=cert_file, key_file=key_file, ca_file=self.cert_file)
