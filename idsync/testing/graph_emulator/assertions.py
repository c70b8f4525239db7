"""Certificate credentials: a client assertion (RFC 7523 JWT, ``client_assertion_type`` jwt-bearer) signed with the
private key of a certificate registered on the app ("Microsoft identity platform application authentication
certificate credentials").

The JWT header names the certificate by ``x5t#S256`` (SHA-256 thumbprint, with PS256) or ``x5t`` (SHA-1, with
RS256); the claims must have ``aud`` = the token endpoint, ``iss`` = ``sub`` = the client id, and a valid time
range. Refusals use the AADSTS codes Entra documents for them; ``cryptography`` verifies the signature.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 300.0


@dataclass(frozen=True)
class Certificate:
    """A certificate registered on an app: its thumbprints and its public key (PEM)."""

    sha1: str
    sha256: str
    public_pem: bytes


class AssertionRefused(Exception):
    """An assertion refused: (AADSTS code, description)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def load_certificate(pem: str | bytes) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    public = cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return Certificate(
        sha1=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - the x5t header is SHA-1 by definition
        sha256=cert.fingerprint(hashes.SHA256()).hex().upper(),
        public_pem=public,
    )


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _thumbprint(value: Any) -> str:
    return _segment(str(value)).hex().upper()


def verify(assertion: str, *, client_id: str, audience: str, certificates: list[Certificate], now: float) -> None:
    """Raise :class:`AssertionRefused` unless ``assertion`` is a valid client assertion for ``client_id``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    parts = assertion.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not a JWS")
        header = json.loads(_segment(parts[0]))
        claims = json.loads(_segment(parts[1]))
        signature = _segment(parts[2])
    except ValueError:
        raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
    if "x5t#S256" in header:
        wanted, attribute = _thumbprint(header["x5t#S256"]), "sha256"
    elif "x5t" in header:
        wanted, attribute = _thumbprint(header["x5t"]), "sha1"
    else:
        raise AssertionRefused(700027, "Client assertion contains an invalid signature: the key is not named.")
    found = next((c for c in certificates if getattr(c, attribute) == wanted), None)
    if found is None:
        raise AssertionRefused(
            700027,
            f"The certificate with identifier used to sign the client assertion is not registered on application. "
            f"[Reason - The key was not found., Thumbprint of key used by client: '{wanted}']",
        )
    key = serialization.load_pem_public_key(found.public_pem)
    algorithm = header.get("alg")
    if not isinstance(key, rsa.RSAPublicKey) or algorithm not in ("RS256", "PS256"):
        raise AssertionRefused(700027, f"Client assertion uses an unsupported algorithm {algorithm!r}.")
    scheme: padding.AsymmetricPadding = (
        padding.PKCS1v15()
        if algorithm == "RS256"
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    )
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), scheme, hashes.SHA256())
    except InvalidSignature:
        raise AssertionRefused(700027, "Client assertion failed signature validation.") from None
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused(700023, "The issuer and subject of the client assertion must be the client id.")
    if claims.get("aud") != audience:
        raise AssertionRefused(700021, f"Client assertion audience claim does not match the token endpoint {audience}.")
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if not isinstance(expires, int | float) or expires + CLOCK_SKEW < now:
        raise AssertionRefused(700024, "Client assertion is not within its valid time range.")
    if isinstance(not_before, int | float) and not_before - CLOCK_SKEW > now:
        raise AssertionRefused(700024, "Client assertion is not within its valid time range.")


def self_signed_certificate(common_name: str = "idsync", *, days: int = 30) -> tuple[str, str]:
    """A throwaway self-signed certificate and its private key (PEM, unencrypted), for tests and demos."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()
