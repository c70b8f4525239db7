"""Initial passwords: hashed here as RFC 2307 {SSHA}, or sent as given for the server to hash."""

from __future__ import annotations

import base64
import hashlib
import secrets


def ssha(password: str) -> str:
    """``{SSHA}`` + base64(SHA-1(password + salt) + salt), with an 8-byte random salt: what OpenLDAP and 389 DS
    verify a simple bind against without any server-side hashing configured."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()  # noqa: S324 - {SSHA} is SHA-1 by definition
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def ssha_matches(hashed: str, password: str) -> bool:
    if not hashed.startswith("{SSHA}"):
        return False
    raw = base64.b64decode(hashed[6:])
    digest, salt = raw[:20], raw[20:]
    check = hashlib.sha1(password.encode("utf-8") + salt).digest()  # noqa: S324
    return secrets.compare_digest(digest, check)


def is_hashed(value: str) -> bool:
    """Already a ``{SCHEME}`` value: sent as is, never hashed twice."""
    return value.startswith("{") and "}" in value[:12]
