"""Connection strings for display: the password never leaves this module readable."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"

_QUERY_PASSWORD = re.compile(r"(?i)(^|&)(password=)[^&]*")
_KEYWORD_PASSWORD = re.compile(r"(?i)\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def mask_url(url: str) -> str:
    """The URL (or ``key=value`` connection string) with any password replaced by ``***``."""
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + MASK, url)
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{hosts}"
    query = _QUERY_PASSWORD.sub(lambda m: m.group(1) + m.group(2) + MASK, parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_secrets(url: str) -> list[str]:
    """Every spelling of the URL's password, longest first: what a message must not contain."""
    found: list[str] = []
    if "://" in url:
        parts = urlsplit(url)
        userinfo, at, _ = parts.netloc.rpartition("@")
        if at and ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
        found += [m.group(0).split("=", 1)[1] for m in _QUERY_PASSWORD.finditer(parts.query)]
    else:
        found += [m.group(2).strip("'") for m in _KEYWORD_PASSWORD.finditer(url)]
    spellings = {s for f in found if f for s in (f, unquote(f))}
    return sorted(spellings, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password masked wherever it appears (driver messages may echo parts of it)."""
    for secret in url_secrets(url):
        text = text.replace(secret, MASK)
    return text
